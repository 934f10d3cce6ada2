import CareerEvents

/// A `--type` pattern: an event type name with CareerEvents' `NameGlob`
/// semantics (`*` any run of characters, dots included; `?` one).
public struct TypeGlob: Sendable, Hashable, CustomStringConvertible {
    private let glob: NameGlob

    public init(_ pattern: String) throws(ReplayError) {
        guard let glob = NameGlob(pattern) else {
            throw ReplayError(.invalidArgument, "--type: an empty pattern matches no event type; give a type such as application.sent or a glob such as application.*")
        }
        self.glob = glob
    }

    public var pattern: String { glob.pattern }
    /// True when the pattern has `*` or `?`, so it may match several types.
    public var isGlob: Bool { glob.isGlob }
    public var description: String { glob.pattern }
    public func matches(_ name: String) -> Bool { glob.matches(name) }
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
