import ArgumentParser
import Foundation
import Runtime
import Window

/// `careerlog report --html FILE`: the dashboard as one self-contained file.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the dashboard as one self-contained HTML file (figures and Chart.js inlined), for e-mailing or archiving.",
        discussion: """
            The file loads nothing from anywhere: it opens offline. To report as of a past moment, build an as-of \
            copy first (`careerlog replay --into q3 --as-of 2024-09-30T23:59:59Z`) and pass --schema q3_analytics.

            Example:
              careerlog report --html report.html
            """)

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("The file to write.", valueName: "file"))
    var html: String
    @Option(help: ArgumentHelp("The analytics schema to read: analytics (live) or PREFIX_analytics (an as-of copy).", valueName: "name"))
    var schema = "analytics"

    func run() throws {
        let url = try database.connectionURL(data: data)
        let figures: [String: String]
        do {
            figures = try AnalyticsAPI.reportData(url: url, schema: schema)
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
