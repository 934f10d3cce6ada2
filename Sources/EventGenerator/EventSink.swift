import CareerEvents

/// Where a simulated person writes the event it produces.
///
/// Each event is written once, as a stream of JSON tokens, and the sink
/// decides what that becomes: `ByteSink` writes compact JSON bytes (the fast
/// path for benchmarks, no allocation per event), `ValueSink` builds a
/// `JSONValue`. Both see the same calls in the same order, so the two outputs
/// of one seed are the same JSON.
protocol EventSink {
    mutating func beginObject()
    mutating func endObject()
    mutating func beginArray()
    mutating func endArray()
    /// The next member's key; the value call that follows completes it.
    mutating func key(_ name: StaticString)
    mutating func string(_ value: String)
    /// A string known to need no JSON escaping (vocabulary entries): fast path.
    mutating func plainString(_ value: StaticString)
    mutating func integer(_ value: Int)
    /// A number of quarter hours, written as hours (`5` -> `1.25`).
    mutating func quarterHours(_ units: Int)
    /// A number of cents, written as currency units (`4999` -> `49.99`).
    mutating func cents(_ units: Int)
    mutating func bool(_ value: Bool)
    mutating func uuid(_ value: UUID128)
    /// RFC 3339 UTC timestamp of a millisecond instant.
    mutating func timestamp(_ millis: Int64)
    /// `YYYY-MM-DD` of a day since 1970-01-01.
    mutating func date(_ epochDay: Int64)
    /// `YYYY-MM` of a millisecond instant (a cohort).
    mutating func month(_ millis: Int64)
}

/// Writes compact JSON into a fixed buffer through a raw pointer.
///
/// An event is written whole into scratch memory and then appended to the
/// caller's array in one copy: appending piece by piece costs a uniqueness
/// and capacity check per piece, which was most of the generator's time.
/// Every write first claims its worst-case size against `capacity`, so an
/// event longer than the buffer stops with a precondition failure instead
/// of writing past it.
///
/// Commas are placed by one flag instead of a container stack: a value or a
/// closed container sets it, an opened container or a key clears it, so a
/// comma is written exactly before the second and later members or items.
struct ByteSink: EventSink {
    /// Bound on one event's bytes. The longest generated event, a 40-task
    /// `roadmap.created`, is about 8 KB; ingest limits lines far above this.
    static let eventBytesMax = 64 * 1024

    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0
    private var needsComma = false

    init(buffer: UnsafeMutableBufferPointer<UInt8>) {
        self.base = buffer.baseAddress!
        self.capacity = buffer.count
    }

    /// The bytes written so far.
    var written: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// Claims room for `bytes` more and returns where they go; callers add
    /// what they actually wrote to `count`.
    @inline(__always)
    private func claim(_ bytes: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(count + bytes <= capacity, "event longer than ByteSink.eventBytesMax")
        return base + count
    }

    @inline(__always)
    private mutating func byte(_ value: UInt8) {
        claim(1).pointee = value
        count += 1
    }

    /// Claims room for a value of at most `bytes` (plus its comma), writes
    /// the comma if one is due, and returns where the value goes.
    @inline(__always)
    private mutating func beginValue(_ bytes: Int) -> UnsafeMutablePointer<UInt8> {
        let out = claim(bytes + 1)
        if needsComma {
            out.pointee = UInt8(ascii: ",")
            count += 1
        }
        needsComma = true
        return base + count
    }

    mutating func beginObject() {
        beginValue(1).pointee = UInt8(ascii: "{")
        count += 1
        needsComma = false
    }

    mutating func endObject() {
        byte(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func beginArray() {
        beginValue(1).pointee = UInt8(ascii: "[")
        count += 1
        needsComma = false
    }

    mutating func endArray() {
        byte(UInt8(ascii: "]"))
        needsComma = true
    }

    mutating func key(_ name: StaticString) {
        let length = name.utf8CodeUnitCount
        let out = beginValue(length + 3)
        out[0] = UInt8(ascii: "\"")
        name.withUTF8Buffer { (out + 1).update(from: $0.baseAddress!, count: length) }
        out[length + 1] = UInt8(ascii: "\"")
        out[length + 2] = UInt8(ascii: ":")
        count += length + 3
        needsComma = false
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            // Worst case: every byte becomes a six-byte \u00XX escape.
            let out = beginValue(utf8.count * 6 + 2)
            count += JSONText.writeEscaped(utf8, to: out)
        }
    }

    mutating func plainString(_ value: StaticString) {
        let length = value.utf8CodeUnitCount
        let out = beginValue(length + 2)
        out[0] = UInt8(ascii: "\"")
        value.withUTF8Buffer { (out + 1).update(from: $0.baseAddress!, count: length) }
        out[length + 1] = UInt8(ascii: "\"")
        count += length + 2
    }

    mutating func integer(_ value: Int) {
        count += DecimalText.writeInteger(value, to: beginValue(20))
    }

    mutating func quarterHours(_ units: Int) {
        count += DecimalText.writeQuarters(units, to: beginValue(23))
    }

    mutating func cents(_ units: Int) {
        count += DecimalText.writeCents(units, to: beginValue(23))
    }

    mutating func bool(_ value: Bool) {
        let out = beginValue(5)
        let text: StaticString = value ? "true" : "false"
        out.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        count += text.utf8CodeUnitCount
    }

    mutating func uuid(_ value: UUID128) {
        let out = beginValue(38)
        out[0] = UInt8(ascii: "\"")
        value.write(to: out + 1)
        out[37] = UInt8(ascii: "\"")
        count += 38
    }

    mutating func timestamp(_ millis: Int64) {
        let out = beginValue(26)
        out[0] = UInt8(ascii: "\"")
        CivilTime.writeTimestamp(millis, to: out + 1)
        out[25] = UInt8(ascii: "\"")
        count += 26
    }

    mutating func date(_ epochDay: Int64) {
        let out = beginValue(12)
        out[0] = UInt8(ascii: "\"")
        CivilTime.writeDate(epochDay, to: out + 1)
        out[11] = UInt8(ascii: "\"")
        count += 12
    }

    mutating func month(_ millis: Int64) {
        let out = beginValue(9)
        out[0] = UInt8(ascii: "\"")
        CivilTime.writeMonth(millis, to: out + 1)
        out[8] = UInt8(ascii: "\"")
        count += 9
    }

    mutating func newline() {
        byte(UInt8(ascii: "\n"))
    }
}

/// JSON string escaping, the same as `JSONValue.writeString` (so both sinks
/// write identical text): quote, backslash and control characters escaped,
/// everything else, including non-ASCII, as UTF-8.
enum JSONText {
    /// Writes `utf8` as a quoted JSON string; returns the bytes written
    /// (at most `utf8.count * 6 + 2`).
    @inline(__always)
    static func writeEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var at = 0
        out[at] = UInt8(ascii: "\""); at += 1
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out[at] = UInt8(ascii: "\\"); out[at + 1] = byte; at += 2
            case 0x0A: out[at] = UInt8(ascii: "\\"); out[at + 1] = UInt8(ascii: "n"); at += 2
            case 0x0D: out[at] = UInt8(ascii: "\\"); out[at + 1] = UInt8(ascii: "r"); at += 2
            case 0x09: out[at] = UInt8(ascii: "\\"); out[at + 1] = UInt8(ascii: "t"); at += 2
            case 0x08: out[at] = UInt8(ascii: "\\"); out[at + 1] = UInt8(ascii: "b"); at += 2
            case 0x0C: out[at] = UInt8(ascii: "\\"); out[at + 1] = UInt8(ascii: "f"); at += 2
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                out[at] = UInt8(ascii: "\\"); out[at + 1] = UInt8(ascii: "u")
                out[at + 2] = UInt8(ascii: "0"); out[at + 3] = UInt8(ascii: "0")
                out[at + 4] = hex.utf8Start[Int(byte >> 4)]
                out[at + 5] = hex.utf8Start[Int(byte & 0xF)]
                at += 6
            default:
                out[at] = byte; at += 1
            }
        }
        out[at] = UInt8(ascii: "\""); at += 1
        return at
    }
}

/// Builds a `JSONValue` from the token stream (the `next()` path).
struct ValueSink: EventSink {
    private enum Frame {
        case object(JSONObject, pendingKey: String?)
        case array([JSONValue])
    }

    private var stack: [Frame] = []
    /// The finished top-level value, once its container closed.
    private(set) var result: JSONValue?

    private mutating func add(_ value: JSONValue) {
        guard let top = stack.popLast() else {
            result = value
            return
        }
        switch top {
        case .object(var object, let pendingKey):
            guard let key = pendingKey else { preconditionFailure("object member without a key") }
            object.members.append((key: key, value: value))
            stack.append(.object(object, pendingKey: nil))
        case .array(var items):
            items.append(value)
            stack.append(.array(items))
        }
    }

    private mutating func addText(_ write: (inout [UInt8]) -> Void) {
        var bytes: [UInt8] = []
        write(&bytes)
        add(.string(String(decoding: bytes, as: UTF8.self)))
    }

    private mutating func addNumber(_ write: (inout [UInt8]) -> Void) {
        var bytes: [UInt8] = []
        write(&bytes)
        add(.number(JSONNumber(text: String(decoding: bytes, as: UTF8.self))))
    }

    mutating func beginObject() { stack.append(.object(JSONObject(), pendingKey: nil)) }

    mutating func endObject() {
        guard case .object(let object, _)? = stack.popLast() else { preconditionFailure("unbalanced object") }
        add(.object(object))
    }

    mutating func beginArray() { stack.append(.array([])) }

    mutating func endArray() {
        guard case .array(let items)? = stack.popLast() else { preconditionFailure("unbalanced array") }
        add(.array(items))
    }

    mutating func key(_ name: StaticString) {
        guard case .object(let object, _)? = stack.popLast() else { preconditionFailure("key outside an object") }
        stack.append(.object(object, pendingKey: name.description))
    }

    mutating func string(_ value: String) { add(.string(value)) }
    mutating func plainString(_ value: StaticString) { add(.string(value.description)) }
    mutating func integer(_ value: Int) { add(.number(JSONNumber(value))) }
    mutating func quarterHours(_ units: Int) { addNumber { DecimalText.writeQuarters(units, into: &$0) } }
    mutating func cents(_ units: Int) { addNumber { DecimalText.writeCents(units, into: &$0) } }
    mutating func bool(_ value: Bool) { add(.bool(value)) }
    mutating func uuid(_ value: UUID128) { addText { value.write(into: &$0) } }
    mutating func timestamp(_ millis: Int64) { addText { CivilTime.writeTimestamp(millis, into: &$0) } }
    mutating func date(_ epochDay: Int64) { addText { CivilTime.writeDate(epochDay, into: &$0) } }
    mutating func month(_ millis: Int64) { addText { CivilTime.writeMonth(millis, into: &$0) } }
}
