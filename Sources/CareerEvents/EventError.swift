/// Why one event line was rejected: what kind of problem, where in the event,
/// and which event (so an ack can name it).
///
/// Messages say what is wrong and what would be right; they never quote the
/// rejected value (it may be personal data).
public struct EventError: Error, Sendable, CustomStringConvertible {
    /// The kind of problem, as it appears in acks (`rawValue`).
    public enum Code: String, Sendable {
        /// Not valid JSON (the reason carries the byte offset).
        case parse
        /// Over a size limit: line length, nesting depth.
        case tooLarge = "too_large"
        /// `type` (with `dataversion`) names no schema.
        case unknownType = "unknown_type"
        /// Valid JSON that breaks the envelope or the type's schema.
        case schema
    }

    public var code: Code
    /// Field path: "time", "data.level", "data.tasks[3].week"; nil for
    /// whole-line problems.
    public var path: String?
    /// What is wrong: "must be one of beginner, intermediate, advanced, expert".
    public var reason: String
    /// The event's `id` text when it could be read, so acks can echo it.
    public var id: String?

    public init(code: Code, path: String? = nil, reason: String, id: String? = nil) {
        self.code = code
        self.path = path
        self.reason = reason
        self.id = id
    }

    /// "data.level: must be one of ...", or just the reason without a path.
    public var description: String {
        guard let path else { return reason }
        return "\(path): \(reason)"
    }
}
