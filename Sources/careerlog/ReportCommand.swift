import ArgumentParser
import Foundation
import Logging
import Replay
import Runtime
import Window

/// `careerlog report --html FILE [--as-of T]`: the dashboard as one
/// self-contained file, live or as of a past moment.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the dashboard as one self-contained HTML file (figures and Chart.js inlined), for e-mailing or archiving.",
        discussion: """
            The file loads nothing from anywhere: it opens offline. With --as-of, the read models are built as of that \
            moment into temporary schemas (as `careerlog replay --into --as-of` does), read, and dropped again; the live \
            read models are not touched. --schema reads an as-of copy you built yourself.

            Examples:
              careerlog report --html report.html
              careerlog report --html q3.html --as-of 2024-09-30
            """)

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var projections: ProjectionOptions
    @Option(help: ArgumentHelp("The file to write.", valueName: "file"))
    var html: String
    @Option(help: ArgumentHelp("The analytics schema to read: analytics (live) or PREFIX_analytics (an as-of copy).", valueName: "name"))
    var schema = "analytics"
    @Option(help: ArgumentHelp("Report as of this moment: events whose time is at or before it (RFC 3339, or YYYY-MM-DD for the end of that UTC day).", valueName: "time"))
    var asOf: String?

    func validate() throws {
        guard let asOf else { return }
        if schema != "analytics" { throw ValidationError("--as-of builds its own schema; it takes no --schema") }
        _ = try checkingOption { try AsOfRequest(prefix: "report", asOf: asOf, asOfSeq: nil) }
    }

    func run() throws {
        let url = try database.connectionURL(data: data)
        let figures: [String: String]
        do {
            figures = try asOf.map {
                try AsOfBuild.reportData(asOf: $0, url: url, logDirectory: data.logDirectory, catalog: try projections.catalog(),
                                         logger: Logger(label: "careerlog.report"))
            } ?? AnalyticsAPI.reportData(url: url, schema: schema)
        } catch {
            printError("report: \(error)")
            throw ExitCode(1)
        }
        let page = Dashboard.report(data: figures, chartLibrary: try Dashboard.chartLibrary(),
                                    generatedAt: ISO8601DateFormatter().string(from: Date()))
        do {
            try page.write(toFile: html, atomically: true, encoding: .utf8)
        } catch {
            printError("report: cannot write \(html): \(error.localizedDescription)")
            throw ExitCode(1)
        }
        print("wrote \(html) (\(page.utf8.count) bytes)")
    }
}
