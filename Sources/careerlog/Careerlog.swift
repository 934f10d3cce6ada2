import ArgumentParser

@main
struct Careerlog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "careerlog",
        abstract: "An event-sourced backend for career platforms: an append-only log of career events and the read models built from it.",
        subcommands: [LogCommand.self, ServeCommand.self, EmitCommand.self, ProjectCommand.self, ProjectionsCommand.self, DbCommand.self, GenerateCommand.self, ReplayCommand.self, AnalyticsCommand.self, ReportCommand.self, StatusCommand.self, ProducersCommand.self]
    )
}
