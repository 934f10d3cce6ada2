/// An error from the event log. Operating errors (I/O, corruption, limits)
/// are thrown; programmer errors are preconditions.
public struct LogError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// A system call failed (`errno` is in the message).
        case io
        /// A frame, header or index that must be valid is not. Never skipped.
        case corruption
        /// One event is larger than `LogLimits.eventBytesMax`.
        case eventTooLarge = "event_too_large"
        /// Another process holds the log's `LOCK`.
        case locked
        /// The log was opened read-only or closed.
        case notWritable = "not_writable"
        /// A caller passed something out of range (a seq past the end, ...).
        case invalidArgument = "invalid_argument"
    }

    public var code: Code
    /// The file involved, when there is one.
    public var file: String?
    /// The byte offset in `file`, when it is known.
    public var offset: Int64?
    /// What happened and, where it helps, what to do.
    public var message: String

    public init(_ code: Code, _ message: String, file: String? = nil, offset: Int64? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.offset = offset
    }

    public var description: String {
        var s = "\(code.rawValue): \(message)"
        if let file { s += " (file \(file)" + (offset.map { ", offset \($0))" } ?? ")") }
        return s
    }
}
