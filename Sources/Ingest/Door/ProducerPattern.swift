import CareerEvents

/// A pattern of the producers file: an event `type` or a `source` value,
/// with the glob semantics of `replay --type` (CareerEvents' `NameGlob`).
public struct ProducerPattern: Sendable, Hashable, CustomStringConvertible {
    private let glob: NameGlob

    /// `pattern` must not be empty (the producers file loader says so with
    /// the path of the entry).
    public init(_ pattern: String) {
        guard let glob = NameGlob(pattern) else { preconditionFailure("an empty pattern matches nothing; the loader rejects it") }
        self.glob = glob
    }

    public var pattern: String { glob.pattern }
    public var description: String { glob.pattern }
    public func matches(_ name: String) -> Bool { glob.matches(name) }
}
