import ArgumentParser
import Runtime

/// careerlog's version: the one place it is written (`careerlog --version`).
let careerlogVersion = "0.1.0"

@main
struct Careerlog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "careerlog",
        abstract: "An event-sourced backend for career platforms: an append-only log of career events and the read models built from it.",
        version: careerlogVersion,
        subcommands: [LogCommand.self, ServeCommand.self, EmitCommand.self, ProjectCommand.self, ProjectionsCommand.self, DbCommand.self, GenerateCommand.self, ReplayCommand.self, AnalyticsCommand.self, ReportCommand.self, StatusCommand.self, ProducersCommand.self, PrivacyCommand.self]
    )

    /// Parses and runs the command like ArgumentParser's own `main`, then,
    /// however it ended, stops the private PostgreSQL it started (see
    /// `EmbeddedClusterLease`).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            EmbeddedClusterLease.shared.release(report: { printError("note: \($0)") })
            exit(withError: error)
        }
        EmbeddedClusterLease.shared.release(report: { printError("note: \($0)") })
    }
}
