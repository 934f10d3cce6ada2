import ArgumentParser
import CareerEvents
import EventLog
import Foundation
import Ingest
import Replay
import StoredEventCodec

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Work with the event log directly: import, stats, verify, repair, dump.",
        subcommands: [ImportLog.self, LogStats.self, VerifyLog.self, RepairLog.self, CompactLog.self, DumpLog.self]
    )
}

/// Loads the event schemas: `--schemas`, else `$CAREERLOG_SCHEMA_DIR`, else
/// the `EventSchemas/` folder found beside the executable or the current
/// directory.
struct SchemaOptions: ParsableArguments {
    @Option(name: .customLong("schemas"), help: ArgumentHelp(
        "The EventSchemas directory (default: $CAREERLOG_SCHEMA_DIR, else found next to the program).", valueName: "dir"))
    var schemaDirectory: String?

    func registry() throws -> SchemaRegistry {
        guard let directory = schemaDirectory ?? SchemaRegistry.bundledDirectory() else {
            throw ValidationError("no EventSchemas directory found: pass --schemas DIR or set CAREERLOG_SCHEMA_DIR")
        }
        do {
            return try SchemaRegistry(directory: directory)
        } catch {
            throw ValidationError("cannot load event schemas: \(error)")
        }
    }
}

struct ImportLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Append NDJSON events from a file or stdin.",
        discussion: """
            Each line is one event envelope (EventSchemas/README.md), checked against its schema. \
            Prints one JSON summary line; each rejected line is reported on stderr with its \
            line number and reason. Exit status 1 if any line was rejected (accepted lines are kept). \
            An id already in the log (within the dedupe window) is a duplicate and is not appended again.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup var limits: LogLimitOptions
    @OptionGroup(title: "Privacy") var masterKey: MasterKeyOptions

    @OptionGroup var dedupe: DedupeWindowOption

    @Argument(help: ArgumentHelp("The NDJSON file to import, or - for stdin.", valueName: "file"))
    var file: String = "-"

    func validate() throws {
        try validateInputFile(file)
    }

    func run() throws {
        let registry = try schemas.registry()
        let fd = try openInputFile(file)
        defer { if fd != 0 { close(fd) } }
        let sealer = try masterKey.openForWriting(data: data, registry: registry, command: "log import")
        do {
            let summary = try Importer.importLines(
                fd: fd, logDirectory: data.logDirectory, logLimits: limits.logLimits,
                dedupeWindowEvents: dedupe.events, validate: { envelope throws(EventError) in try registry.validate(envelope) }, sealer: sealer,
                opened: { $0.lines.forEach(printError) }, reject: { line, error in printError("line \(line): \(error.code.rawValue): \(error)") })
            print(summary.json)
            if summary.rejected > 0 { throw ExitCode(1) }
        } catch let error as ImportInputError {
            printError("log import: reading \(file == "-" ? "stdin" : file) failed: \(error)")
            throw ExitCode(1)
        }
    }
}

struct LogStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Events, segments, sizes, compression and ranges of the log.")

    @OptionGroup var data: DataDirectoryOptions
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func run() throws {
        let statistics = try EventLog.open(directory: data.logDirectory, mode: .readOnly).statistics()
        print(json ? statistics.json : statistics.table, terminator: json ? "\n" : "")
    }
}

struct RepairLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Accept the loss of every event after a seq, knowingly.",
        discussion: """
            For a log that refuses to open because durable data is damaged or missing, \
            and no backup can restore it. Keeps seqs up to --truncate-after (it must end a good \
            frame; the error names the seq to use), moves everything after it aside \
            (*.broken-<offset>), records the decision in <log>/REPAIRS, and continues after the \
            highest seq ever durable, so no seq is assigned twice: projections see a gap. \
            Stop the server first. Safe to run again if interrupted.
            """)

    @OptionGroup var data: DataDirectoryOptions

    @Option(name: .customLong("truncate-after"), help: ArgumentHelp("The last seq to keep.", valueName: "seq"))
    var truncateAfter: UInt64

    func run() throws {
        do {
            let report = try EventLog.repair(directory: data.logDirectory, truncateAfter: truncateAfter, now: EventLog.systemClock())
            report.lines.forEach { print($0) }
        } catch {
            error.failureLines("repair").forEach(printError)
            throw ExitCode(1)
        }
    }
}

struct VerifyLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-read and check every frame of every segment.",
        discussion: "Applies the same rules as opening the log, without changing anything. Exit 0 with a one-line summary when the log would open (plus a line per recorded gap and per torn tail that the next open cuts); otherwise exit 1 with the first bad file and byte offset.")

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let start = ContinuousClock.now
        do {
            let summary = try EventLog.verify(directory: data.logDirectory)
            summary.lines(seconds: (ContinuousClock.now - start).seconds).forEach { print($0) }
        } catch {
            error.failureLines("verify").forEach(printError)
            throw ExitCode(1)
        }
    }
}

struct CompactLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Recompress sealed segments with LZ4 HC and a per-segment dictionary.",
        discussion: """
            Each sealed segment still in the fast form is rewritten beside itself, read back and \
            compared frame by frame with the original, then renamed over it; a crash at any point \
            leaves the old segment or the new one, both whole. `serve` does this in the background \
            by itself; this command is for a log no server is running on (it takes the log's lock).
            """)

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: ArgumentHelp("Recompress at most this many segments.", valueName: "n")) var segments: Int = .max

    func run() throws {
        do {
            let log = try EventLog.open(directory: data.logDirectory)
            let report = try log.recompressSealedSegments(limit: segments)
            try log.close()
            let ratio = report.bytesBefore > 0 ? Double(report.bytesAfter) / Double(report.bytesBefore) : 1
            print("compact: \(report.segments.count) segments recompressed, \(report.bytesBefore) -> \(report.bytesAfter) bytes (\(String(format: "%.3f", ratio))), \(report.remaining) left")
        } catch {
            error.failureLines("compact").forEach(printError)
            throw ExitCode(1)
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

struct DumpLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print events as NDJSON with seq and recorded added (and producer, for events written by an authenticated producer).",
        discussion: "An operator's tool: PII is shown in clear where the subject's key exists, so it needs the master key; --redact-pii prints what an analyst's replay shows instead.")

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: ArgumentHelp("Start at this seq.", valueName: "seq")) var fromSeq: UInt64 = 1
    @Option(help: ArgumentHelp("Print at most this many events.", valueName: "count")) var limit: UInt64?
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup(title: "Privacy") var pii: DumpPIIOptions

    func run() throws {
        do {
            try EventLog.open(directory: data.logDirectory, mode: .readOnly).dump(
                fromSeq: fromSeq, limit: limit, opener: try pii.opener(data: data, registry: try schemas.registry(), command: "log dump"), to: OutputBuffer())
        } catch is OutputBuffer.OutputClosed {
            return
        }
    }
}
