import CareerEvents
import EventLog

/// Writes stored events back as NDJSON: the envelope exactly as imported
/// (ids in lower case, `time` as written, `data` byte for byte as stored)
/// with `seq` and `recorded` in front.
public enum RecordJSON {
    /// Appends one line (with its `\n`).
    ///
    ///     {"seq":1,"recorded":"2026-11-21T03:30:00.123456Z","id":"…","source":"…",
    ///      "type":"…","dataversion":1,"subject":"…","time":"…","data":{…}}
    public static func appendLine(_ record: EventRecord, to out: inout [UInt8]) {
        let event = record.event
        out.append(contentsOf: #"{"seq":"#.utf8)
        out.append(contentsOf: String(record.seq).utf8)
        out.append(contentsOf: #","recorded":""#.utf8)
        Timestamp(recordedMicroseconds: record.recorded).appendRFC3339(to: &out)
        out.append(contentsOf: #"","id":""#.utf8)
        UUIDText.append(event.id, to: &out)
        out.append(contentsOf: #"","source":"#.utf8)
        JSONValue.writeString(event.source, into: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONValue.writeString(event.type, into: &out)
        out.append(contentsOf: #","dataversion":"#.utf8)
        out.append(contentsOf: String(event.dataVersion).utf8)
        out.append(contentsOf: #","subject":""#.utf8)
        UUIDText.append(event.subject, to: &out)
        out.append(contentsOf: #"","time":""#.utf8)
        Timestamp(event.time).appendRFC3339(to: &out)
        out.append(contentsOf: #"","data":"#.utf8)
        out.append(contentsOf: event.data)
        out.append(contentsOf: "}\n".utf8)
    }
}
