import CareerEvents
import EventLog
import Foundation
import StoredEventCodec
import SubjectKeys

/// What one import did.
public struct ImportSummary: Sendable, Equatable {
    public var appended = 0
    public var duplicates = 0
    public var rejected = 0
    /// Stored with their PII as `null` (their subject was erased).
    public var redacted = 0
    public var firstSeq: UInt64?
    public var lastSeq: UInt64?

    public init() {}

    /// `{"appended":N,"duplicates":D,"rejected":R,"redacted":P,"first_seq":A,"last_seq":B}`
    public var json: String {
        func n(_ v: UInt64?) -> String { v.map(String.init) ?? "null" }
        return #"{"appended":\#(appended),"duplicates":\#(duplicates),"rejected":\#(rejected),"redacted":\#(redacted),"first_seq":\#(n(firstSeq)),"last_seq":\#(n(lastSeq))}"#
    }
}

/// Checks an envelope beyond its structure (the schema registry's job).
public typealias EnvelopeValidator = @Sendable (Envelope) throws(EventError) -> Void

/// Turns NDJSON lines into appended events: decode, validate, dedupe,
/// batch, append, sync. Shared by `careerlog log import` and the server so
/// both accept and reject exactly the same lines.
public final class Importer {
    public struct Limits: Sendable {
        /// Longest line accepted (bytes, without the newline).
        public var lineBytesMax = 1 << 20
        /// Deepest JSON nesting accepted.
        public var depthMax = 64
        /// Events appended per `append` call (one group of frames).
        public var batchEventsMax = 1000
        /// Events between two syncs during a long import: bounds what a crash
        /// can lose of an import that is still running (re-running it is safe:
        /// stored ids come back as duplicates).
        public var syncEventsMax = 100_000
        public init() {}
    }

    private let log: EventLog
    private var window: DedupeWindow
    private let validate: EnvelopeValidator?
    private let limits: Limits
    /// Seals PII before each append and destroys erased subjects' keys once
    /// their erasure is durable, as the server's appender does.
    private let sealer: EventSealer?

    public init(log: EventLog, window: DedupeWindow, validate: EnvelopeValidator?, limits: Limits = Limits(),
                sealer: EventSealer? = nil) {
        self.log = log
        self.window = window
        self.validate = validate
        self.limits = limits
        self.sealer = sealer
    }

    /// Decodes and checks one line into a log event (no dedupe, no append).
    public static func check(
        line: UnsafeRawBufferPointer, depthMax: Int, eventBytesMax: Int, validate: EnvelopeValidator?
    ) throws(EventError) -> LogEvent {
        let envelope = try Envelope.decode(line: line, limits: JSONParseLimits(depthMax: depthMax))
        try validate?(envelope)
        let event = LogEvent(envelope)
        guard event.encodedSize <= eventBytesMax else {
            throw EventError(code: .tooLarge, reason: "event is \(event.encodedSize) bytes stored; the limit is \(eventBytesMax)",
                             id: UUIDText.string(envelope.id))
        }
        return event
    }

    /// Imports every line of `fd`; `reject(line, error)` is called for each
    /// line not stored. Blank lines are skipped.
    public func run(fd: Int32, reject: (Int, EventError) -> Void) throws -> ImportSummary {
        var summary = ImportSummary()
        var reader = LineReader(fd: fd, lineBytesMax: limits.lineBytesMax)
        defer { reader.close() }
        var batch: [LogEvent] = []
        batch.reserveCapacity(limits.batchEventsMax)
        var sinceSync = 0
        var nextSeq = log.nextSeq

        func flush() throws {
            guard !batch.isEmpty else { return }
            if let sealer { summary.redacted += try sealer.seal(&batch).count }
            guard let range = try log.append(batch) else { return }
            if let sealer, batch.contains(where: { $0.type == EventSealer.erasureType }) {
                // An erasure destroys its key only once it is durable.
                try log.sync()
                sinceSync = 0
                try sealer.applyErasures(batch, firstSeq: range.lowerBound, recorded: KeyStore.systemMicroseconds())
            }
            precondition(range.lowerBound == nextSeq - UInt64(batch.count), "seqs were predicted for the batch")
            summary.firstSeq = summary.firstSeq ?? range.lowerBound
            summary.lastSeq = range.upperBound
            summary.appended += batch.count
            sinceSync += batch.count
            batch.removeAll(keepingCapacity: true)
            if sinceSync >= limits.syncEventsMax {
                try log.sync()
                sinceSync = 0
            }
        }

        while let line = try reader.next() {
            switch line {
            case .tooLarge(let number, let bytes):
                summary.rejected += 1
                reject(number, EventError(code: .tooLarge, reason: "line is \(bytes) bytes; the limit is \(limits.lineBytesMax)"))
            case .line(let number, let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                let event: LogEvent
                do throws(EventError) {
                    event = try Importer.check(line: bytes, depthMax: limits.depthMax, eventBytesMax: log.limits.eventBytesMax, validate: validate)
                } catch {
                    summary.rejected += 1
                    reject(number, error)
                    continue
                }
                if window.seq(of: event.id) != nil {
                    summary.duplicates += 1
                    continue
                }
                // The log assigns seqs densely, so the seq is known now; a
                // repeat later in the same batch is a duplicate too.
                window.insert(event.id, seq: nextSeq)
                nextSeq += 1
                batch.append(event)
                if batch.count >= limits.batchEventsMax { try flush() }
            }
        }
        try flush()
        try log.sync()
        return summary
    }
}

/// Reading the input of an import failed (what was appended before is kept).
public struct ImportInputError: Error, CustomStringConvertible {
    public var underlying: any Error
    public var description: String { "\(underlying)" }
}

extension Importer {
    /// What `careerlog log import` does: opens (and recovers) the log in
    /// `logDirectory`, tells `opened` what recovery did, loads the dedupe
    /// window, imports every line of `fd` and closes the log. The log's own
    /// errors come as they are; a failed read of `fd` is `ImportInputError`.
    /// `sealer`: seals PII as `serve` does; an erasure that a crash left
    /// with its key not yet destroyed is finished before the first line.
    public static func importLines(
        fd: Int32, logDirectory: String, logLimits: LogLimits, dedupeWindowEvents: Int, validate: EnvelopeValidator?,
        sealer: EventSealer? = nil, opened: (RecoveryReport) -> Void, reject: (Int, EventError) -> Void
    ) throws -> ImportSummary {
        let log = try EventLog.open(directory: logDirectory, limits: logLimits)
        opened(log.recovery)
        if let sealer { _ = try sealer.reapplyErasures(log: log) }
        let window = try DedupeWindow.load(from: log, capacity: dedupeWindowEvents)
        let summary: ImportSummary
        do {
            summary = try Importer(log: log, window: window, validate: validate, sealer: sealer).run(fd: fd, reject: reject)
        } catch {
            try? log.close()
            throw ImportInputError(underlying: error)
        }
        try log.close()
        return summary
    }
}
