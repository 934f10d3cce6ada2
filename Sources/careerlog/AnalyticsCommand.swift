import ArgumentParser
import Foundation
import Postgres

/// `careerlog analytics ...`: prints the figures of EVENT_CATALOG.md
/// "Analytics definitions" from the `analytics` projection's views
/// (Projections/analytics). Thin: each subcommand picks a view, its columns
/// and a filter; the SQL owns every definition, so the numbers printed are
/// the numbers in the database.
struct AnalyticsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract: "Print the analytics: placement rates, time to placement, salary uplift, mentorship ROI, application funnel, learning velocity.",
        discussion: """
            The figures are views over the `analytics` projection, which the projector keeps current \
            (`careerlog serve` or `careerlog project`): they include every event applied so far, as of \
            the newest event time among them. Rates are fractions in [0, 1] (empty/null when the \
            denominator is 0); calendar months and days are UTC.

            Formats: table (aligned for a terminal, rounded, with an "as of" line), json (one object per \
            line, full precision, null for no value), csv (RFC 4180: a header row, CRLF, full precision, \
            empty for no value).

            Examples:
              careerlog analytics placement
              careerlog analytics placement --by program --format csv
              careerlog analytics time-to-placement --cohort 2025-03
              careerlog analytics mentorship --program-wide
              careerlog analytics velocity --streaks --format json
              careerlog analytics funnel --schema june_analytics
            """,
        subcommands: [AnalyticsPlacement.self, AnalyticsTimeToPlacement.self, AnalyticsUplift.self,
                      AnalyticsMentorship.self, AnalyticsFunnel.self, AnalyticsVelocity.self])
}

enum AnalyticsFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// Where and how to print: shared by every subcommand.
struct AnalyticsOutputOptions: ParsableArguments {
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "table (aligned, for a terminal), json (one object per line) or csv (RFC 4180 with a header row).")
    var format: AnalyticsFormat = .table
    @Option(help: ArgumentHelp(
        "The schema to read: analytics (live), or PREFIX_analytics built by `careerlog replay --into PREFIX --as-of TIME`.",
        valueName: "name"))
    var schema = "analytics"

    func validate() throws {
        guard !schema.isEmpty, schema.count <= 63 else { throw ValidationError("--schema must be 1 to 63 characters") }
    }

    /// Runs `query` against the schema and prints its rows.
    func show(_ query: AnalyticsQuery) throws {
        let connection = try PostgresConnection(url: try database.connectionURL(data: data))
        // One short read: JIT compilation would cost more than it saves, and
        // the "as of" line is printed in UTC like every bucket.
        try connection.execute("SET jit = off; SET TimeZone = 'UTC'")
        let schemaName = quotedIdentifier(schema)
        guard try connection.query("SELECT to_regclass($1)", [schemaName + ".as_of_utc"]).first?[0] != nil else {
            throw AnalyticsError(description: """
                no analytics in schema "\(schema)": the projector creates it (run `careerlog serve` or `careerlog project`); \
                an as-of copy is PREFIX_analytics (`careerlog projections status` lists them)
                """)
        }
        warnIfNotLive(connection)
        let asOf = try connection.query("SELECT as_of::text FROM \(schemaName).as_of_utc").first?[0]
        let rows = try connection.query(query.sql.replacingOccurrences(of: "{{schema}}", with: schemaName), query.parameters)
        let output = OutputBuffer()
        do {
            switch format {
            case .table: try AnalyticsPrinter.table(query, rows: rows, asOf: asOf, schema: schema, to: output)
            case .json: try AnalyticsPrinter.json(query, rows: rows, to: output)
            case .csv: try AnalyticsPrinter.csv(query, rows: rows, to: output)
            }
            try output.flush()
        } catch {
            return  // the output closed (| head): stop quietly
        }
    }

    /// A note on stderr when the schema is being built, rebuilt or stopped.
    private func warnIfNotLive(_ connection: PostgresConnection) {
        guard let state = try? connection.query(
            "SELECT state, failed_seq::text FROM careerlog.projection_targets WHERE schema_name = $1", [schema]).first,
            let name = state[0], name != "live" else { return }
        let detail = state[1].map { " at seq \($0)" } ?? ""
        printError("note: schema \(schema) is \(name)\(detail); its figures may lag the log (see `careerlog projections status`)")
    }
}

/// --cohort and --program, for the figures they apply to.
struct AnalyticsFilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only this cohort.", valueName: "YYYY-MM"))
    var cohort: String?
    @Option(help: ArgumentHelp("Only this program.", valueName: "name"))
    var program: String?

    func validate() throws {
        if let cohort {
            let parts = cohort.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && Int($0) != nil }),
                  let month = Int(parts[1]), (1...12).contains(month) else {
                throw ValidationError("--cohort must be YYYY-MM, got \(cohort)")
            }
        }
    }

    /// Rejects --program for a figure defined per cohort only.
    func rejectProgram(_ figure: String) throws {
        if program != nil {
            throw ValidationError("\(figure) is defined per cohort; --program applies to `analytics placement` and `analytics velocity`")
        }
    }

    func rejectAll(_ figure: String) throws {
        if cohort != nil || program != nil {
            throw ValidationError("\(figure) is not grouped by cohort or program; --cohort and --program apply to placement, time-to-placement, uplift and velocity")
        }
    }
}

// MARK: - Subcommands

struct AnalyticsPlacement: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "placement",
        abstract: "Placement rate per cohort, program or target industry: enrolled, placed within 12 months, rate, open or closed.",
        discussion: """
            An enrollee's window is closed once 365 days have passed since the enrollment; a group is open \
            while any of its enrollees' windows is. The rate counts every enrollee, windows still open included. \
            --cohort implies --by cohort, --program implies --by program.
            """)

    enum Grouping: String, ExpressibleByArgument, CaseIterable { case cohort, program, industry }

    @OptionGroup var filter: AnalyticsFilterOptions
    @Option(help: "Group by cohort, program or industry (the target industry).")
    var by: Grouping?
    @OptionGroup var output: AnalyticsOutputOptions

    var grouping: Grouping { by ?? (filter.program != nil ? .program : .cohort) }

    func validate() throws {
        if filter.cohort != nil, grouping != .cohort { throw ValidationError("--cohort selects rows of --by cohort") }
        if filter.program != nil, grouping != .program { throw ValidationError("--program selects rows of --by program") }
    }

    func run() throws {
        let (view, key, value): (String, String, String?) = switch grouping {
        case .cohort: ("placement_rate_by_cohort", "cohort", filter.cohort)
        case .program: ("placement_rate_by_program", "program", filter.program)
        case .industry: ("placement_rate_by_industry", "target_industry", nil)
        }
        try output.show(AnalyticsQuery(
            title: "Placement rate per \(grouping == .industry ? "target industry" : grouping.rawValue)",
            view: view, columns: [.text(key), .count("enrolled"), .count("placed_within_12_months"), .rate("placement_rate"), .text("window_state")],
            filters: value.map { [(key, $0)] } ?? [], orderBy: key))
    }
}

struct AnalyticsTimeToPlacement: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "time-to-placement",
        abstract: "Days from enrollment to placement per cohort (placements at any delay): median and p90.")

    @OptionGroup var filter: AnalyticsFilterOptions
    @OptionGroup var output: AnalyticsOutputOptions

    func validate() throws { try filter.rejectProgram("time to placement") }

    func run() throws {
        try output.show(AnalyticsQuery(
            title: "Time to placement per cohort, days", view: "time_to_placement",
            columns: [.text("cohort"), .count("placed"), .decimal("median_days", places: 1), .decimal("p90_days", places: 1)],
            filters: filter.cohort.map { [("cohort", $0)] } ?? [], orderBy: "cohort"))
    }
}

struct AnalyticsUplift: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uplift",
        abstract: "Mean salary uplift per cohort: (placement - baseline) / baseline, over placements in the baseline's currency with a baseline > 0.")

    @OptionGroup var filter: AnalyticsFilterOptions
    @OptionGroup var output: AnalyticsOutputOptions

    func validate() throws { try filter.rejectProgram("salary uplift") }

    func run() throws {
        try output.show(AnalyticsQuery(
            title: "Salary uplift per cohort", view: "salary_uplift",
            columns: [.text("cohort"), .count("uplift_count"), .rate("mean_uplift")],
            filters: filter.cohort.map { [("cohort", $0)] } ?? [], orderBy: "cohort"))
    }
}

struct AnalyticsMentorship: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mentorship",
        abstract: "Mentorship ROI per mentor; or, with --program-wide, mentored vs not mentored placement rates.",
        discussion: """
            Per mentor: mentees (whatever the timing), sessions, hours, average rating, mentees placed within \
            12 months and the rate, mean uplift, total salary gain and gain per mentoring hour by currency \
            (objects keyed by currency; --per-currency prints them as rows instead).
            """)

    @OptionGroup var filter: AnalyticsFilterOptions
    @Flag(help: "Print the program-wide placement rates of mentored and not mentored enrollees and their difference in percentage points.")
    var programWide = false
    @Flag(help: "Print the gains as one row per mentor and currency.")
    var perCurrency = false
    @OptionGroup var output: AnalyticsOutputOptions

    func validate() throws {
        try filter.rejectAll("mentorship")
        if programWide && perCurrency { throw ValidationError("--program-wide and --per-currency print different tables: choose one") }
    }

    func run() throws {
        if programWide {
            try output.show(AnalyticsQuery(
                title: "Mentored vs not mentored enrollees, program-wide", view: "mentorship_effect",
                columns: [.count("mentored_enrolled"), .count("mentored_placed"), .rate("mentored_rate"),
                          .count("not_mentored_enrolled"), .count("not_mentored_placed"), .rate("not_mentored_rate"),
                          .decimal("difference_pp", places: 2)],
                filters: [], orderBy: nil))
        } else if perCurrency {
            try output.show(AnalyticsQuery(
                title: "Mentees' salary gains per mentor and currency", view: "mentorship_roi_by_currency",
                columns: [.text("mentor_id"), .text("currency"), .count("mentees_with_uplift"), .decimal("total_gain", places: 2),
                          .decimal("gain_per_hour", places: 2)],
                filters: [], orderBy: "mentor_id, currency"))
        } else {
            try output.show(AnalyticsQuery(
                title: "Mentorship ROI per mentor", view: "mentorship_roi",
                columns: [.text("mentor_id"), .count("mentees"), .count("sessions"), .decimal("hours", places: 2),
                          .decimal("average_rating", places: 2), .count("placed_within_12_months"), .rate("placement_rate"),
                          .count("uplift_count"), .rate("mean_uplift"), .json("total_gain"), .json("gain_per_hour")],
                filters: [], orderBy: "mentor_id"))
        }
    }
}

struct AnalyticsFunnel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "funnel",
        abstract: "Application funnel per UTC month of the first send: sent, interview, offer, placed and the conversion rates.",
        discussion: """
            A stage counts once per application, reached in any order; an offer does not imply an \
            interview, so offer/interview and placed/offer are ratios of the counts and can exceed 1.
            """)

    @OptionGroup var filter: AnalyticsFilterOptions
    @Option(help: ArgumentHelp("Only this month.", valueName: "YYYY-MM"))
    var month: String?
    @OptionGroup var output: AnalyticsOutputOptions

    func validate() throws { try filter.rejectAll("the funnel") }

    func run() throws {
        try output.show(AnalyticsQuery(
            title: "Application funnel per month of the first send", view: "application_funnel",
            columns: [.text("month"), .count("sent"), .count("interview"), .count("offer"), .count("placed"),
                      .rate("interview_per_sent"), .rate("offer_per_interview"), .rate("placed_per_offer"), .rate("placed_per_sent")],
            filters: month.map { [("month", $0)] } ?? [], orderBy: "month"))
    }
}

struct AnalyticsVelocity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "velocity",
        abstract: "Learning velocity per subject and UTC month (hours, activities and tasks completed); or, with --streaks, current streaks.",
        discussion: """
            --cohort and --program keep the subjects enrolled (first enrollment) in that cohort or program. \
            A streak is the number of consecutive UTC days with hours > 0 ending on the day of as-of.
            """)

    @OptionGroup var filter: AnalyticsFilterOptions
    @Option(help: ArgumentHelp("Only this subject.", valueName: "uuid"))
    var subject: String?
    @Option(help: ArgumentHelp("Only this month (not with --streaks).", valueName: "YYYY-MM"))
    var month: String?
    @Flag(help: "Print each subject's current learning streak instead.")
    var streaks = false
    @OptionGroup var output: AnalyticsOutputOptions

    func validate() throws {
        if let subject, UUID(uuidString: subject) == nil { throw ValidationError("--subject must be a UUID, got \(subject)") }
        if streaks, month != nil { throw ValidationError("--month goes with the velocity table, not --streaks") }
    }

    func run() throws {
        var filters: [(String, String)] = []
        if let subject { filters.append(("subject", subject.lowercased())) }
        if let month { filters.append(("month", month)) }
        if let cohort = filter.cohort { filters.append(("subject IN (SELECT subject FROM {{schema}}.enrollees WHERE cohort = $)", cohort)) }
        if let program = filter.program { filters.append(("subject IN (SELECT subject FROM {{schema}}.enrollees WHERE program = $)", program)) }
        if streaks {
            filters.removeAll { $0.0 == "month" }
            try output.show(AnalyticsQuery(
                title: "Current learning streaks, days", view: "learning_streaks",
                columns: [.text("subject"), .text("as_of_day"), .count("streak_days")],
                filters: filters, orderBy: "streak_days DESC, subject"))
        } else {
            try output.show(AnalyticsQuery(
                title: "Learning velocity per subject and month", view: "learning_velocity",
                columns: [.text("subject"), .text("month"), .decimal("hours", places: 2), .count("activities_completed"), .count("tasks_completed")],
                filters: filters, orderBy: "subject, month"))
        }
    }
}

// MARK: - Query and printing

/// One figure: a view of the analytics schema, the columns to print (and how
/// to round them in a table), equality filters and an order.
struct AnalyticsQuery {
    enum Column {
        case text(String)
        case count(String)
        /// A fraction; four decimals in a table.
        case rate(String)
        case decimal(String, places: Int)
        /// A jsonb object of numbers keyed by currency.
        case json(String)

        var name: String {
            switch self {
            case .text(let n), .count(let n), .rate(let n), .decimal(let n, _), .json(let n): n
            }
        }
    }

    var title: String
    var sql: String
    var parameters: [String?]
    var columns: [Column]

    /// `filters` are (column, value) pairs compared with `=` (the value as
    /// text), or (condition, value) where `$` marks the value's place.
    init(title: String, view: String, columns: [Column], filters: [(String, String)], orderBy: String?) {
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

enum AnalyticsPrinter {
    /// A title and "as of" line, the header, then the rows: numbers rounded
    /// and right-aligned, no value as "-".
    static func table(_ query: AnalyticsQuery, rows: PostgresRows, asOf: String?, schema: String, to out: OutputBuffer) throws(OutputBuffer.OutputClosed) {
        let source = schema == "analytics" ? "" : ", schema \(schema)"
        try out.write("\(query.title), as of \(asOf ?? "- (no events applied yet)")\(source)\n\n")
        var cells = [query.columns.map(\.name)]
        for row in rows {
            cells.append(zip(query.columns, row.values).map { column, value in tableCell(column, value) })
        }
        let widths = query.columns.indices.map { i in cells.map { $0[i].count }.max() ?? 0 }
        for line in cells {
            let padded = query.columns.indices.map { i -> String in
                let pad = String(repeating: " ", count: widths[i] - line[i].count)
                switch query.columns[i] {
                case .text, .json: return line[i] + pad
                case .count, .rate, .decimal: return pad + line[i]
                }
            }
            var text = padded.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            try out.write(text + "\n")
        }
        if rows.isEmpty { try out.write("(no rows)\n") }
    }

    static func tableCell(_ column: AnalyticsQuery.Column, _ value: String?) -> String {
        guard let value else { return "-" }
        switch column {
        case .text, .count: return value
        case .rate: return Double(value).map { String(format: "%.4f", $0) } ?? value
        case .decimal(_, let places): return Double(value).map { String(format: "%.\(places)f", $0) } ?? value
        case .json:
            guard let data = value.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return value }
            if object.isEmpty { return "-" }
            return object.keys.sorted().map { key in
                let number = (object[key] as? NSNumber)?.doubleValue
                return "\(key) " + (number.map { String(format: "%.2f", $0) } ?? "-")
            }.joined(separator: ", ")
        }
    }

    /// One JSON object per row: numbers as PostgreSQL wrote them (full
    /// precision), objects as objects, no value as null.
    static func json(_ query: AnalyticsQuery, rows: PostgresRows, to out: OutputBuffer) throws(OutputBuffer.OutputClosed) {
        for row in rows {
            let members = zip(query.columns, row.values).map { column, value -> String in
                let rendered: String
                switch (column, value) {
                case (_, nil): rendered = "null"
                case (.text, let text?): rendered = jsonString(text)
                case (.count, let n?), (.rate, let n?), (.decimal, let n?), (.json, let n?): rendered = n
                }
                return jsonString(column.name) + ":" + rendered
            }
            try out.write("{" + members.joined(separator: ",") + "}\n")
        }
    }

    /// RFC 4180: a header row, then the rows; CRLF; a field quoted when it
    /// holds a comma, a double quote, CR or LF; no value as an empty field.
    static func csv(_ query: AnalyticsQuery, rows: PostgresRows, to out: OutputBuffer) throws(OutputBuffer.OutputClosed) {
        try out.write(query.columns.map { csvField($0.name) }.joined(separator: ",") + "\r\n")
        for row in rows {
            try out.write(row.values.map { $0.map(csvField) ?? "" }.joined(separator: ",") + "\r\n")
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// A problem with the world, not with the command line (no usage printed).
struct AnalyticsError: Error, CustomStringConvertible {
    var description: String
}

/// A SQL identifier in double quotes, inner quotes doubled.
private func quotedIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
