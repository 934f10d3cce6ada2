import CareerEvents
import EventLog
import Foundation

/// Writes stored events back as NDJSON: the envelope exactly as imported
/// (ids in lower case, `time` as written, `data` byte for byte as stored)
/// with `seq` and `recorded` in front, and `producer` after them for an
/// event written by an authenticated producer (the audit trail; absent for
/// events that have none).
///
/// This is the replay hot path (every event of a full replay goes through
/// it), so a line is built in one scratch buffer through a raw pointer and
/// appended to `out` with one copy, instead of a dozen small appends that
/// each check capacity and uniqueness. Numbers, times and UUIDs are written
/// with two-digit and hex tables. The output is byte for byte what
/// `Timestamp.appendRFC3339`, `UUIDText` and `JSONValue.writeString` give
/// (the tests compare against them).
public enum RecordJSON {
    /// Appends one line (with its `\n`).
    ///
    ///     {"seq":1,"recorded":"2026-11-21T03:30:00.123456Z","id":"…","source":"…",
    ///      "type":"…","dataversion":1,"subject":"…","time":"…","data":{…}}
    ///     {"seq":2,"recorded":"…","producer":"careerforge-api","id":"…",…}
    /// `redacted`: add `"redacted":true` after `data` (PII withheld, see
    /// `RecordOpener`). The record's `data` must be JSON (not sealed).
    public static func appendLine(_ record: EventRecord, redacted: Bool = false, to out: inout [UInt8]) {
        var writer = Writer()
        writer.appendLine(record, redacted: redacted, to: &out)
    }

    /// The same lines, faster for a stream of records: it remembers the
    /// last calendar date it wrote for `recorded` and for `time`, which
    /// along a log rarely change from one event to the next.
    public struct Writer: Sendable {
        private var dates = DateCache()

        public init() {}

        public mutating func appendLine(_ record: EventRecord, redacted: Bool = false, to out: inout [UInt8]) {
            RecordJSON.appendLine(record, redacted: redacted, to: &out, dates: &dates)
        }
    }

    private static func appendLine(_ record: EventRecord, redacted: Bool, to out: inout [UInt8], dates: inout DateCache) {
        precondition(record.event.flags & sealedFlag == 0, "a sealed record must be opened (RecordOpener) before it is written as JSON")
        let event = record.event
        // Every piece's longest form: fixed text and numbers 290 bytes (306
        // with `,"redacted":true`, inside the 320 below), a
        // string escapes to at most 6 bytes per byte, data is copied as is.
        // A producer adds `,"producer":` (12 bytes) and its string.
        let producerBytes = event.producer.map { 14 + 6 * $0.utf8.count } ?? 0
        let capacity = 320 + 6 * (event.source.utf8.count + event.type.utf8.count) + event.data.count + producerBytes
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { scratch in
            var w = LineWriter(scratch.baseAddress!, dates: dates)
            defer { dates = w.dates }
            w.put(#"{"seq":"#)
            w.putDecimal(record.seq)
            w.put(#","recorded":""#)
            w.putRecorded(record.recorded)
            if let producer = event.producer {
                w.put(#"","producer":"#)
                w.putJSONString(producer)
                w.put(#","id":""#)
            } else {
                w.put(#"","id":""#)
            }
            w.putUUID(event.id)
            w.put(#"","source":"#)
            w.putJSONString(event.source)
            w.put(#","type":"#)
            w.putJSONString(event.type)
            w.put(#","dataversion":"#)
            w.putDecimal(UInt64(event.dataVersion))
            w.put(#","subject":""#)
            w.putUUID(event.subject)
            w.put(#"","time":""#)
            w.putEventTime(event.time)
            w.put(#"","data":"#)
            event.data.withUnsafeBufferPointer { w.put($0) }
            if redacted { w.put(#","redacted":true"#) }
            w.put("}\n")
            precondition(w.count <= capacity, "a JSON line outgrew its computed bound")
            out.append(contentsOf: UnsafeBufferPointer(start: scratch.baseAddress, count: w.count))
        }
    }
}

/// Record flag bit 0 (FORMAT.md): `data` is sealed, not JSON.
private let sealedFlag: UInt8 = 0x01

/// Writes bytes forward through a raw pointer; the caller has sized the
/// buffer (see `RecordJSON.appendLine`).
private struct LineWriter {
    let start: UnsafeMutablePointer<UInt8>
    var p: UnsafeMutablePointer<UInt8>
    var dates: DateCache

    init(_ start: UnsafeMutablePointer<UInt8>, dates: DateCache) {
        self.start = start
        self.p = start
        self.dates = dates
    }

    var count: Int { p - start }

    @inline(__always) mutating func put(_ byte: UInt8) {
        p.pointee = byte
        p += 1
    }

    @inline(__always) mutating func put(_ text: StaticString) {
        p.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        p += text.utf8CodeUnitCount
    }

    @inline(__always) mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        p.update(from: base, count: bytes.count)
        p += bytes.count
    }

    /// Two decimal digits of `value` (0...99).
    @inline(__always) mutating func putTwoDigits(_ value: Int) {
        let pair = Tables.digitPairs.utf8Start + 2 * value
        p[0] = pair[0]
        p[1] = pair[1]
        p += 2
    }

    /// `value` in decimal, zero-padded to `width` digits (at least).
    mutating func putDecimal(_ value: UInt64, width: Int = 1) {
        var digits = 1
        var bound: UInt64 = 10
        while digits < 20 && value >= bound {
            digits += 1
            bound = bound &* 10
        }
        let n = max(digits, width)
        var v = value
        var i = n
        while i >= 2 && v > 0 {
            let pair = Tables.digitPairs.utf8Start + 2 * Int(v % 100)
            p[i - 1] = pair[1]
            p[i - 2] = pair[0]
            v /= 100
            i -= 2
        }
        while i > 0 {
            p[i - 1] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            i -= 1
        }
        p += n
    }

    mutating func putUUID(_ uuid: UUID) {
        withUnsafeBytes(of: uuid.uuid) { raw in
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 { put(UInt8(ascii: "-")) }
                let pair = Tables.hexPairs.utf8Start + 2 * Int(raw[i])
                p[0] = pair[0]
                p[1] = pair[1]
                p += 2
            }
        }
    }

    /// A JSON string as `JSONValue.writeString` writes it: copied whole
    /// when nothing needs escaping (every real source and type), else
    /// escaped by `JSONValue` itself.
    mutating func putJSONString(_ s: String) {
        var s = s
        s.withUTF8 { bytes in
            if bytes.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
                put(UInt8(ascii: "\""))
                put(bytes)
                put(UInt8(ascii: "\""))
            } else {
                var escaped: [UInt8] = []
                JSONValue.writeString(String(decoding: bytes, as: UTF8.self), into: &escaped)
                escaped.withUnsafeBufferPointer { put($0) }
            }
        }
    }

    /// A recorded time (µs since the epoch) as UTC with six fraction
    /// digits, as `Timestamp(recordedMicroseconds:)` writes it.
    mutating func putRecorded(_ us: Int64) {
        let seconds = us >= 0 ? us / 1_000_000 : (us - 999_999) / 1_000_000
        let micros = us - seconds * 1_000_000
        guard putDateTime(local: seconds, leapSecond: false, recorded: true) else {
            Timestamp(recordedMicroseconds: us).appendRFC3339(toWriter: &self)
            return
        }
        put(UInt8(ascii: "."))
        putDecimal(UInt64(micros), width: 6)
        put(UInt8(ascii: "Z"))
    }

    /// An event time as the producer wrote it (offset, fraction digits),
    /// as `Timestamp.appendRFC3339` writes it.
    mutating func putEventTime(_ time: EventTime) {
        let offset = Int64(time.offsetMinutes)
        guard putDateTime(local: time.seconds &+ offset * 60, leapSecond: time.isLeapSecond, recorded: false) else {
            Timestamp(time).appendRFC3339(toWriter: &self)
            return
        }
        // The written digits, or more when the nanoseconds need them.
        var digits = Int(time.fractionDigits)
        while digits < 9 && time.nanoseconds % Tables.powersOfTen[9 - digits] != 0 { digits += 1 }
        if digits > 0 {
            put(UInt8(ascii: "."))
            putDecimal(UInt64(time.nanoseconds / Tables.powersOfTen[9 - digits]), width: digits)
        }
        if offset == 0 {
            put(UInt8(ascii: "Z"))
        } else {
            put(offset < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            putTwoDigits(Int(abs(offset) / 60))
            put(UInt8(ascii: ":"))
            putTwoDigits(Int(abs(offset) % 60))
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS` of a local second count. False, writing
    /// nothing, for years outside 0...9999 (left to `Timestamp`).
    mutating func putDateTime(local: Int64, leapSecond: Bool, recorded: Bool) -> Bool {
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        // Years 0 and 10000 start at these days since 1970-01-01.
        guard days >= -719_528, days < 2_932_897 else { return false }
        if recorded {
            Self.putDate(days: days, cache: &dates.recorded, at: &p)
        } else {
            Self.putDate(days: days, cache: &dates.time, at: &p)
        }
        let secondOfDay = Int(local - days * 86_400)
        put(UInt8(ascii: "T"))
        putTwoDigits(secondOfDay / 3600)
        put(UInt8(ascii: ":"))
        putTwoDigits(secondOfDay / 60 % 60)
        put(UInt8(ascii: ":"))
        putTwoDigits(leapSecond ? 60 : secondOfDay % 60)
        return true
    }

    /// `YYYY-MM-DD` at `p`, copied from `cache` when the day is the last one.
    static func putDate(days: Int64, cache: inout DateCache.Entry, at p: inout UnsafeMutablePointer<UInt8>) {
        if cache.day != days {
            let date = CalendarDate(daysSinceEpoch: Int(days))
            let digits = Tables.digitPairs.utf8Start
            withUnsafeMutableBytes(of: &cache.text) { text in
                func two(_ value: Int, at i: Int) {
                    text[i] = digits[2 * value]
                    text[i + 1] = digits[2 * value + 1]
                }
                two(date.year / 100, at: 0)
                two(date.year % 100, at: 2)
                text[4] = UInt8(ascii: "-")
                two(date.month, at: 5)
                text[7] = UInt8(ascii: "-")
                two(date.day, at: 8)
            }
            cache.day = days
        }
        withUnsafeBytes(of: cache.text) { p.update(from: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 10) }
        p += 10
    }
}

/// The last date written for `recorded` and for `time`, as its 10 bytes.
struct DateCache: Sendable {
    struct Entry: Sendable {
        var day = Int64.min
        var text: (UInt64, UInt64) = (0, 0)
    }

    var recorded = Entry()
    var time = Entry()
}

private enum Tables {
    static let digitPairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """
    static let hexPairs: StaticString = """
        000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
        202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\
        404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\
        606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\
        808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\
        a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\
        c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf\
        e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
        """
    static let powersOfTen: [UInt32] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000]
}

extension Timestamp {
    /// The general (slow, rare) path: years outside 0...9999.
    fileprivate func appendRFC3339(toWriter w: inout LineWriter) {
        var text: [UInt8] = []
        appendRFC3339(to: &text)
        text.withUnsafeBufferPointer { w.put($0) }
    }
}
