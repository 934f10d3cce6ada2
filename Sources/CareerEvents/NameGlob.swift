/// A glob over names such as event types and sources: `*` matches any run
/// of bytes (dots included, so `application.*` matches `application.sent`
/// and `*` matches everything) and `?` exactly one byte; everything else
/// matches itself. No character classes or escapes: type and source names
/// never need them. One matcher for `replay --type` and the producers
/// file's permissions, so the two can never disagree.
public struct NameGlob: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let bytes: [UInt8]
    /// True when the pattern has `*` or `?`, so it may match several names.
    public let isGlob: Bool

    /// Nil for an empty pattern (it would match nothing; callers say so in
    /// their own words).
    public init?(_ pattern: String) {
        guard !pattern.isEmpty else { return nil }
        self.pattern = pattern
        self.bytes = Array(pattern.utf8)
        self.isGlob = bytes.contains(UInt8(ascii: "*")) || bytes.contains(UInt8(ascii: "?"))
    }

    public var description: String { pattern }

    public func matches(_ name: String) -> Bool {
        if !isGlob { return name == pattern }
        var name = name
        return name.withUTF8 { Self.match(bytes, $0) }
    }

    /// Iterative wildcard matching with one backtrack point (the last `*`):
    /// linear in practice, never exponential, whatever the pattern.
    private static func match(_ pattern: [UInt8], _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        let star = UInt8(ascii: "*"), any = UInt8(ascii: "?")
        var p = 0, t = 0
        var starP = -1, starT = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == any || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == star {
                starP = p
                starT = t
                p += 1
            } else if starP >= 0 {
                // Let the last `*` swallow one more byte and retry.
                p = starP + 1
                starT += 1
                t = starT
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == star { p += 1 }
        return p == pattern.count
    }
}
