import ArgumentParser
import CareerEvents
import EventLog
import Foundation
import Logging
import Projector
import Replay
import Runtime
import StoredEventCodec

/// `careerlog replay`: the history, filtered, as NDJSON, CSV or counts.
/// Thin: options become a `ReplayFilter`; the `Replay` library plans, reads
/// and formats.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay the event history, filtered, as NDJSON, CSV, or counts.",
        discussion: """
            Filters combine (an event must pass all of them; repeated --type, --subject, --source and --producer \
            values are alternatives). Seq ranges are inclusive; time ranges include their start and exclude their end, \
            so --since 2024-01-01 --until 2024-02-01 is exactly January. A time is RFC 3339 \
            (2024-03-01T09:30:00+01:00) or a date (2024-03-01 = that day's start, UTC). --since/--until test the \
            event's `time`; --recorded-since/--recorded-until test when the log stored it. Events written \
            through `serve --producers` carry "producer":"NAME" (the authenticated producer); --producer NAME \
            keeps only those.

            CSV: a header row, then one row per event (RFC 4180, CRLF, UTF-8): the envelope columns, then \
            the type's data fields from its schema as data.<field> columns (nested objects flattened with dots, \
            arrays as JSON). To stdout it holds one type; --out DIR writes DIR/<type>.csv per type.

            Reads the log read-only, so it is safe while `careerlog serve` appends; only complete frames are \
            read. Stops quietly when its output pipe closes (| head).

            Examples:
              careerlog replay --type 'application.*' --since 2024-01-01 --until 2024-07-01
              careerlog replay --format csv --type placement.recorded > placements.csv
              careerlog replay --format csv --out exports/ --since 2024-06-01
              careerlog replay --stats --by day --json
              careerlog replay --follow --subject 9a2e5c1e-0b7a-4a51-9a8f-1c2d3e4f5a6b
              careerlog replay --producer careerforge-api --since 2024-06-01
            """)

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var filter: ReplayFilterOptions
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup(title: "Privacy") var pii: PIIOptions

    @Option(help: "ndjson (each event as stored, with seq and recorded) or csv (the data fields as columns).")
    var format: ReplayFormat = .ndjson
    @Option(help: ArgumentHelp("With --format csv: write one file per type, DIR/<type>.csv (replacing existing ones).", valueName: "dir"))
    var out: String?
    @Flag(help: "Print counts by type and by period of event time instead of the events.")
    var stats = false
    @Option(help: ArgumentHelp("With --stats: count by UTC day or month of event time (default: month).", valueName: "day|month"))
    var by: ReplayStats.Period?
    @Flag(help: "With --stats: print one JSON object instead of a table.")
    var json = false
    @Flag(help: "Keep running and print new events as they are appended, until interrupted or the output closes.")
    var follow = false
    @Flag(help: "Print the read plan (start, frames skipped, stop) on stderr, and at the end how much was read.")
    var explain = false

    @OptionGroup var asOf: AsOfOptions

    func validate() throws {
        if asOf.into != nil {
            guard !stats, !follow, out == nil, format == .ndjson else {
                throw ValidationError("--into builds read models; it takes no --stats, --follow, --out or --format")
            }
            return
        }
        if out != nil, format != .csv { throw ValidationError("--out writes CSV files: add --format csv") }
        if stats, format != .ndjson || out != nil { throw ValidationError("--stats prints counts; it takes no --format or --out") }
        if stats, follow { throw ValidationError("--stats counts what is in the log now; it cannot --follow") }
        if !stats, json || by != nil { throw ValidationError("--json and --by go with --stats") }
        if format == .csv, out == nil, try filter.replayFilter().singleType(knownTypes: schemas.dataColumns().types) == nil {
            throw ValidationError("CSV to stdout holds one type: give exactly one --type naming one type (a glob matching several needs --out DIR)")
        }
    }

    func run() throws {
        if asOf.into != nil {
            try asOf.build(data: data, pii: try pii.masterKey.readModelOpener(data: data, registry: try schemas.registry(), command: "replay --into"))
            return
        }
        let replayFilter = try filter.replayFilter()
        let log: EventLog
        do {
            log = try EventLog.open(directory: data.logDirectory, mode: .readOnly)
        } catch {
            printError("replay: cannot open the log: \(error)")
            throw ExitCode(1)
        }
        // A progress line only where a person watches stderr, and not on
        // top of events printed to the same terminal.
        do {
            try ReplaySession.replay(log: log, filter: replayFilter, follow: follow, progressOnTerminal: isTerminal(2) && !isTerminal(1),
                                     explain: explain ? { printError($0) } : nil, output: { try output(replayFilter) },
                                     opener: { try pii.opener(data: data, registry: try schemas.registry(), command: "replay") }, to: OutputBuffer())
        } catch let error as ReplayError {
            printError("replay: \(error.message)")
            throw ExitCode(1)
        } catch let error as LogError {
            printError("replay: \(error)")
            throw ExitCode(1)
        }
    }

    /// What to print, as the options say.
    private func output(_ replayFilter: ReplayFilter) throws -> ReplayOutput {
        if stats { return .stats(by ?? .month, json: json) }
        guard format == .csv else { return .ndjson }
        let columns = try schemas.dataColumns()
        if let out {
            // Types named exactly get a file even when nothing matches.
            return .csvDirectory(out, columns: columns, named: replayFilter.types.filter { !$0.isGlob }.map(\.pattern))
        }
        guard let type = replayFilter.singleType(knownTypes: columns.types) else { preconditionFailure("checked by validate()") }
        return .csv(type: type, columns: columns)
    }
}

/// The filter options, shared shape with `ReplayFilter`.
struct ReplayFilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Start at this seq (inclusive).", valueName: "seq")) var fromSeq: UInt64?
    @Option(help: ArgumentHelp("End at this seq (inclusive).", valueName: "seq")) var toSeq: UInt64?
    @Option(help: ArgumentHelp("Events whose time is at or after this (RFC 3339 or YYYY-MM-DD).", valueName: "time"))
    var since: String?
    @Option(help: ArgumentHelp("Events whose time is before this (exclusive; RFC 3339 or YYYY-MM-DD).", valueName: "time"))
    var until: String?
    @Option(help: ArgumentHelp("Events recorded by the log at or after this.", valueName: "time"))
    var recordedSince: String?
    @Option(help: ArgumentHelp("Events recorded by the log before this (exclusive).", valueName: "time"))
    var recordedUntil: String?
    @Option(name: .customLong("type"), help: ArgumentHelp("An event type or glob (application.*); repeatable.", valueName: "type"))
    var types: [String] = []
    @Option(name: .customLong("subject"), help: ArgumentHelp("A subject UUID; repeatable.", valueName: "uuid"))
    var subjects: [String] = []
    @Option(name: .customLong("source"), help: ArgumentHelp("An emitting service (exact); repeatable.", valueName: "source"))
    var sources: [String] = []
    @Option(name: .customLong("producer"), help: ArgumentHelp(
        "Events written by this authenticated producer (serve --producers); repeatable. Events without a producer never match.",
        valueName: "name"))
    var producers: [String] = []

    func validate() throws {
        _ = try replayFilter()
    }

    func replayFilter() throws -> ReplayFilter {
        do {
            return try ReplayFilter(
                fromSeq: fromSeq, toSeq: toSeq, since: since, until: until, recordedSince: recordedSince,
                recordedUntil: recordedUntil, types: types, subjects: subjects, sources: sources, producers: producers)
        } catch {
            throw ValidationError(error.message)
        }
    }
}

extension SchemaOptions {
    /// The CSV columns of every type, from the same schema folder `import` uses.
    func dataColumns() throws -> DataColumns {
        guard let directory = schemaDirectory ?? SchemaRegistry.bundledDirectory() else {
            throw ValidationError("CSV columns come from the event schemas, and no EventSchemas directory was found: pass --schemas DIR or set CAREERLOG_SCHEMA_DIR")
        }
        do {
            return try DataColumns.load(directory: directory)
        } catch {
            throw ValidationError(error.message)
        }
    }
}

enum ReplayFormat: String, ExpressibleByArgument, CaseIterable {
    case ndjson, csv
}

extension ReplayStats.Period: ExpressibleByArgument {}

/// `replay --as-of TIME --into PREFIX`: every read model and the analytics
/// as they stood at a past moment, built into schemas `<PREFIX>_<projection>`
/// beside the live ones.
struct AsOfOptions: ParsableArguments {
    @Option(help: ArgumentHelp("With --into: include events whose time is at or before this (RFC 3339, or YYYY-MM-DD for the end of that UTC day).", valueName: "time"))
    var asOf: String?
    @Option(help: ArgumentHelp("With --into: include events up to this seq.", valueName: "seq"))
    var asOfSeq: UInt64?
    @Option(help: ArgumentHelp("Build the read models as of --as-of/--as-of-seq into schemas PREFIX_<projection> (listed by `projections status`, removed by `projections drop`).", valueName: "prefix"))
    var into: String?
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var projections: ProjectionOptions

    func validate() throws {
        guard let into else {
            if asOf != nil || asOfSeq != nil { throw ValidationError("--as-of and --as-of-seq go with --into PREFIX") }
            return
        }
        _ = try request(into: into)
    }

    /// The checked request (`Replay.AsOfRequest`); option errors as usage errors.
    func request(into: String) throws -> AsOfRequest {
        do {
            return try AsOfRequest(prefix: into, asOf: asOf, asOfSeq: asOfSeq)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func build(data: DataDirectoryOptions, pii: RecordOpener) throws {
        let log = try EventLog.open(directory: data.logDirectory, mode: .readOnly)
        let url = try database.connectionURL(data: data), catalog = try projections.catalog()
        let start = ContinuousClock.now
        let progress = BuildProgressLine(.asOf, enabled: isTerminal(2))
        let schemas = try AsOfBuild.run(try request(into: into!), url: url, log: log, catalog: catalog,
                                        logger: Logger(label: "careerlog.replay"), pii: pii, progress: progress.update)
        progress.finish()
        print("built \(schemas.joined(separator: ", ")) in \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s")
    }
}
