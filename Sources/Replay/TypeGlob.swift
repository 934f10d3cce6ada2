/// A `--type` pattern: an event type name where `*` matches any run of
/// characters (dots included, so `application.*` matches `application.sent`
/// and `*` matches everything) and `?` matches exactly one character.
/// Everything else matches itself; there are no character classes or
/// escapes, because type names are `[a-z0-9_.]` and never need them.
public struct TypeGlob: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let bytes: [UInt8]

    public init(_ pattern: String) throws(ReplayError) {
        guard !pattern.isEmpty else {
            throw ReplayError(.invalidArgument, "--type: an empty pattern matches no event type; give a type such as application.sent or a glob such as application.*")
        }
        self.pattern = pattern
        self.bytes = Array(pattern.utf8)
    }

    /// True when the pattern has `*` or `?`, so it may match several types.
    public var isGlob: Bool { bytes.contains(UInt8(ascii: "*")) || bytes.contains(UInt8(ascii: "?")) }

    public var description: String { pattern }

    public func matches(_ name: String) -> Bool {
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
                // Let the last `*` swallow one more character and retry.
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

/// Decides whether an event type passes the `--type` patterns, remembering
/// the verdict per name: a log repeats a few dozen names millions of times.
final class TypeMatcher {
    private let globs: [TypeGlob]
    private var verdicts: [String: Bool] = [:]

    init(_ globs: [TypeGlob]) {
        self.globs = globs
    }

    func matches(_ type: String) -> Bool {
        if globs.isEmpty { return true }
        if let verdict = verdicts[type] { return verdict }
        let verdict = globs.contains { $0.matches(type) }
        if verdicts.count < ReplayLimits.typeCacheEntriesMax { verdicts[type] = verdict }
        return verdict
    }
}
