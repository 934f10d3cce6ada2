import Analytics
import Foundation
import Postgres
import Projector
import Window

/// `/api/analytics/NAME?OPTION=VALUE`: the figure `careerlog analytics NAME
/// --OPTION VALUE --format json` prints, read and rendered by the same
/// Analytics code: the same bytes, one JSON document `{"as_of":…,"rows":[…]}`.
public enum AnalyticsAPI {
    /// The figures served, by the name of their `careerlog analytics` subcommand.
    public static let names = ["placement", "time-to-placement", "uplift", "mentorship", "funnel", "velocity"]

    /// Answers one request; `url` is nil until the projector found PostgreSQL.
    public static func answer(_ request: WindowRequest, url: String?) -> WindowResponse {
        let name = String(request.path.dropFirst("/api/analytics/".count))
        let query: AnalyticsQuery
        do {
            query = try self.query(name: name, options: request.query.filter { $0.key != "token" })
        } catch {
            return .error(error.status, code: error.code, message: error.message)
        }
        guard let url else {
            return .error(503, code: "no_database", message: "the read models' database is not reachable yet; retry shortly", headers: [("Retry-After", "2")])
        }
        do {
            return .json(document(try AnalyticsReader(url: url).read(query)))
        } catch {
            let status = error.code == .noAnalytics ? 404 : 503
            return .error(status, code: error.code.description, message: error.description)
        }
    }

    /// `{"as_of":"…","rows":[{…},…]}`: exactly what `careerlog analytics
    /// NAME --format json` prints (the renderer's one document).
    public static func document(_ result: AnalyticsResult) -> String {
        AnalyticsRenderer.json(result)
    }

    /// A request the API cannot answer as asked.
    public struct RequestError: Error, Sendable {
        public var status: Int
        public var code: String
        public var message: String
    }

    /// The query for figure `name` with the subcommand's options.
    public static func query(name: String, options: [String: String]) throws(RequestError) -> AnalyticsQuery {
        let allowed: Set<String> = switch name {
        case "placement": ["by", "cohort", "program"]
        case "time-to-placement", "uplift": ["cohort", "program"]
        case "mentorship": ["program-wide", "per-currency", "program"]
        case "funnel": ["month"]
        case "velocity": ["subject", "cohort", "program", "month", "streaks"]
        default: throw RequestError(status: 404, code: "no_such_figure", message: "no figure \(name); the figures are \(names.joined(separator: ", "))")
        }
        if let unknown = options.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw RequestError(status: 400, code: "unknown_option",
                               message: "\(name) takes \(allowed.sorted().joined(separator: ", ")), not \(unknown)")
        }
        for key in ["cohort", "month"] {
            if let value = options[key], !AnalyticsQuery.isYearMonth(value) {
                throw RequestError(status: 400, code: "bad_option", message: "\(key) must be YYYY-MM")
            }
        }
        let flag = { (key: String) in options[key].map { $0 == "" || $0 == "true" || $0 == "1" } ?? false }
        switch name {
        case "placement":
            // As the command line: program alone means by program; by cohort with a program limits the cohorts to it.
            let by = options["by"].map { AnalyticsQuery.PlacementGrouping(rawValue: $0) }
                ?? .implied(cohort: options["cohort"], program: options["program"])
            guard let by else { throw RequestError(status: 400, code: "bad_option", message: "by must be cohort, program or industry") }
            if options["cohort"] != nil, by != .cohort { throw RequestError(status: 400, code: "bad_option", message: "cohort selects rows of by=cohort") }
            if options["program"] != nil, by == .industry {
                throw RequestError(status: 400, code: "bad_option", message: "program selects a row of by=program, or limits by=cohort to that program")
            }
            return .placement(by: by, cohort: options["cohort"], program: options["program"])
        case "time-to-placement": return .timeToPlacement(cohort: options["cohort"], program: options["program"])
        case "uplift": return .uplift(cohort: options["cohort"], program: options["program"])
        case "mentorship":
            // As the command line: --program limits the program-wide comparison, and nothing else.
            if options["program"] != nil, !flag("program-wide") {
                throw RequestError(status: 400, code: "bad_option", message: "program limits program-wide=true to that program's enrollees")
            }
            return .mentorship(flag("program-wide") ? .programWide : flag("per-currency") ? .perCurrency : .perMentor, program: options["program"])
        case "funnel": return .funnel(month: options["month"])
        default:
            let subjects = AnalyticsQuery.SubjectFilter(subject: options["subject"], cohort: options["cohort"], program: options["program"])
            return flag("streaks") ? .streaks(subjects) : .velocity(subjects, month: options["month"])
        }
    }
}

extension AnalyticsAPI {
    /// Every figure the dashboard shows, read from `schema` (`analytics`,
    /// or an as-of copy `PREFIX_analytics`), keyed by the page's dataset
    /// names: the data `careerlog report --html` inlines. A figure the page
    /// filters by program is also there once per program, keyed
    /// `NAME@PROGRAM` (`Dashboard.embeddedKey`), so the report's program
    /// filter works offline too.
    public static func reportData(url: String, schema: String) throws -> [String: String] {
        let reader = try AnalyticsReader(url: url)
        let programs = try reader.read(.placement(by: .program, value: nil), schema: schema).rows.compactMap { $0.first ?? nil }
        var data: [String: String] = [:]
        for dataset in Dashboard.datasets where dataset.path.hasPrefix("/api/analytics/") {
            let name = String(dataset.path.dropFirst("/api/analytics/".count))
            let variants: [String?] = dataset.programFilter ? [nil] + programs : [nil]
            for program in variants {
                var options = dataset.query
                options["program"] = program
                let query: AnalyticsQuery
                do {
                    query = try self.query(name: name, options: options)
                } catch {
                    throw AnalyticsError(.database, "the dashboard asks for \(name) with options the API rejects: \(error.message)")
                }
                data[Dashboard.embeddedKey(dataset.name, program: program)] = document(try reader.read(query, schema: schema))
            }
        }
        return data
    }
}

/// A `--program` that names no program of the schema.
public struct UnknownProgramError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

extension AnalyticsAPI {
    /// What `careerlog analytics` prints: `query` read from `schema`.
    /// `note` hears first, when the schema is being built, rebuilt or has
    /// stopped, that its figures may lag the log. With a `program` that
    /// matches no rows, checks that the name exists, so a typo is an
    /// `UnknownProgramError` listing the known programs, not an empty table.
    public static func read(_ query: AnalyticsQuery, schema: String, program: String?, url: String, note: (String) -> Void) throws -> AnalyticsResult {
        let connection = try PostgresConnection(url: url)
        let reader = try AnalyticsReader(connection: connection)
        let result = try reader.read(query, schema: schema)
        // Best effort: a database without the projector's bookkeeping has no state to tell.
        if let target = try? ProjectionStore.target(connection, schema: schema), target.state != .live {
            let detail = target.failedSeq.map { " at seq \($0)" } ?? ""
            note("note: schema \(schema) is \(target.state.rawValue)\(detail); its figures may lag the log (see `careerlog projections status`)")
        }
        guard let program, result.rows.isEmpty else { return result }
        let known = try reader.read(.placement(by: .program, value: nil), schema: schema).rows.compactMap { $0.first ?? nil }
        guard known.contains(program) else {
            let list = known.isEmpty ? "none yet (no enrollments applied)" : known.joined(separator: ", ")
            throw UnknownProgramError(description: "no program named \(program) in schema \(schema); known programs: \(list)")
        }
        return result
    }
}
