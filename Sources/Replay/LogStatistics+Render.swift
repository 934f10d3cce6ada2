import CareerEvents
import EventLog
import Foundation
import StoredEventCodec

/// `careerlog log stats`: the log's counts, sizes and ranges, as an aligned
/// table or one JSON object.
extension LogStatistics {
    /// Name and value of each figure, nil where there is none (an empty
    /// log has no seqs, times or ratio).
    public var fields: [(name: String, value: String?)] {
        func time(_ us: Int64?) -> String? { us.map { Timestamp(recordedMicroseconds: $0).rfc3339 } }
        return [
            ("events", String(events)), ("segments", String(segments)), ("frames", String(frames)),
            ("bytes_on_disk", String(bytesOnDisk)), ("raw_bytes", String(rawBytes)),
            // An empty log has no ratio (0 bytes over 0 bytes): "-", null in JSON.
            ("compression_ratio", rawBytes > 0 ? String(format: "%.3f", compressionRatio) : nil),
            ("first_seq", events > 0 ? String(firstSeq) : nil), ("last_seq", events > 0 ? String(lastSeq) : nil),
            ("first_recorded", time(firstRecorded)), ("last_recorded", time(lastRecorded)),
            ("first_event_time", time(minEventTime)), ("last_event_time", time(maxEventTime)),
        ]
    }

    /// One JSON object: numbers as numbers, times as strings, null for none.
    public var json: String {
        let body = fields.map { key, value -> String in
            guard let value else { return JSONString.quoted(key) + ":null" }
            let numeric = !value.isEmpty && value.allSatisfy { $0.isNumber || $0 == "." }
            return JSONString.quoted(key) + ":" + (numeric ? value : JSONString.quoted(value))
        }
        return "{" + body.joined(separator: ",") + "}"
    }

    /// `name  value` lines, names padded to one width, `-` for none.
    public var table: String {
        let width = fields.map(\.name.count).max() ?? 0
        return fields.map { $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + ($0.value ?? "-") + "\n" }.joined()
    }
}

extension EventLog {
    /// `careerlog log dump`: up to `limit` events from `fromSeq` on, as
    /// NDJSON with seq and recorded, into `out`; `opener` opens sealed PII
    /// (or withholds it, marking the event `"redacted":true`).
    public func dump(fromSeq: UInt64, limit: UInt64?, opener: RecordOpener, to out: OutputBuffer) throws {
        let reader = reader(fromSeq: fromSeq)
        var printed: UInt64 = 0
        while printed < (limit ?? .max), let record = try reader.next() {
            let (opened, redacted) = try opener.open(record)
            try out.withBuffer { RecordJSON.appendLine(opened, redacted: redacted, to: &$0) }
            printed += 1
        }
        try out.flush()
    }
}
