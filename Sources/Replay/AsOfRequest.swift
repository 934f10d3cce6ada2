import CareerEvents

/// What `careerlog replay --into PREFIX --as-of TIME | --as-of-seq N` asks
/// for, checked: the one way into an as-of build (the projector's
/// `ProjectionBuilder.buildAsOf` does the building). Every read model is
/// built as it stood at that moment into schemas `PREFIX_<projection>`.
public struct AsOfRequest: Sendable, Equatable {
    /// Longest prefix, in characters: `PREFIX_<projection>` must stay within
    /// PostgreSQL's 63-byte identifiers, and the longest projection name
    /// and its `__rebuild` suffix take the rest.
    public static let prefixCharactersMax = 20

    /// Lower-case letters, digits and `_`, starting with a letter.
    public var prefix: String
    /// Include events up to this seq.
    public var untilSeq: UInt64?
    /// Include events whose time is at or before this (RFC 3339, UTC).
    public var untilTime: String?

    /// Exactly one of `asOf` (an RFC 3339 time, or a date meaning the end
    /// of that UTC day) and `asOfSeq`.
    public init(prefix: String, asOf: String?, asOfSeq: UInt64?) throws(ReplayError) {
        guard (asOf == nil) != (asOfSeq == nil) else {
            throw ReplayError(.invalidArgument, "--into needs exactly one of --as-of TIME or --as-of-seq N")
        }
        guard prefix.count <= Self.prefixCharactersMax, prefix.first?.isLetter == true,
              prefix.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }) else {
            throw ReplayError(.invalidArgument, "--into takes lower-case letters, digits and _, starting with a letter, at most \(Self.prefixCharactersMax) characters")
        }
        self.prefix = prefix
        self.untilSeq = asOfSeq
        self.untilTime = try asOf.map(Self.untilTime)
    }

    /// The inclusive upper bound on event time, as RFC 3339.
    static func untilTime(_ text: String) throws(ReplayError) -> String {
        if let time = Timestamp(rfc3339: text) { return time.rfc3339 }
        if let date = CalendarDate(iso: text) {
            // A date means the whole of that UTC day.
            return Timestamp(seconds: Int64(date.daysSinceEpoch) * 86_400 + 86_399, nanoseconds: 999_999_000, fractionDigits: 6).rfc3339
        }
        throw ReplayError(.invalidArgument, "--as-of must be an RFC 3339 time or a date YYYY-MM-DD, got \(text)")
    }
}
