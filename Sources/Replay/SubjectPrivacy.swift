import CareerEvents
import EventLog
import Foundation
import StoredEventCodec
import SubjectKeys

/// What the log and the key store hold about one data subject: the
/// answer to `careerlog privacy status SUBJECT`.
public struct SubjectPrivacyStatus: Sendable, Equatable {
    public var subject: UUID
    /// Whether the subject's data key exists, was destroyed (with the
    /// erasure's seq and time) or was never made.
    public var key: SubjectKeyStatus
    /// Events about the subject in the log.
    public var events: UInt64 = 0
    /// Of those, events whose PII fields are sealed (record flag bit 0).
    public var sealedEvents: UInt64 = 0
    /// Of those, events with PII values in clear: written before sealing
    /// existed (see README "Privacy", "Logs written before sealing").
    public var clearPIIEvents: UInt64 = 0
    /// The seqs of the subject's `user.erased` events.
    public var erasureSeqs: [UInt64] = []

    public init(subject: UUID, key: SubjectKeyStatus) {
        self.subject = subject
        self.key = key
    }

    /// One JSON object; times RFC 3339 (UTC, microseconds):
    ///
    ///     {"subject":"…","key":"active","key_created":"…","erasure_seq":null,"erased_at":null,
    ///      "events":12,"sealed_events":3,"events_with_pii_in_clear":0,"erasure_seqs":[]}
    public var json: String {
        var created = "null", erasureSeq = "null", erasedAt = "null"
        let name: String
        switch key {
        case .none: name = "none"
        case .active(let at):
            name = "active"
            created = JSONString.quoted(SubjectPrivacy.rfc3339(microseconds: at))
        case .destroyed(let seq, let at):
            name = "destroyed"
            erasureSeq = String(seq)
            erasedAt = JSONString.quoted(SubjectPrivacy.rfc3339(microseconds: at))
        }
        return #"{"subject":"\#(UUIDText.string(subject))","key":"\#(name)","key_created":\#(created),"#
            + #""erasure_seq":\#(erasureSeq),"erased_at":\#(erasedAt),"events":\#(events),"sealed_events":\#(sealedEvents),"#
            + #""events_with_pii_in_clear":\#(clearPIIEvents),"erasure_seqs":[\#(erasureSeqs.map(String.init).joined(separator: ","))]}"#
    }
}

/// The data subject's rights on the command line: status and access
/// (export). Both read the whole log once, filtered by subject; neither
/// writes anything.
public enum SubjectPrivacy {
    /// Counts what the log holds about `subject` and asks the key store
    /// (nil: no store exists, so no key was ever made).
    public static func status(of subject: UUID, log: EventLog, store: KeyStore?, table: PIIPathTable) throws -> SubjectPrivacyStatus {
        var status = SubjectPrivacyStatus(subject: subject, key: try store?.status(subject) ?? .none)
        try forEachEvent(of: subject, in: log) { record in
            let event = record.event
            status.events += 1
            if event.type == EventSealer.erasureType { status.erasureSeqs.append(record.seq) }
            if event.flags & PIISealer.sealedFlag != 0 {
                status.sealedEvents += 1
                return
            }
            let paths = table.paths(type: event.type, version: event.dataVersion)
            if !paths.isEmpty, case .object(let data)? = try? JSONParser.parse(event.data), paths.hasValue(in: data) {
                status.clearPIIEvents += 1
            }
        }
        return status
    }

    /// Writes every event about `subject` as NDJSON (`RecordJSON` lines)
    /// through `opener` (PII unsealed where the key exists, `null` with
    /// `"redacted":true` where it was destroyed) to `write`, in chunks.
    /// Returns how many events were written.
    @discardableResult
    public static func export(subject: UUID, log: EventLog, opener: RecordOpener,
                              write: ([UInt8]) throws -> Void) throws -> UInt64 {
        var writer = RecordJSON.Writer()
        var out: [UInt8] = []
        var count: UInt64 = 0
        try forEachEvent(of: subject, in: log) { record in
            let (opened, redacted) = try opener.open(record)
            writer.appendLine(opened, redacted: redacted, to: &out)
            count += 1
            if out.count >= exportChunkBytesMax {
                try write(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        if !out.isEmpty { try write(out) }
        return count
    }

    /// Bytes of NDJSON buffered before a write: 64 KiB keeps memory flat
    /// whatever the subject's history, with writes large enough to be cheap.
    public static let exportChunkBytesMax = 64 << 10

    private static func forEachEvent(of subject: UUID, in log: EventLog, _ body: (EventRecord) throws -> Void) throws {
        var filter = ReplayFilter()
        filter.subjects = [subject]
        let scan = ReplayScan(log: log, filter: filter)
        while let record = try scan.next() { try body(record) }
    }

    /// `2026-12-04T22:01:31.592699Z` for microseconds since the epoch.
    public static func rfc3339(microseconds: Int64) -> String {
        var seconds = time_t(microseconds.floorDivided(by: 1_000_000))
        let fraction = microseconds - Int64(seconds) * 1_000_000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(fraction))
    }
}

private extension Int64 {
    /// Division rounding toward minus infinity (times before 1970 too).
    func floorDivided(by divisor: Int64) -> Int64 {
        let (q, r) = quotientAndRemainder(dividingBy: divisor)
        return r < 0 ? q - 1 : q
    }
}
