/// One figure of EventSchemas/README.md "Analytics definitions": a view of an
/// analytics schema, the columns to print (and how to round them in a
/// table), equality filters and an order. The SQL views own every
/// definition; a query only selects from one.
public struct AnalyticsQuery: Sendable, Equatable {
    public enum Column: Sendable, Equatable {
        case text(String)
        case count(String)
        /// A fraction; four decimals in a table.
        case rate(String)
        case decimal(String, places: Int)
        /// A jsonb object of numbers keyed by currency.
        case json(String)

        public var name: String {
            switch self {
            case .text(let n), .count(let n), .rate(let n), .decimal(let n, _), .json(let n): n
            }
        }
    }

    public var title: String
    /// The SELECT, with `{{schema}}` where the quoted schema name goes.
    public var sql: String
    public var parameters: [String?]
    public var columns: [Column]

    /// `filters` are (column, value) pairs compared with `=` (the value as
    /// text), or (condition, value) where `$` marks the value's place.
    public init(title: String, view: String, columns: [Column], filters: [(String, String)], orderBy: String?) {
        self.title = title
        self.columns = columns
        var conditions: [String] = []
        parameters = []
        for (column, value) in filters {
            parameters.append(value)
            let placeholder = "$\(parameters.count)"
            conditions.append(column.contains("$") ? column.replacingOccurrences(of: "$", with: placeholder) : "\(column)::text = \(placeholder)")
        }
        sql = "SELECT " + columns.map { "\($0.name)::text" }.joined(separator: ", ") + " FROM {{schema}}.\(view)"
            + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + (orderBy.map { " ORDER BY \($0)" } ?? "")
    }
}

// MARK: - The figures

extension AnalyticsQuery {
    public enum PlacementGrouping: String, Sendable, CaseIterable {
        case cohort, program, industry

        /// The grouping when none is asked for (the command line's and the
        /// API's rule): a program alone means by program, else by cohort.
        public static func implied(cohort: String?, program: String?) -> PlacementGrouping {
            program != nil && cohort == nil ? .program : .cohort
        }
    }

    /// Placement as the command line and the API ask for it: `cohort`
    /// selects a row of by cohort; `program` selects the row of by program,
    /// or limits by cohort to that program's enrollees (ignored by industry).
    public static func placement(by grouping: PlacementGrouping, cohort: String?, program: String?) -> AnalyticsQuery {
        .placement(by: grouping, value: grouping == .cohort ? cohort : grouping == .program ? program : nil,
                   program: grouping == .cohort ? program : nil)
    }

    /// Placement rate per cohort, program or target industry. `value`
    /// selects one group (a cohort or a program; not an industry).
    /// `program` limits the per-cohort rates to one program's enrollees.
    public static func placement(by grouping: PlacementGrouping, value: String?, program: String? = nil) -> AnalyticsQuery {
        let (view, key): (String, String) = switch grouping {
        case .cohort: (program == nil ? "placement_rate_by_cohort" : "placement_rate_by_program_cohort", "cohort")
        case .program: ("placement_rate_by_program", "program")
        case .industry: ("placement_rate_by_industry", "target_industry")
        }
        return AnalyticsQuery(
            title: "Placement rate per \(grouping == .industry ? "target industry" : grouping.rawValue)" + Self.inProgram(grouping == .cohort ? program : nil),
            view: view, columns: [.text(key), .count("enrolled"), .count("placed_within_12_months"), .rate("placement_rate"), .text("window_state")],
            filters: Self.cohortFilters(grouping == .cohort ? program : nil, key: key, value: value), orderBy: key)
    }

    /// Days from enrollment to placement per cohort: median and p90;
    /// `program` limits them to one program's enrollees.
    public static func timeToPlacement(cohort: String?, program: String? = nil) -> AnalyticsQuery {
        AnalyticsQuery(
            title: "Time to placement per cohort, days" + inProgram(program),
            view: program == nil ? "time_to_placement" : "time_to_placement_by_program",
            columns: [.text("cohort"), .count("placed"), .decimal("median_days", places: 1), .decimal("p90_days", places: 1)],
            filters: cohortFilters(program, key: "cohort", value: cohort), orderBy: "cohort")
    }

    /// Mean salary uplift per cohort; `program` limits it to one program's
    /// enrollees.
    public static func uplift(cohort: String?, program: String? = nil) -> AnalyticsQuery {
        AnalyticsQuery(
            title: "Salary uplift per cohort" + inProgram(program),
            view: program == nil ? "salary_uplift" : "salary_uplift_by_program",
            columns: [.text("cohort"), .count("uplift_count"), .rate("mean_uplift")],
            filters: cohortFilters(program, key: "cohort", value: cohort), orderBy: "cohort")
    }

    /// The filters of a per-cohort figure: the program (in the by-program
    /// views), then the group.
    private static func cohortFilters(_ program: String?, key: String, value: String?) -> [(String, String)] {
        (program.map { [("program", $0)] } ?? []) + (value.map { [(key, $0)] } ?? [])
    }

    private static func inProgram(_ program: String?) -> String {
        program.map { ", program \($0)" } ?? ""
    }

    public enum MentorshipTable: Sendable, CaseIterable {
        /// One row per mentor, gains as objects keyed by currency.
        case perMentor
        /// One row per mentor and currency.
        case perCurrency
        /// Mentored vs not mentored placement rates.
        case programWide
    }

    /// Mentorship ROI (per mentor or per currency), or the mentored vs
    /// not mentored comparison; `program` limits the comparison to one
    /// program's enrollees (the per-mentor tables take none).
    public static func mentorship(_ table: MentorshipTable, program: String? = nil) -> AnalyticsQuery {
        switch table {
        case .programWide:
            AnalyticsQuery(
                title: program.map { "Mentored vs not mentored enrollees of program \($0)" } ?? "Mentored vs not mentored enrollees, program-wide",
                view: program == nil ? "mentorship_effect" : "mentorship_effect_by_program",
                columns: [.count("mentored_enrolled"), .count("mentored_placed"), .rate("mentored_rate"),
                          .count("not_mentored_enrolled"), .count("not_mentored_placed"), .rate("not_mentored_rate"),
                          .decimal("difference_pp", places: 2)],
                filters: program.map { [("program", $0)] } ?? [], orderBy: nil)
        case .perCurrency:
            AnalyticsQuery(
                title: "Mentees' salary gains per mentor and currency", view: "mentorship_roi_by_currency",
                columns: [.text("mentor_id"), .text("currency"), .count("mentees_with_uplift"), .decimal("total_gain", places: 2),
                          .decimal("gain_per_hour", places: 2)],
                filters: [], orderBy: "mentor_id, currency")
        case .perMentor:
            AnalyticsQuery(
                title: "Mentorship ROI per mentor", view: "mentorship_roi",
                columns: [.text("mentor_id"), .count("mentees"), .count("sessions"), .decimal("hours", places: 2),
                          .decimal("average_rating", places: 2), .count("placed_within_12_months"), .rate("placement_rate"),
                          .count("uplift_count"), .rate("mean_uplift"), .json("total_gain"), .json("gain_per_hour")],
                filters: [], orderBy: "mentor_id")
        }
    }

    /// The application funnel per UTC month of the first send.
    public static func funnel(month: String?) -> AnalyticsQuery {
        AnalyticsQuery(
            title: "Application funnel per month of the first send", view: "application_funnel",
            columns: [.text("month"), .count("sent"), .count("interview"), .count("offer"), .count("placed"),
                      .rate("interview_per_sent"), .rate("offer_per_interview"), .rate("placed_per_offer"), .rate("placed_per_sent")],
            filters: month.map { [("month", $0)] } ?? [], orderBy: "month")
    }

    /// Which subjects a velocity or streak figure keeps.
    public struct SubjectFilter: Sendable, Equatable {
        /// A subject UUID (any case).
        public var subject: String?
        /// Subjects first enrolled in this cohort (YYYY-MM) or program.
        public var cohort: String?
        public var program: String?

        public init(subject: String? = nil, cohort: String? = nil, program: String? = nil) {
            self.subject = subject
            self.cohort = cohort
            self.program = program
        }

        var filters: [(String, String)] {
            var filters: [(String, String)] = []
            if let subject { filters.append(("subject", subject.lowercased())) }
            if let cohort { filters.append(("subject IN (SELECT subject FROM {{schema}}.enrollees WHERE cohort = $)", cohort)) }
            if let program { filters.append(("subject IN (SELECT subject FROM {{schema}}.enrollees WHERE program = $)", program)) }
            return filters
        }
    }

    /// Learning velocity per subject and UTC month.
    public static func velocity(_ subjects: SubjectFilter, month: String?) -> AnalyticsQuery {
        var filters = subjects.filters
        if let month { filters.insert(("month", month), at: subjects.subject == nil ? 0 : 1) }
        return AnalyticsQuery(
            title: "Learning velocity per subject and month", view: "learning_velocity",
            columns: [.text("subject"), .text("month"), .decimal("hours", places: 2), .count("activities_completed"), .count("tasks_completed")],
            filters: filters, orderBy: "subject, month")
    }

    /// Each subject's current learning streak.
    public static func streaks(_ subjects: SubjectFilter) -> AnalyticsQuery {
        AnalyticsQuery(
            title: "Current learning streaks, days", view: "learning_streaks",
            columns: [.text("subject"), .text("as_of_day"), .count("streak_days")],
            filters: subjects.filters, orderBy: "streak_days DESC, subject")
    }
}

extension AnalyticsQuery {
    /// A calendar month `YYYY-MM` (ASCII digits, month 01 to 12): the one
    /// check of every month-valued filter, on the command line and over HTTP.
    public static func isYearMonth(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let month = Int(parts[1]) else { return false }
        return (1...12).contains(month)
    }
}
