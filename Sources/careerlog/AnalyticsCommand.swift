import Analytics
import ArgumentParser
import Foundation
import Replay
import Runtime

/// `careerlog analytics ...`: prints the figures of EventSchemas/README.md
/// "Analytics definitions" from the `analytics` projection's views
/// (Projections/analytics). Thin: each subcommand picks a view, its columns
/// and a filter; the SQL owns every definition, so the numbers printed are
/// the numbers in the database. The `Analytics` library reads and renders;
/// the HTTP dashboard shares it.
struct AnalyticsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract: "Print the analytics: placement rates, time to placement, salary uplift, mentorship ROI, application funnel, learning velocity.",
        discussion: """
            The figures are views over the `analytics` projection, which the projector keeps current \
            (`careerlog serve` or `careerlog project`): they include every event applied so far, as of \
            the newest event time among them. Rates are fractions in [0, 1] (empty/null when the \
            denominator is 0); calendar months and days are UTC.

            Formats: table (aligned for a terminal, rounded, with an "as of" line), json (one document \
            {"as_of": TIME, "rows": [...]}, numbers at full precision without trailing zeros, null for no \
            value), csv (RFC 4180: a header row, CRLF, full precision, empty for no value, and an as_of \
            column).

            Examples (on the history of `careerlog generate`, which starts 2024-01-01):
              careerlog analytics placement
              careerlog analytics placement --by program --format csv
              careerlog analytics time-to-placement --cohort 2024-03
              careerlog analytics placement --by cohort --program "Data Analytics Accelerator"
              careerlog analytics funnel --month 2024-06
              careerlog analytics mentorship --program-wide
              careerlog analytics velocity --streaks --format json
              careerlog replay --as-of 2024-06-30 --into june && careerlog analytics funnel --schema june_analytics
            """,
        subcommands: [AnalyticsPlacement.self, AnalyticsTimeToPlacement.self, AnalyticsUplift.self,
                      AnalyticsMentorship.self, AnalyticsFunnel.self, AnalyticsVelocity.self])
}

extension AnalyticsFormat: ExpressibleByArgument {}
extension AnalyticsQuery.PlacementGrouping: ExpressibleByArgument {}

/// Where and how to print: shared by every subcommand.
struct AnalyticsOutputOptions: ParsableArguments {
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("table (aligned, for a terminal), json (one document: as_of and rows) or csv (RFC 4180 with a header row).", valueName: "table|json|csv"))
    var format: AnalyticsFormat = .table
    @Option(help: ArgumentHelp(
        "The schema to read: analytics (live), or PREFIX_analytics built by `careerlog replay --into PREFIX --as-of TIME`.",
        valueName: "name"))
    var schema = "analytics"

    func validate() throws {
        guard !schema.isEmpty, schema.count <= 63 else { throw ValidationError("--schema must be 1 to 63 characters") }
    }

    /// Reads `query` from the schema and prints it; `program` is the
    /// --program given, checked to exist when no row matches.
    func show(_ query: AnalyticsQuery, program: String? = nil) throws {
        let result: AnalyticsResult
        do {
            result = try AnalyticsAPI.read(query, schema: schema, program: program, url: try database.connectionURL(data: data), note: printError)
        } catch let error as UnknownProgramError {
            printError("Error: \(error)")
            throw ExitCode(1)
        }
        let output = OutputBuffer()
        do {
            try output.write(AnalyticsRenderer.render(result, as: format))
            try output.flush()
        } catch {
            return  // the output closed (| head): stop quietly
        }
    }
}

/// A calendar month YYYY-MM (01 to 12), or a ValidationError naming `option`.
func validateMonth(_ value: String?, option: String) throws {
    guard let value, !AnalyticsQuery.isYearMonth(value) else { return }
    throw ValidationError("\(option) must be a month YYYY-MM (01 to 12), got \(value)")
}

/// --cohort, for the figures grouped by cohort.
struct CohortOption: ParsableArguments {
    @Option(help: ArgumentHelp("Only this cohort (the month of enrollment).", valueName: "YYYY-MM"))
    var cohort: String?

    func validate() throws { try validateMonth(cohort, option: "--cohort") }
}

/// --program, for the figures that can be limited to one program.
struct ProgramOption: ParsableArguments {
    @Option(help: ArgumentHelp("Only this program's enrollees (an unknown name is an error listing the known ones).", valueName: "name"))
    var program: String?
}

// MARK: - Subcommands

struct AnalyticsPlacement: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "placement",
        abstract: "Placement rate per cohort, program or target industry: enrolled, placed within 12 months, rate, open or closed.",
        discussion: """
            An enrollee's window is closed once 365 days have passed since the enrollment; a group is open \
            while any of its enrollees' windows is. The rate counts every enrollee, windows still open included. \
            --cohort implies --by cohort, --program alone implies --by program; --by cohort --program NAME \
            gives the per-cohort rates of that program's enrollees.
            """)

    @OptionGroup var cohort: CohortOption
    @OptionGroup var program: ProgramOption
    @Option(help: ArgumentHelp("Group by cohort, program or industry (the target industry).", valueName: "cohort|program|industry"))
    var by: AnalyticsQuery.PlacementGrouping?
    @OptionGroup var output: AnalyticsOutputOptions

    var grouping: AnalyticsQuery.PlacementGrouping { by ?? .implied(cohort: cohort.cohort, program: program.program) }

    func validate() throws {
        if cohort.cohort != nil, grouping != .cohort { throw ValidationError("--cohort selects rows of --by cohort") }
        if program.program != nil, grouping == .industry {
            throw ValidationError("--program selects a row of --by program, or limits --by cohort to that program; not --by industry")
        }
    }

    func run() throws {
        try output.show(.placement(by: grouping, cohort: cohort.cohort, program: program.program), program: program.program)
    }
}

struct AnalyticsTimeToPlacement: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "time-to-placement",
        abstract: "Days from enrollment to placement per cohort (placements at any delay): median and p90.")

    @OptionGroup var cohort: CohortOption
    @OptionGroup var program: ProgramOption
    @OptionGroup var output: AnalyticsOutputOptions

    func run() throws {
        try output.show(.timeToPlacement(cohort: cohort.cohort, program: program.program), program: program.program)
    }
}

struct AnalyticsUplift: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uplift",
        abstract: "Mean salary uplift per cohort: (placement - baseline) / baseline, over placements in the baseline's currency with a baseline > 0.")

    @OptionGroup var cohort: CohortOption
    @OptionGroup var program: ProgramOption
    @OptionGroup var output: AnalyticsOutputOptions

    func run() throws {
        try output.show(.uplift(cohort: cohort.cohort, program: program.program), program: program.program)
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

    @Flag(help: "Print the program-wide placement rates of mentored and not mentored enrollees and their difference in percentage points.")
    var programWide = false
    @Flag(help: "Print the gains as one row per mentor and currency.")
    var perCurrency = false
    @OptionGroup var program: ProgramOption
    @OptionGroup var output: AnalyticsOutputOptions

    func validate() throws {
        if programWide && perCurrency { throw ValidationError("--program-wide and --per-currency print different tables: choose one") }
        if program.program != nil, !programWide { throw ValidationError("--program limits --program-wide to that program's enrollees; give both") }
    }

    func run() throws {
        try output.show(.mentorship(programWide ? .programWide : perCurrency ? .perCurrency : .perMentor, program: program.program),
                        program: program.program)
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

    @Option(help: ArgumentHelp("Only this month (of the first send).", valueName: "YYYY-MM"))
    var month: String?
    @OptionGroup var output: AnalyticsOutputOptions

    func validate() throws { try validateMonth(month, option: "--month") }

    func run() throws {
        try output.show(.funnel(month: month))
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

    @OptionGroup var cohort: CohortOption
    @OptionGroup var program: ProgramOption
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
        try validateMonth(month, option: "--month")
    }

    func run() throws {
        let subjects = AnalyticsQuery.SubjectFilter(subject: subject, cohort: cohort.cohort, program: program.program)
        try output.show(streaks ? .streaks(subjects) : .velocity(subjects, month: month), program: program.program)
    }
}
