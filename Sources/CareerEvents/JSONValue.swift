/// A parsed JSON document.
///
/// Numbers keep the exact text they were written with, so an event's `data`
/// written back out is the same JSON the producer sent (no rounding through
/// `Double`, no `1.0` turning into `1`). Objects keep their members in the
/// order they were written; a parser never produces an object with a repeated
/// key (EventSchemas/README.md rejects those).
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON number as written (`-12.50e3`), with its numeric value on demand.
public struct JSONNumber: Sendable, CustomStringConvertible {
    /// The number's lexeme, valid per RFC 8259 (the parser checked it).
    public let text: String

    public init(text: String) { self.text = text }

    public init(_ value: Int) { self.text = String(value) }

    public init(_ value: Double) {
        precondition(value.isFinite, "JSON has no NaN or Infinity")
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            self.text = String(Int64(value))
        } else {
            self.text = "\(value)"
        }
    }

    /// The value as a `Double` (may round for very long mantissas).
    public var double: Double { Double(text) ?? .nan }

    /// The value as an `Int64` when it is mathematically an integer in range
    /// (`3`, `3.0`, `3e0`), else nil.
    public var int64: Int64? {
        if let exact = Int64(text) { return exact }
        let d = double
        guard d.isFinite, d == d.rounded(.towardZero), abs(d) < 9.0e15 else { return nil }
        return Int64(d)
    }

    /// True when the value is mathematically an integer (`3`, `3.0`, `1e2`).
    public var isInteger: Bool {
        if Int64(text) != nil { return true }
        let d = double
        return d.isFinite && d == d.rounded(.towardZero)
    }

    public var description: String { text }
}

extension JSONNumber: Equatable, Hashable {
    /// Numbers compare by value, as JSON Schema's `const`, `enum` and
    /// `uniqueItems` require (`1` equals `1.0`).
    public static func == (a: JSONNumber, b: JSONNumber) -> Bool {
        if a.text == b.text { return true }
        if let x = Int64(a.text), let y = Int64(b.text) { return x == y }
        return a.double == b.double
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(double)
    }
}

/// A JSON object: members in written order, keys unique.
public struct JSONObject: Sendable {
    public var members: [(key: String, value: JSONValue)]

    public init(_ members: [(key: String, value: JSONValue)] = []) {
        self.members = members
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    /// Looks a member up by key. Event objects have a handful of keys, where a
    /// linear scan beats hashing.
    public subscript(key: String) -> JSONValue? {
        get {
            for member in members where member.key == key { return member.value }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key: key, value: newValue))
            }
        }
    }
}

extension JSONObject: Equatable, Hashable {
    /// Objects compare as JSON objects: same keys, equal values, any order.
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        guard a.members.count == b.members.count else { return false }
        for member in a.members {
            guard let other = b[member.key], other == member.value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: combine per-member hashes commutatively.
        var sum = 0
        for member in members {
            var h = Hasher()
            h.combine(member.key)
            h.combine(member.value)
            sum = sum &+ h.finalize()
        }
        hasher.combine(members.count)
        hasher.combine(sum)
    }
}

extension JSONValue: Equatable, Hashable {}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
}

extension JSONValue {
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var numberValue: JSONNumber? { if case .number(let n) = self { return n } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// The JSON type name used in error messages and by JSON Schema's `type`.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let n): return n.isInteger ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

// MARK: - Compact serialization

extension JSONValue {
    /// Appends the compact JSON text of this value (no insignificant
    /// whitespace, members in stored order, numbers as written).
    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: JSONValue.appendStatic("null", to: &out)
        case .bool(let b): JSONValue.appendStatic(b ? "true" : "false", to: &out)
        case .number(let n): out.append(contentsOf: n.text.utf8)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The compact JSON text of this value as bytes.
    public var compactBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(into: &out)
        return out
    }

    /// The compact JSON text of this value.
    public var compactString: String { String(decoding: compactBytes, as: UTF8.self) }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Writes `s` as a JSON string: quotes, backslash and control characters
    /// escaped; everything else (including non-ASCII) as UTF-8. Runs that
    /// need no escaping are copied whole.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { writeEscaped($0, into: &out) }
        if done == nil {
            Array(s.utf8).withUnsafeBufferPointer { writeEscaped($0, into: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func writeEscaped(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        var runStart = 0
        var i = 0
        while i < count {
            // Skip 8 bytes at a time while none needs escaping.
            if i &+ 8 <= count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
                let marks = escapeByteMarks(word)
                if marks == 0 { i &+= 8; continue }
                i &+= marks.trailingZeroBitCount >> 3
            }
            let byte = base[i]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else {
                i &+= 1
                continue
            }
            if i > runStart { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - runStart)) }
            appendEscape(byte, into: &out)
            i &+= 1
            runStart = i
        }
        if count > runStart {
            out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: count - runStart))
        }
    }

    private static func appendEscape(_ byte: UInt8, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        default:
            out.append(UInt8(ascii: "u"))
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "0"))
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0xF)])
        }
    }

    /// Marks (0x80) the bytes of `word` that JSON requires escaped: '"', '\\'
    /// and controls. The lowest mark is exact (see `stringSpecialByteMarks`
    /// in JSONParser.swift for the technique); non-ASCII bytes are not marked.
    @inline(__always) private static func escapeByteMarks(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let zeroQuote = (quotes &- ones) & ~quotes
        let zeroBackslash = (backslashes &- ones) & ~backslashes
        let belowSpace = (word &- ones &* 0x20) & ~word
        return (zeroQuote | zeroBackslash | belowSpace) & 0x8080_8080_8080_8080
    }

    /// Appends a literal's bytes (no String round trip).
    @inline(__always) static func appendStatic(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
