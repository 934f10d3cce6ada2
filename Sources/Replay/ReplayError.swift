/// An error from a replay: a bad filter or option, an event the chosen
/// format cannot represent, or an output that cannot be written. Errors of
/// the log itself stay `LogError`.
public struct ReplayError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A filter or option value that cannot be used (bad time, UUID, glob).
        case invalidArgument = "invalid_argument"
        /// An event whose `data` does not fit the CSV columns of its type.
        case csvColumns = "csv_columns"
        /// An output file or directory could not be created or written.
        case io
        /// A bound (`ReplayLimits`) was reached.
        case limit
    }

    public var code: Code
    /// What happened and, where it helps, what to do.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Every bound a replay keeps, in one place.
public enum ReplayLimits {
    /// `--type` patterns and `--subject`/`--source` values per replay: a
    /// command line never needs more; the check keeps filters cheap per event.
    public static let filterValuesMax = 10_000
    /// Distinct type names whose glob verdict is cached; a log holds a few
    /// dozen types, so past this something is wrong and matching just stops caching.
    public static let typeCacheEntriesMax = 4_096
    /// CSV files open at once with `--out` (one per type): the catalog has 27
    /// types; this leaves room for versions and future types.
    public static let csvFilesMax = 256
    /// Bytes buffered per CSV file before a write: 64 KiB keeps 256 files
    /// under 16 MiB while making writes large enough to be cheap.
    public static let csvFileBufferBytes = 64 << 10
    /// (type, day) cells counted by `--stats`: 27 types x 100 years of days
    /// is ~1M; more means the log's types or times are not what they seem.
    public static let statsCellsMax = 2_000_000
    /// Nesting followed when flattening a schema into columns ($ref chains
    /// and objects in objects); the real schemas need 3.
    public static let schemaDepthMax = 32
}
