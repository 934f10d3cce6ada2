import ArgumentParser
import EventLog
import Foundation
import Logging
import Projector
import Runtime
import StoredEventCodec

/// Finds the projection definitions: `--projections`, else
/// `$CAREERLOG_PROJECTIONS_DIR`, else `Projections/` next to the program or
/// the current directory.
struct ProjectionOptions: ParsableArguments {
    @Option(name: .customLong("projections"), help: ArgumentHelp(
        "The Projections directory (default: $CAREERLOG_PROJECTIONS_DIR, else found next to the program).", valueName: "dir"))
    var directory: String?

    func catalog() throws -> ProjectionCatalog {
        guard let directory = directory ?? ProjectionCatalog.bundledDirectory() else {
            throw ValidationError("no Projections directory found: pass --projections DIR or set CAREERLOG_PROJECTIONS_DIR")
        }
        return try ProjectionCatalog(directory: directory)
    }
}

struct ProjectionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "Read models: list, status, rebuild without downtime, drop as-of schemas.",
        subcommands: [ListProjections.self, ProjectionsStatus.self, RebuildProjections.self, DropProjectionSchema.self])
}

struct ListProjections: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The projections this program defines.")
    @OptionGroup var projections: ProjectionOptions

    func run() throws {
        print(ProjectionStatusReport.definitionsTable(try projections.catalog()), terminator: "")
    }
}

struct ProjectionsStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Each projection's version, checkpoint, log head, lag (events, seconds), events/s and state.",
        discussion: "States: live, rebuilding (a shadow being built), stale (its SQL or version changed: rebuild it), failed (with the seq and reason), building (an as-of build in progress), as-of (a finished as-of build: frozen at its moment), missing (not created yet). events/s is the latest batch's rate, 0 once a projection has been idle for 10 s.")
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var projections: ProjectionOptions
    @Flag(help: "One JSON object per line instead of a table.") var json = false

    func run() throws {
        let log = try EventLog.open(directory: data.logDirectory, mode: .readOnly)
        let rows = try ProjectionStatusReport.rows(url: try database.connectionURL(data: data), log: log, catalog: try projections.catalog())
        print(json ? rows.map { $0.json + "\n" }.joined() : ProjectionStatusReport.table(rows), terminator: "")
    }
}

struct RebuildProjections: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Build a projection anew beside the live one and swap it in atomically.",
        discussion: "Readers keep seeing the old tables until the swap and the new ones right after. Ingest and the other projections keep running.")
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var projections: ProjectionOptions
    @Flag(help: "Rebuild every projection.") var all = false
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup(title: "Privacy") var masterKey: MasterKeyOptions
    @Argument(help: ArgumentHelp("The projection to rebuild (`careerlog projections list` names them).", valueName: "name")) var name: String?

    func validate() throws {
        if all && name != nil { throw ValidationError("give a projection name or --all, not both") }
        if !all && name == nil {
            throw ValidationError("name the projection to rebuild (`careerlog projections list` shows them), or give --all to rebuild every one")
        }
    }

    func run() throws {
        let catalog = try projections.catalog()
        let log = try EventLog.open(directory: data.logDirectory, mode: .readOnly)
        var options = ProjectionBuilder.Options()
        options.pii = try masterKey.readModelOpener(data: data, registry: try schemas.registry(), command: "projections rebuild")
        let builder = ProjectionBuilder(url: try database.connectionURL(data: data), log: log, catalog: catalog, logger: Logger(label: "careerlog.rebuild"),
                                        options: options)
        let names = all ? catalog.definitions.map(\.name) : [name!]
        let start = ContinuousClock.now
        let progress = BuildProgressLine(.rebuild, enabled: isTerminal(2))
        try builder.rebuild(names, progress: progress.update)
        progress.finish()
        print("rebuilt \(names.joined(separator: ", ")) in \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s")
    }
}

struct DropProjectionSchema: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drop", abstract: "Drop an as-of schema (or an abandoned rebuild).")
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("The schema to drop.", valueName: "schema")) var schema: String

    func run() throws {
        try ProjectionBuilder.drop(url: try database.connectionURL(data: data), schema: schema)
        print("dropped \(schema)")
    }
}

/// Runs the projector alone (without the ingest server), tailing the log
/// from another process if one appends.
struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project", abstract: "Run the projector alone: keep the read models current until stopped (SIGINT/SIGTERM).")
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var projections: ProjectionOptions
    @Option(help: ArgumentHelp("Events per batch.", valueName: "count")) var batchEvents: Int = 20_000
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup(title: "Privacy") var masterKey: MasterKeyOptions

    func run() throws {
        var options = Projector.Options()
        options.batchEventsMax = batchEvents
        options.pii = try masterKey.readModelOpener(data: data, registry: try schemas.registry(), command: "project")
        try StandaloneProjector.run(logDirectory: data.logDirectory, url: { try database.connectionURL(data: data) }, catalog: { try projections.catalog() },
                                    options: options, logger: Logger(label: "careerlog.projector"))
    }
}
