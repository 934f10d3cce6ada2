import ArgumentParser
import CareerEvents
import EventLog
import Foundation
import Ingest
import StoredEventCodec

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Work with the event log directly: import, stats, verify, repair, dump.",
        subcommands: [ImportLog.self, LogStats.self, VerifyLog.self, RepairLog.self, DumpLog.self]
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

    @Option(help: ArgumentHelp("How many of the newest events' ids are remembered to detect duplicates.", valueName: "events"))
    var dedupeWindow: Int = 10_000_000

    @Argument(help: ArgumentHelp("The NDJSON file to import, or - for stdin.", valueName: "file"))
    var file: String = "-"

    func validate() throws {
        guard dedupeWindow >= 1 else { throw ValidationError("--dedupe-window must be at least 1") }
        try validateInputFile(file)
    }

    func run() throws {
        let registry = try schemas.registry()
        let fd: Int32 = file == "-" ? 0 : open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("cannot open \(file): \(String(cString: strerror(errno)))") }
        defer { if fd != 0 { close(fd) } }
        let log = try EventLog.open(directory: data.logDirectory, limits: LogLimits(segmentBytesMax: limits.segmentMiB << 20))
        reportRecovery(log.recovery)
        let window = try DedupeWindow.load(from: log, capacity: dedupeWindow)
        let importer = Importer(log: log, window: window, validate: { envelope throws(EventError) in try registry.validate(envelope) })
        let summary: ImportSummary
        do {
            summary = try importer.run(fd: fd) { line, error in
                printError("line \(line): \(error.code.rawValue): \(error)")
            }
        } catch {
            try? log.close()
            printError("log import: reading \(file == "-" ? "stdin" : file) failed: \(error)")
            throw ExitCode(1)
        }
        try log.close()
        print(summary.json)
        if summary.rejected > 0 { throw ExitCode(1) }
    }
}

func reportRecovery(_ report: RecoveryReport) {
    for cut in report.truncations {
        printError("recovery: cut a torn tail of \(cut.bytes) bytes at offset \(cut.offset) of \(cut.file) (\(cut.reason)); \(cut.savedAs.map { "the bytes are kept in \($0)" } ?? "the bytes were not kept: no space left on the device")")
    }
    for index in report.indexesRebuilt {
        printError("recovery: rebuilt index \(index)")
    }
}

struct LogStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Events, segments, sizes, compression and ranges of the log.")

    @OptionGroup var data: DataDirectoryOptions
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func run() throws {
        let log = try EventLog.open(directory: data.logDirectory, mode: .readOnly)
        let s = try log.statistics()
        func time(_ us: Int64?) -> String? { us.map { Timestamp(recordedMicroseconds: $0).rfc3339 } }
        let fields: [(String, String?)] = [
            ("events", String(s.events)), ("segments", String(s.segments)), ("frames", String(s.frames)),
            ("bytes_on_disk", String(s.bytesOnDisk)), ("raw_bytes", String(s.rawBytes)),
            // An empty log has no ratio (0 bytes over 0 bytes): "-", null in JSON.
            ("compression_ratio", s.rawBytes > 0 ? String(format: "%.3f", s.compressionRatio) : nil),
            ("first_seq", s.events > 0 ? String(s.firstSeq) : nil), ("last_seq", s.events > 0 ? String(s.lastSeq) : nil),
            ("first_recorded", time(s.firstRecorded)), ("last_recorded", time(s.lastRecorded)),
            ("first_event_time", time(s.minEventTime)), ("last_event_time", time(s.maxEventTime)),
        ]
        if json {
            let body = fields.map { key, value -> String in
                guard let value else { return JSONString.quoted(key) + ":null" }
                let numeric = !value.isEmpty && value.allSatisfy { $0.isNumber || $0 == "." }
                return JSONString.quoted(key) + ":" + (numeric ? value : JSONString.quoted(value))
            }
            print("{" + body.joined(separator: ",") + "}")
        } else {
            let width = fields.map(\.0.count).max() ?? 0
            for (key, value) in fields {
                print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (value ?? "-"))
            }
        }
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
            let now = EventLog.systemClock()
            let report = try EventLog.repair(directory: data.logDirectory, truncateAfter: truncateAfter, now: now)
            print("repaired: kept seqs up to \(report.truncateAfter), cut \(report.bytesCut) bytes, next seq \(report.nextSeq)")
            for path in report.savedAs { print("  kept aside: \(path)") }
        } catch {
            printError("repair failed: \(error.message)")
            if let file = error.file { printError("  file: \(file)") }
            if let offset = error.offset { printError("  offset: \(offset)") }
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
            let seconds = (ContinuousClock.now - start).seconds
            print("ok: \(counted(summary.events, "event")) (seq 1...\(summary.lastSeq)) in \(counted(summary.frames, "frame")), \(counted(summary.segments, "segment")), \(counted(summary.bytes, "byte")); verified in \(String(format: "%.2f", seconds)) s")
            for gap in summary.gaps {
                print("gap: seqs \(gap.after + 1)...\(gap.next - 1) were given up by a recorded repair (REPAIRS)")
            }
            for tail in summary.tornTails {
                print("torn tail: \(tail.bytes) bytes at offset \(tail.offset) of \(tail.file) were never durable (\(tail.reason)); the next open cuts them and keeps them as \(tail.savedAs ?? "-")")
            }
        } catch {
            printError("verify failed: \(error.message)")
            if let file = error.file { printError("  file: \(file)") }
            if let offset = error.offset { printError("  offset: \(offset)") }
            throw ExitCode(1)
        }
    }
}

/// "1 segment", "2 segments".
func counted<N: BinaryInteger>(_ n: N, _ noun: String) -> String {
    "\(n) \(noun)\(n == 1 ? "" : "s")"
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

struct DumpLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print events as NDJSON with seq and recorded added (and producer, for events written by an authenticated producer).")

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: ArgumentHelp("Start at this seq.", valueName: "seq")) var fromSeq: UInt64 = 1
    @Option(help: ArgumentHelp("Print at most this many events.", valueName: "count")) var limit: UInt64?

    func run() throws {
        let log = try EventLog.open(directory: data.logDirectory, mode: .readOnly)
        let reader = log.reader(fromSeq: fromSeq)
        let out = OutputBuffer()
        var printed: UInt64 = 0
        do {
            while printed < (limit ?? .max), let record = try reader.next() {
                try out.withBuffer { RecordJSON.appendLine(record, to: &$0) }
                printed += 1
            }
            try out.flush()
        } catch is OutputBuffer.OutputClosed {
            return
        }
    }
}
