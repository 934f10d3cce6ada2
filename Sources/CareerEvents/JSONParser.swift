/// A strict RFC 8259 parser over UTF-8 bytes, built for the ingest hot path.
///
/// What it accepts is exactly RFC 8259's grammar, with these decisions where
/// the RFC leaves room (the `i_*` cases of JSONTestSuite):
///
/// - input must be valid UTF-8 (Unicode Table 3-7: no overlongs, no encoded
///   surrogates, nothing above U+10FFFF); a leading byte order mark is rejected;
/// - a `\u` escape of a surrogate must form a pair (high then low); a lone
///   surrogate cannot become a Swift `String`, so it is rejected rather than
///   silently replaced;
/// - numbers of any size are accepted and kept as written (`JSONNumber.text`),
///   so `1e400` is valid JSON that some later check may find out of range;
/// - an object that repeats a key is rejected (EventSchemas/README.md: parsers
///   disagree on which value wins), although RFC 8259 only says keys SHOULD
///   be unique (so JSONTestSuite's two `y_object_duplicated_key*` cases are
///   the only `y_` files rejected). Keys compare as Swift `String`s, that is
///   by canonical equivalence, the same comparison `JSONObject`'s subscript
///   uses, so a lookup can never be ambiguous;
/// - nesting deeper than `JSONParseLimits.depthMax` is rejected before it can
///   use more stack (the parser recurses once per level).
///
/// Speed: the parser reads bytes through a raw pointer, scans string content
/// 8 bytes at a time, makes a `String` once per string token (directly from
/// the input bytes when the token has no escapes), validates UTF-8 only for
/// bytes >= 0x80, and finds duplicate short ASCII keys without comparing
/// `String`s. About 1.7 us per 500-byte event on the project machine.
public enum JSONParser {
    /// Parses one JSON text that must fill `bytes` (surrounding whitespace
    /// allowed, nothing else).
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, limits: JSONParseLimits = .init()
    ) throws(JSONParseError) -> JSONValue {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONParseError(offset: 0, reason: "empty input, expected a JSON value")
        }
        var reader = JSONReader(
            base: base.assumingMemoryBound(to: UInt8.self),
            end: bytes.count,
            depthMax: min(max(limits.depthMax, 0), JSONParseLimits.depthCeiling)
        )
        return try reader.parseDocument()
    }

    /// Parses one JSON text held in a byte array.
    public static func parse(
        _ bytes: [UInt8], limits: JSONParseLimits = .init()
    ) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) in try parse(raw, limits: limits) }
        }
        return try result.get()
    }

    /// Parses one JSON text held in a string (its UTF-8 bytes).
    public static func parse(
        _ text: String, limits: JSONParseLimits = .init()
    ) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { utf8 in
            Result { () throws(JSONParseError) in
                try parse(UnsafeRawBufferPointer(utf8), limits: limits)
            }
        }
        return try result.get()
    }
}

/// The limits one parse enforces.
public struct JSONParseLimits: Sendable {
    /// Deepest nesting of arrays and objects accepted (`[]` is depth 1). The
    /// deepest catalog event nests 4 levels (event, `data`, `tasks`, a task);
    /// 64 leaves ample room while bounding stack use.
    public var depthMax: Int

    /// The most `depthMax` may be. The parser recurses once per level and a
    /// nested `JSONValue` is also destroyed recursively; measured on Linux,
    /// a level costs about 0.5 KiB of stack in a release build and 3 KiB in a
    /// debug build, so 128 levels fit a 512 KiB thread stack (Darwin's
    /// secondary-thread default, the smallest the server may run on) in both.
    /// `init` traps beyond it (a programming error); a larger value stored
    /// in `depthMax` directly is clamped to it.
    public static let depthCeiling = 128

    public init(depthMax: Int = 64) {
        precondition(depthMax >= 1 && depthMax <= Self.depthCeiling,
                     "depthMax must be in 1...\(Self.depthCeiling)")
        self.depthMax = depthMax
    }
}

/// Why a JSON text was rejected, and where.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    /// Byte offset into the input where the problem was found.
    public var offset: Int
    /// What is wrong, in words ("unterminated string").
    public var reason: String
    /// True when the text broke a limit (`depthMax`) rather than the grammar,
    /// so callers can report it as "too large" instead of "malformed".
    public var exceedsLimit: Bool

    public init(offset: Int, reason: String, exceedsLimit: Bool = false) {
        self.offset = offset
        self.reason = reason
        self.exceedsLimit = exceedsLimit
    }

    /// "at byte 17: unterminated string"
    public var description: String { "at byte \(offset): \(reason)" }
}

// MARK: - The reader

private enum Byte {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let lowerE = UInt8(ascii: "e")
    static let upperE = UInt8(ascii: "E")
}

/// Objects with up to this many members find duplicate keys by a linear scan
/// (cheaper than hashing for the handful of keys an event object has); larger
/// ones switch to a `Set`, so a hostile object cannot make the check quadratic.
private let duplicateScanMembersMax = 16

/// A key's bytes packed for a cheap duplicate test. For a key written as
/// 1...16 plain ASCII bytes (no escapes), `head`, `tail` and `count` hold the
/// whole key, so two such prints are equal exactly when the keys are: ASCII
/// strings are canonically equivalent only when identical. Any other key gets
/// `count` -1 and is compared as a `String`.
private struct KeyPrint: Equatable {
    var head: UInt64 = 0
    var tail: UInt64 = 0
    var count = -1

    var isExact: Bool { count >= 0 }

    init(token: UnsafePointer<UInt8>, rawCount: Int, end: UnsafePointer<UInt8>, decodedCount: Int) {
        // Every escape is longer than what it stands for, so equal counts
        // mean the token has none.
        guard rawCount == decodedCount, rawCount >= 1, rawCount <= 16 else { return }
        head = Self.load(token, count: min(rawCount, 8), end: end)
        if rawCount > 8 { tail = Self.load(token + 8, count: rawCount - 8, end: end) }
        guard (head | tail) & 0x8080_8080_8080_8080 == 0 else { return }
        count = rawCount
    }

    /// `count` (1...8) bytes at `start` as a little-endian word, zero above.
    @inline(__always) static func load(_ start: UnsafePointer<UInt8>, count: Int, end: UnsafePointer<UInt8>) -> UInt64 {
        if end - start >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(start).loadUnaligned(as: UInt64.self))
            return count == 8 ? word : word & (1 << (UInt64(count) * 8) - 1)
        }
        var word: UInt64 = 0
        for k in 0..<count { word |= UInt64(start[k]) << (UInt64(k) * 8) }
        return word
    }
}

/// First allocation for a non-empty object or array: catalog objects have up
/// to about eight members, so most need a single allocation instead of a
/// series of regrowths.
private let objectCapacityFirst = 8
private let arrayCapacityFirst = 4
/// Keys of all open objects together: an event's envelope plus its nested
/// `data` objects fit, so one allocation per parse.
private let keyPrintsCapacityFirst = 32

/// Cursor over the input. Every read is bounds-checked against `end` by the
/// code, so the raw pointer never reads outside the caller's buffer.
private struct JSONReader {
    let base: UnsafePointer<UInt8>
    let end: Int
    let depthMax: Int
    var pos = 0
    var depth = 0
    /// Reused buffer for strings that contain escapes.
    var scratch: [UInt8] = []
    /// Fingerprints of the keys of the objects being parsed, innermost last
    /// (each object pops its own when it ends).
    var keyPrints: [KeyPrint] = []

    init(base: UnsafePointer<UInt8>, end: Int, depthMax: Int) {
        self.base = base
        self.end = end
        self.depthMax = depthMax
        keyPrints.reserveCapacity(keyPrintsCapacityFirst)
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if end >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF {
            throw JSONParseError(offset: 0, reason: "byte order mark is not allowed")
        }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if pos < end {
            throw fail("unexpected \(describe(pos)) after the JSON value")
        }
        return value
    }

    // MARK: Values

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard pos < end else { throw fail("unexpected end of input, expected a value") }
        switch base[pos] {
        case Byte.quote: return .string(try parseString())
        case Byte.openBrace: return try parseObject()
        case Byte.openBracket: return try parseArray()
        case Byte.minus, Byte.zero...Byte.nine: return try parseNumber()
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw fail("NaN and Infinity are not JSON")
        default:
            throw fail("unexpected \(describe(pos)), expected a value")
        }
    }

    mutating func expectLiteral(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        let expected = word.utf8Start
        for k in 0..<count where pos + k >= end || base[pos + k] != expected[k] {
            throw JSONParseError(offset: pos + k, reason: "invalid literal, expected \(word)")
        }
        pos += count
    }

    mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        if depth > depthMax {
            throw JSONParseError(
                offset: pos, reason: "nesting deeper than \(depthMax) levels", exceedsLimit: true)
        }
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        pos += 1  // '['
        var items: [JSONValue] = []
        skipWhitespace()
        if pos < end, base[pos] == Byte.closeBracket {
            pos += 1
            depth -= 1
            return .array(items)
        }
        items.reserveCapacity(arrayCapacityFirst)
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard pos < end else { throw fail("unterminated array, expected ',' or ']'") }
            let b = base[pos]
            pos += 1
            if b == Byte.comma { continue }
            if b == Byte.closeBracket { break }
            pos -= 1
            throw fail("unexpected \(describe(pos)) in array, expected ',' or ']'")
        }
        depth -= 1
        return .array(items)
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        pos += 1  // '{'
        var members: [(key: String, value: JSONValue)] = []
        var seenKeys: Set<String>? = nil
        skipWhitespace()
        if pos < end, base[pos] == Byte.closeBrace {
            pos += 1
            depth -= 1
            return .object(JSONObject(members))
        }
        members.reserveCapacity(objectCapacityFirst)
        let printsBase = keyPrints.count
        defer { keyPrints.removeSubrange(printsBase...) }
        while true {
            skipWhitespace()
            guard pos < end, base[pos] == Byte.quote else {
                throw fail("unexpected \(describe(pos)) in object, expected a string key")
            }
            let keyOffset = pos
            let key = try parseString()
            try checkUnique(key, at: keyOffset, in: members, printsFrom: printsBase, seen: &seenKeys)
            skipWhitespace()
            guard pos < end, base[pos] == Byte.colon else {
                throw fail("unexpected \(describe(pos)) after object key, expected ':'")
            }
            pos += 1
            skipWhitespace()
            let value = try parseValue()
            members.append((key: key, value: value))
            skipWhitespace()
            guard pos < end else { throw fail("unterminated object, expected ',' or '}'") }
            let b = base[pos]
            pos += 1
            if b == Byte.comma { continue }
            if b == Byte.closeBrace { break }
            pos -= 1
            throw fail("unexpected \(describe(pos)) in object, expected ',' or '}'")
        }
        depth -= 1
        return .object(JSONObject(members))
    }

    /// Rejects `key` (just parsed, at `offset`) when the object already has
    /// it. Plain ASCII keys of up to 16 bytes compare by their `KeyPrint`
    /// (exact for them, and no call into String comparison); other keys
    /// compare as `String`s. Past `duplicateScanMembersMax` members a `Set`
    /// takes over.
    mutating func checkUnique(
        _ key: String, at offset: Int,
        in members: [(key: String, value: JSONValue)], printsFrom printsBase: Int, seen: inout Set<String>?
    ) throws(JSONParseError) {
        let print = KeyPrint(token: base + offset + 1, rawCount: pos - offset - 2, end: base + end,
                             decodedCount: key.utf8.count)
        keyPrints.append(print)
        if seen != nil {
            if seen!.insert(key).inserted { return }
        } else {
            var repeated = false
            for index in members.indices {
                let other = keyPrints[printsBase + index]
                if print.isExact && other.isExact ? print == other : members[index].key == key {
                    repeated = true
                    break
                }
            }
            if !repeated {
                if members.count >= duplicateScanMembersMax {
                    var set = Set(members.lazy.map(\.key))
                    set.insert(key)
                    seen = set
                }
                return
            }
        }
        throw JSONParseError(offset: offset, reason: "duplicate key \(quotedForMessage(key))")
    }

    // MARK: Numbers

    /// number = [ minus ] int [ frac ] [ exp ]; kept as its lexeme. What may
    /// follow it is the container's business (`01` fails there, at the `1`).
    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = pos
        if base[pos] == Byte.minus { pos += 1 }
        guard pos < end, isDigit(base[pos]) else {
            if pos < end, base[pos] == UInt8(ascii: "I") { throw fail("NaN and Infinity are not JSON") }
            throw fail("expected a digit in number")
        }
        if base[pos] == Byte.zero {
            pos += 1
        } else {
            skipDigits()
        }
        if pos < end, base[pos] == Byte.dot {
            pos += 1
            guard pos < end, isDigit(base[pos]) else { throw fail("expected a digit after '.' in number") }
            skipDigits()
        }
        if pos < end, base[pos] == Byte.lowerE || base[pos] == Byte.upperE {
            pos += 1
            if pos < end, base[pos] == Byte.plus || base[pos] == Byte.minus { pos += 1 }
            guard pos < end, isDigit(base[pos]) else { throw fail("expected a digit in number exponent") }
            skipDigits()
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: pos - start), as: UTF8.self)
        return .number(JSONNumber(text: text))
    }

    @inline(__always) func isDigit(_ b: UInt8) -> Bool { b &- Byte.zero < 10 }

    @inline(__always) mutating func skipDigits() {
        while pos < end, isDigit(base[pos]) { pos += 1 }
    }

    // MARK: Strings

    /// Parses the string token at `pos` (which is at its opening quote).
    mutating func parseString() throws(JSONParseError) -> String {
        let open = pos
        let start = pos + 1
        var i = start
        while true {
            i = skipPlainStringBytes(from: i)
            guard i < end else { break }
            let b = base[i]
            if b == Byte.quote {
                pos = i + 1
                return String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
            }
            if b == Byte.backslash {
                return try parseEscapedString(open: open, contentStart: start, firstEscape: i)
            }
            if b < 0x20 {
                throw JSONParseError(offset: i, reason: "unescaped control character \(hexByte(b)) in string")
            }
            i = b < 0x80 ? i + 1 : try skipUTF8Sequence(at: i)
        }
        throw JSONParseError(offset: open, reason: "unterminated string")
    }

    /// The slow path: the string has escapes, so its text is assembled in
    /// `scratch` (unescaped runs are copied as whole ranges).
    mutating func parseEscapedString(open: Int, contentStart: Int, firstEscape: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        var runStart = contentStart
        var i = firstEscape
        while true {
            i = skipPlainStringBytes(from: i)
            guard i < end else { break }
            let b = base[i]
            if b == Byte.quote {
                appendRun(from: runStart, to: i)
                pos = i + 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if b == Byte.backslash {
                appendRun(from: runStart, to: i)
                i = try appendEscape(at: i)
                runStart = i
                continue
            }
            if b < 0x20 {
                throw JSONParseError(offset: i, reason: "unescaped control character \(hexByte(b)) in string")
            }
            i = b < 0x80 ? i + 1 : try skipUTF8Sequence(at: i)
        }
        throw JSONParseError(offset: open, reason: "unterminated string")
    }

    /// Skips 8 bytes at a time while none of them is special in a string
    /// (quote, backslash, control, non-ASCII); returns where the byte-wise
    /// loop must look next. Most string content is plain ASCII.
    @inline(__always) func skipPlainStringBytes(from start: Int) -> Int {
        var i = start
        while i &+ 8 <= end {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
            let marks = stringSpecialByteMarks(word)
            if marks != 0 { return i &+ marks.trailingZeroBitCount >> 3 }
            i &+= 8
        }
        return i
    }

    @inline(__always) mutating func appendRun(from start: Int, to stop: Int) {
        if stop > start {
            scratch.append(contentsOf: UnsafeBufferPointer(start: base + start, count: stop - start))
        }
    }

    /// Decodes the escape at `at` (a backslash) into `scratch`; returns the
    /// index after it.
    mutating func appendEscape(at escape: Int) throws(JSONParseError) -> Int {
        guard escape + 1 < end else { throw JSONParseError(offset: escape, reason: "unterminated string") }
        let simple: UInt8
        switch base[escape + 1] {
        case Byte.quote: simple = Byte.quote
        case Byte.backslash: simple = Byte.backslash
        case Byte.slash: simple = Byte.slash
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): return try appendUnicodeEscape(at: escape)
        default:
            throw JSONParseError(offset: escape, reason: "invalid escape \\\(printable(escape + 1)) in string")
        }
        scratch.append(simple)
        return escape + 2
    }

    /// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`; lone surrogates are errors.
    mutating func appendUnicodeEscape(at escape: Int) throws(JSONParseError) -> Int {
        let unit = try hex4(at: escape + 2, escape: escape)
        var scalar = UInt32(unit)
        var next = escape + 6
        if unit >= 0xD800 && unit <= 0xDBFF {
            guard next + 1 < end, base[next] == Byte.backslash, base[next + 1] == UInt8(ascii: "u") else {
                throw JSONParseError(offset: escape, reason: "lone high surrogate \\u\(hex16(unit)) in string")
            }
            let low = try hex4(at: next + 2, escape: next)
            guard low >= 0xDC00 && low <= 0xDFFF else {
                throw JSONParseError(offset: escape, reason: "lone high surrogate \\u\(hex16(unit)) in string")
            }
            scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            next += 6
        } else if unit >= 0xDC00 && unit <= 0xDFFF {
            throw JSONParseError(offset: escape, reason: "lone low surrogate \\u\(hex16(unit)) in string")
        }
        appendUTF8(scalar)
        return next
    }

    func hex4(at start: Int, escape: Int) throws(JSONParseError) -> UInt16 {
        guard start + 4 <= end else {
            throw JSONParseError(offset: escape, reason: "incomplete \\u escape in string")
        }
        var value: UInt16 = 0
        for k in 0..<4 {
            let digit = hexDigitValue(base[start + k])
            guard digit < 16 else {
                throw JSONParseError(offset: escape, reason: "invalid \\u escape in string, expected 4 hex digits")
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Checks the multi-byte UTF-8 sequence starting at `i` (its lead byte is
    /// >= 0x80) against Unicode Table 3-7; returns the index after it.
    func skipUTF8Sequence(at i: Int) throws(JSONParseError) -> Int {
        @inline(__always) func continuation(_ j: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            j < end && base[j] >= low && base[j] <= high
        }
        let ok: Bool
        let length: Int
        switch base[i] {
        case 0xC2...0xDF: length = 2; ok = continuation(i + 1)
        case 0xE0: length = 3; ok = continuation(i + 1, 0xA0) && continuation(i + 2)
        case 0xE1...0xEC, 0xEE...0xEF: length = 3; ok = continuation(i + 1) && continuation(i + 2)
        case 0xED: length = 3; ok = continuation(i + 1, 0x80, 0x9F) && continuation(i + 2)
        case 0xF0: length = 4; ok = continuation(i + 1, 0x90) && continuation(i + 2) && continuation(i + 3)
        case 0xF1...0xF3: length = 4; ok = continuation(i + 1) && continuation(i + 2) && continuation(i + 3)
        case 0xF4: length = 4; ok = continuation(i + 1, 0x80, 0x8F) && continuation(i + 2) && continuation(i + 3)
        default: length = 0; ok = false
        }
        guard ok else { throw JSONParseError(offset: i, reason: "invalid UTF-8 in string") }
        return i + length
    }

    // MARK: Helpers

    @inline(__always) mutating func skipWhitespace() {
        while pos < end {
            switch base[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    func fail(_ reason: String) -> JSONParseError {
        JSONParseError(offset: pos, reason: reason)
    }

    /// "end of input", "'x'" or "byte 0xFF", for messages.
    func describe(_ i: Int) -> String {
        guard i < end else { return "end of input" }
        return base[i] >= 0x21 && base[i] < 0x7F ? "'\(printable(i))'" : "byte \(hexByte(base[i]))"
    }

    func printable(_ i: Int) -> String {
        guard i < end else { return "" }
        let b = base[i]
        return b >= 0x21 && b < 0x7F ? String(UnicodeScalar(b)) : hexByte(b)
    }
}

/// Marks (0x80) the bytes of `word` (little-endian: first byte lowest) that
/// are '"', '\\', below 0x20 or above 0x7F. SWAR ("bit twiddling hacks"
/// haszero/hasless): `(v - 0x01) & ~v & 0x80` marks a zero byte `v`; a
/// borrow can add false marks only above a real one, so the lowest mark is
/// exactly the first special byte.
@inline(__always) func stringSpecialByteMarks(_ word: UInt64) -> UInt64 {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let quotes = word ^ (ones &* 0x22)
    let backslashes = word ^ (ones &* 0x5C)
    let zeroQuote = (quotes &- ones) & ~quotes
    let zeroBackslash = (backslashes &- ones) & ~backslashes
    let belowSpace = (word &- ones &* 0x20) & ~word
    return (zeroQuote | zeroBackslash | belowSpace | word) & highs
}

@inline(__always) func hexDigitValue(_ c: UInt8) -> UInt8 {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
    default: return 0xFF
    }
}

private func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    return "0x" + String(decoding: [digits[Int(b >> 4)], digits[Int(b & 0xF)]], as: UTF8.self)
}

private func hex16(_ v: UInt16) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: 4 - s.count) + s
}

/// A key as it appears in an error message: JSON-quoted (so control
/// characters cannot reach a log line raw) and cut to a readable length.
func quotedForMessage(_ text: String, bytesMax: Int = 64) -> String {
    var out: [UInt8] = []
    if text.utf8.count <= bytesMax {
        JSONValue.writeString(text, into: &out)
    } else {
        JSONValue.writeString(String(decoding: text.utf8.prefix(bytesMax), as: UTF8.self), into: &out)
        out.append(contentsOf: "...".utf8)
    }
    return String(decoding: out, as: UTF8.self)
}
