import CareerEvents

/// Where a simulated person writes the event it produces.
///
/// Each event is written once, as a stream of JSON tokens, and the sink
/// decides what that becomes: `ByteSink` appends compact NDJSON bytes (the
/// fast path for benchmarks, no allocation per event), `ValueSink` builds a
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

/// Appends compact JSON to a byte buffer.
///
/// Commas are placed by one flag instead of a container stack: a value or a
/// closed container sets it, an opened container or a key clears it, so a
/// comma is written exactly before the second and later members or items.
///
/// Fixed-width pieces (UUIDs, timestamps, keys) are first assembled on the
/// stack and appended in one copy: appending byte by byte costs a
/// uniqueness and capacity check per byte, which made UUIDs alone a fifth
/// of the generator's time.
struct ByteSink: EventSink {
    var bytes: [UInt8]
    private var needsComma = false

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Longest piece staged on the stack: a key of `stagedKeyBytesMax`
    /// plus comma, quotes and colon, or a quoted UUID (38 bytes).
    private static var stagedBytesMax: Int { 64 }
    private static var stagedKeyBytesMax: Int { 60 }

    /// Lets `fill` write up to `stagedBytesMax` bytes to a stack buffer and
    /// appends the number of bytes it returns.
    @inline(__always)
    private static func appendStaged(_ bytes: inout [UInt8], _ fill: (UnsafeMutablePointer<UInt8>) -> Int) {
        var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &storage) { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let count = fill(base)
            precondition(count <= stagedBytesMax, "staged piece too long")
            bytes.append(contentsOf: UnsafeBufferPointer(start: base, count: count))
        }
    }

    /// Claims the separator a value needs: returns whether a comma goes first.
    @inline(__always)
    private mutating func takeComma() -> Bool {
        defer { needsComma = true }
        return needsComma
    }

    @inline(__always)
    private mutating func beginValue() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    mutating func beginObject() {
        beginValue()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func beginArray() {
        beginValue()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    mutating func key(_ name: StaticString) {
        precondition(name.utf8CodeUnitCount <= Self.stagedKeyBytesMax, "key too long to stage")
        let comma = needsComma
        Self.appendStaged(&bytes) { base in
            var count = comma ? 1 : 0
            base[0] = UInt8(ascii: ",")
            base[count] = UInt8(ascii: "\"")
            count += 1
            (base + count).update(from: name.utf8Start, count: name.utf8CodeUnitCount)
            count += name.utf8CodeUnitCount
            base[count] = UInt8(ascii: "\"")
            base[count + 1] = UInt8(ascii: ":")
            return count + 2
        }
        needsComma = false
    }

    mutating func string(_ value: String) {
        beginValue()
        JSONValue.writeString(value, into: &bytes)
    }

    mutating func plainString(_ value: StaticString) {
        beginValue()
        bytes.append(UInt8(ascii: "\""))
        value.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func integer(_ value: Int) {
        beginValue()
        DecimalText.writeInteger(value, into: &bytes)
    }

    mutating func quarterHours(_ units: Int) {
        beginValue()
        DecimalText.writeQuarters(units, into: &bytes)
    }

    mutating func cents(_ units: Int) {
        beginValue()
        DecimalText.writeCents(units, into: &bytes)
    }

    mutating func bool(_ value: Bool) {
        beginValue()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func uuid(_ value: UUID128) {
        let comma = takeComma()
        Self.appendStaged(&bytes) { base in
            let start = comma ? 1 : 0
            base[0] = UInt8(ascii: ",")
            base[start] = UInt8(ascii: "\"")
            value.write(to: base + start + 1)
            base[start + 37] = UInt8(ascii: "\"")
            return start + 38
        }
    }

    mutating func timestamp(_ millis: Int64) {
        let comma = takeComma()
        Self.appendStaged(&bytes) { base in
            let start = comma ? 1 : 0
            base[0] = UInt8(ascii: ",")
            base[start] = UInt8(ascii: "\"")
            CivilTime.writeTimestamp(millis, to: base + start + 1)
            base[start + 25] = UInt8(ascii: "\"")
            return start + 26
        }
    }

    mutating func date(_ epochDay: Int64) {
        let comma = takeComma()
        Self.appendStaged(&bytes) { base in
            let start = comma ? 1 : 0
            base[0] = UInt8(ascii: ",")
            base[start] = UInt8(ascii: "\"")
            CivilTime.writeDate(epochDay, to: base + start + 1)
            base[start + 11] = UInt8(ascii: "\"")
            return start + 12
        }
    }

    mutating func month(_ millis: Int64) {
        beginValue()
        bytes.append(UInt8(ascii: "\""))
        CivilTime.writeMonth(millis, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
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
