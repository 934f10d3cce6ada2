/// An error from the key store or the master key. Operating errors (I/O,
/// corruption, limits, a wrong key) are thrown; programmer errors are
/// preconditions. Messages say what happened, where and what to do; they
/// never hold key bytes or PII.
public struct KeyStoreError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// A system call failed (`errno` is in the message).
        case io
        /// A header or record that must be valid is not. Never skipped.
        case corruption
        /// No master key: neither the environment variable nor the file.
        case missingMasterKey = "missing_master_key"
        /// The master key file or variable is unusable (size, permissions, encoding).
        case badMasterKey = "bad_master_key"
        /// The master key is not the one the store was created with.
        case wrongMasterKey = "wrong_master_key"
        /// The store does not exist (read-only open).
        case notFound = "not_found"
        /// Another process holds the store's `LOCK`.
        case locked
        /// A limit of `KeyStoreLimits` was reached.
        case limit
        /// The store was opened read-only or closed.
        case notWritable = "not_writable"
        /// The crypto library failed (not a data problem).
        case cryptoFailure = "crypto_failure"
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
