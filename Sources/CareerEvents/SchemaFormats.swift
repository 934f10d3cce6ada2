/// The `format` values a schema may assert, checked the way the catalog's
/// "common value rules" say: UUIDs canonical 8-4-4-4-12, timestamps strict
/// RFC 3339, dates real calendar days, emails an RFC 5322 addr-spec.
///
/// Formats are assertions here (JSON Schema 2020-12 makes that optional; the
/// catalog needs it). UUID and time parsing are shared with the envelope, so a
/// value the validator accepts is one the rest of the backend can read.
enum SchemaFormat: String, Sendable, CaseIterable {
    case uuid
    case dateTime = "date-time"
    case date
    case email

    /// Whether `text` is a valid value of this format.
    func accepts(_ text: String) -> Bool {
        switch self {
        case .uuid:
            return withUTF8(text) { UUIDText.parse(bytes: $0) != nil }
        // Year 0000 is valid RFC 3339 but has no counterpart in PostgreSQL
        // (the read models' dates), which would stop every projection.
        case .dateTime:
            return !text.hasPrefix("0000") && withUTF8(text) { Timestamp(rfc3339Bytes: $0) != nil }
        case .date:
            return !text.hasPrefix("0000") && withUTF8(text) { CalendarDate(isoBytes: $0) != nil }
        case .email:
            return withUTF8(text) { EmailAddress.isValid($0) }
        }
    }

    /// The rule in words, for error messages ("must be a uuid (8-4-4-4-12 hex)").
    var requirement: String {
        switch self {
        case .uuid: return "must be a UUID (8-4-4-4-12 hex digits)"
        case .dateTime: return "must be an RFC 3339 date-time with offset, year 0001 to 9999"
        case .date: return "must be a date YYYY-MM-DD, year 0001 to 9999"
        case .email: return "must be an email address"
        }
    }
}

/// Runs `body` over the UTF-8 bytes of `text` without copying native strings.
@inline(__always)
func withUTF8<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let r = text.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return r }
    var copy = text
    return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
}

/// RFC 5322 `addr-spec`, the practical subset mail systems deliver to:
///
///     local-part "@" domain
///     local-part = dot-atom / quoted-string      (no comments, no folding)
///     domain     = hostname / "[" IPv4 "]" / "[IPv6:" IPv6 "]"
///
/// ASCII only (internationalized addresses are the `idn-email` format), local
/// part at most 64 bytes, whole address at most 254 (RFC 5321 limits), host
/// labels 1-63 letters, digits and inner hyphens.
enum EmailAddress {
    static let localBytesMax = 64
    static let addressBytesMax = 254
    static let labelBytesMax = 63

    static func isValid(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 3, b.count <= addressBytesMax else { return false }
        var i = 0
        if b[0] == UInt8(ascii: "\"") {
            // quoted-string: qtext or quoted-pair, printable ASCII and space.
            i = 1
            var closed = false
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\\") {
                    guard i + 1 < b.count, b[i + 1] >= 0x20, b[i + 1] < 0x7F else { return false }
                    i += 2
                } else if c == UInt8(ascii: "\"") {
                    i += 1
                    closed = true
                    break
                } else {
                    guard c >= 0x20, c < 0x7F else { return false }
                    i += 1
                }
            }
            guard closed else { return false }
        } else {
            // dot-atom: atext runs separated by single dots.
            var previousWasDot = true
            while i < b.count, b[i] != UInt8(ascii: "@") {
                let c = b[i]
                if c == UInt8(ascii: ".") {
                    guard !previousWasDot else { return false }
                    previousWasDot = true
                } else {
                    guard isAtext(c) else { return false }
                    previousWasDot = false
                }
                i += 1
            }
            guard !previousWasDot else { return false }  // empty, or ends with '.'
        }
        guard i <= localBytesMax + (b[0] == UInt8(ascii: "\"") ? 2 : 0),
              i < b.count, b[i] == UInt8(ascii: "@")
        else { return false }
        return isDomain(UnsafeRawBufferPointer(rebasing: b[(i + 1)...]))
    }

    private static func isAtext(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-/=?^_`{|}~".utf8.contains(c)
        }
    }

    private static func isDomain(_ d: UnsafeRawBufferPointer) -> Bool {
        guard !d.isEmpty else { return false }
        if d[0] == UInt8(ascii: "[") {
            guard d.count >= 3, d[d.count - 1] == UInt8(ascii: "]") else { return false }
            let inner = UnsafeRawBufferPointer(rebasing: d[1..<(d.count - 1)])
            let tag = "IPv6:".utf8
            if inner.count > tag.count, inner.prefix(tag.count).elementsEqual(tag) {
                return IPAddress.isIPv6(UnsafeRawBufferPointer(rebasing: inner[tag.count...]))
            }
            return IPAddress.isIPv4(inner)
        }
        // Hostname: labels of letters, digits and inner hyphens.
        var labelLength = 0
        var previous: UInt8 = UInt8(ascii: ".")
        for c in d {
            if c == UInt8(ascii: ".") {
                guard labelLength > 0, previous != UInt8(ascii: "-") else { return false }
                labelLength = 0
            } else {
                let alnum = (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
                    || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                    || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                guard alnum || (c == UInt8(ascii: "-") && labelLength > 0) else { return false }
                labelLength += 1
                guard labelLength <= labelBytesMax else { return false }
            }
            previous = c
        }
        return labelLength > 0 && previous != UInt8(ascii: "-")
    }
}

/// Textual IP addresses, for email domain literals.
enum IPAddress {
    /// Dotted quad, each part 0-255 in decimal without leading zeros.
    static func isIPv4(_ b: UnsafeRawBufferPointer) -> Bool {
        var parts = 0
        var value = 0
        var digits = 0
        for (n, c) in b.enumerated() {
            if c == UInt8(ascii: ".") {
                guard digits > 0, n != b.count - 1 else { return false }
                parts += 1
                value = 0
                digits = 0
            } else {
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return false }
                if digits == 1 && value == 0 { return false }  // leading zero
                value = value * 10 + Int(c - UInt8(ascii: "0"))
                digits += 1
                guard value <= 255 else { return false }
            }
        }
        return digits > 0 && parts == 3
    }

    /// RFC 4291 section 2.2 text forms: eight groups of 1-4 hex digits, one
    /// "::" for a run of zero groups, optionally ending with a dotted quad.
    static func isIPv6(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 2, b.count <= 45 else { return false }
        var groups = 0
        var sawDoubleColon = false
        var i = 0
        if b[0] == UInt8(ascii: ":") {
            guard b[1] == UInt8(ascii: ":") else { return false }
            sawDoubleColon = true
            i = 2
            if i == b.count { return true }
        }
        while i < b.count {
            // One group, or a trailing IPv4 part.
            var j = i
            while j < b.count, hexDigit(b[j]) { j += 1 }
            if j < b.count, b[j] == UInt8(ascii: ".") {
                guard isIPv4(UnsafeRawBufferPointer(rebasing: b[i...])) else { return false }
                groups += 2
                i = b.count
                break
            }
            guard j > i, j - i <= 4 else { return false }
            groups += 1
            i = j
            if i == b.count { break }
            guard b[i] == UInt8(ascii: ":") else { return false }
            i += 1
            if i < b.count, b[i] == UInt8(ascii: ":") {
                guard !sawDoubleColon else { return false }
                sawDoubleColon = true
                i += 1
                if i == b.count { break }
            } else if i == b.count {
                return false  // ends with a single ':'
            }
        }
        return sawDoubleColon ? groups <= 7 : groups == 8
    }

    private static func hexDigit(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
            || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
            || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F"))
    }
}
