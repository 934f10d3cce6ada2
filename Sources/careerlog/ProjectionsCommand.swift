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
        for definition in try projections.catalog().definitions {
            print("\(definition.name)  version \(definition.version)  fingerprint \(definition.fingerprint)")
        }
    }
}

struct ProjectionsStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Each projection's version, checkpoint, log head, lag (events, seconds), events/s and state.",
        discussion: "States: live, rebuilding (a shadow being built), stale (its SQL or version changed: rebuild it), failed (with the seq and reason), building (an as-of build), missing (not created yet).")
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var projections: ProjectionOptions
    @Flag(help: "One JSON object per line instead of a table.") var json = false

    func run() throws {
        let log = try EventLog.open(directory: data.logDirectory, mode: .readOnly)
        let rows = try ProjectionStatusReport.rows(url: try database.connectionURL(data: data), log: log, catalog: try projections.catalog())
        if json {
            for row in rows { print(statusJSON(row)) }
            return
        }
        let header = ["projection", "schema", "role", "version", "checkpoint", "head", "lag", "lag_s", "events/s", "state"]
        var table = [header]
        for row in rows {
            var state = row.state
            if let seq = row.failedSeq { state += " at seq \(seq): \(row.failedReason ?? "")" }
            table.append([row.projection, row.schema, row.role, String(row.version), String(row.checkpoint), String(row.head),
                          String(row.lagEvents), row.lagSeconds.map { String(format: "%.1f", $0) } ?? "-",
                          row.eventsPerSecond.map { String(format: "%.0f", $0) } ?? "-", state])
        }
        printTable(table)
    }

    private func statusJSON(_ row: ProjectionStatusRow) -> String {
        let s = JSONString.quotedOrNull
        func n<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "null" }
        return "{\"projection\":\(s(row.projection)),\"schema\":\(s(row.schema)),\"role\":\(s(row.role)),\"version\":\(row.version),"
            + "\"checkpoint\":\(row.checkpoint),\"head\":\(row.head),\"lag_events\":\(row.lagEvents),\"lag_seconds\":\(n(row.lagSeconds)),"
            + "\"events_per_second\":\(n(row.eventsPerSecond)),\"state\":\(s(row.state)),\"failed_seq\":\(n(row.failedSeq)),\"failed_reason\":\(s(row.failedReason))}"
    }
}

/// Left-aligned columns, two spaces apart.
func printTable(_ rows: [[String]]) {
    guard let first = rows.first else { return }
    let widths = (0..<first.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
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
    @Argument(help: "The projection to rebuild.") var name: String?

    func validate() throws {
        guard all != (name != nil) else { throw ValidationError("give a projection name or --all, not both") }
    }

    func run() throws {
        let catalog = try projections.catalog()
        let log = try EventLog.open(directory: data.logDirectory, mode: .readOnly)
        let builder = ProjectionBuilder(url: try database.connectionURL(data: data), log: log, catalog: catalog, logger: Logger(label: "careerlog.rebuild"))
        let names = all ? catalog.definitions.map(\.name) : [name!]
        let terminal = isTerminal(2)
        let start = ContinuousClock.now
        try builder.rebuild(names) { p in
            guard terminal else { return }
            let eta = p.etaSeconds.map { String(format: "%.0f s", $0) } ?? "-"
            FileHandle.standardError.write(Data("\r\(p.checkpoint)/\(p.head) events, \(Int(p.eventsPerSecond)) events/s, ETA \(eta)   ".utf8))
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        print("rebuilt \(names.joined(separator: ", ")) in \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s")
    }
}

struct DropProjectionSchema: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drop", abstract: "Drop an as-of schema (or an abandoned rebuild).")
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The schema to drop.") var schema: String

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
    @Option(help: "Events per batch.") var batchEvents: Int = 20_000

    func run() throws {
        let logger = Logger(label: "careerlog.projector")
        let log = try EventLog.open(directory: data.logDirectory, mode: .readOnly)
        var options = Projector.Options()
        options.batchEventsMax = batchEvents
        let projector = Projector(url: try database.connectionURL(data: data), log: log, catalog: try projections.catalog(), logger: logger, options: options)
        let stop = StopSignal()
        stop.trap([SIGINT, SIGTERM])
        logger.info("projector started", metadata: ["log.last_seq": "\(log.lastSeq)"])
        projector.run(shouldStop: { stop.isRequested })
        logger.info("projector stopped")
    }
}
