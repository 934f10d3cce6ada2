/// A pattern of the producers file: an event `type` or a `source` value in
/// which `*` matches any run of characters (dots included, so
/// `application.*` matches `application.sent` and `*` matches everything)
/// and `?` matches exactly one byte. Everything else matches itself.
///
/// The same semantics as `replay --type` (Replay's `TypeGlob`), written
/// again here because Ingest must not depend on Replay; the two should move
/// into CareerEvents as one type.
public struct ProducerPattern: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let bytes: [UInt8]
    /// No `*` or `?`: compared as a whole, without the matcher.
    private let isLiteral: Bool

    /// `pattern` must not be empty (the producers file loader says so with
    /// the path of the entry).
    public init(_ pattern: String) {
        precondition(!pattern.isEmpty, "an empty pattern matches nothing; the loader rejects it")
        self.pattern = pattern
        self.bytes = Array(pattern.utf8)
        self.isLiteral = !bytes.contains(UInt8(ascii: "*")) && !bytes.contains(UInt8(ascii: "?"))
    }

    public var description: String { pattern }

    public func matches(_ name: String) -> Bool {
        if isLiteral { return name == pattern }
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
