/// A failure of the projector, a rebuild or an as-of build (PostgreSQL
/// failures stay `PostgresError`).
///
/// `code` says which kind of failure it is; the codes are static members of
/// a struct, so new ones can be added without breaking a caller's `switch`
/// (as postgres-nio's `PSQLError.Code`). Messages name the projection, schema
/// or file and the seq, never event data.
public struct ProjectorError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case definitionInvalid, projectionUnknown, schemaUnknown, schemaLive, eventNotApplied, roleInvalid
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A `Projections/` folder or one of its files is missing or malformed.
        public static let definitionInvalid = Code(.definitionInvalid)
        /// A rebuild names a projection the catalog does not have.
        public static let projectionUnknown = Code(.projectionUnknown)
        /// A schema the projector does not write (drop).
        public static let schemaUnknown = Code(.schemaUnknown)
        /// A live schema was asked to be dropped; only as-of and shadow ones can be.
        public static let schemaLive = Code(.schemaLive)
        /// An event could not be applied to a schema: it stopped at `seq`
        /// (state `failed`, reason stored) until rebuilt.
        public static let eventNotApplied = Code(.eventNotApplied)
        /// A name that cannot be an analyst role (`AnalystRoles.grant`).
        public static let roleInvalid = Code(.roleInvalid)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// Where: the file or folder of a definition, or the projection or schema.
    public var location: String
    /// The event that failed (`eventNotApplied`).
    public var seq: UInt64?
    public var reason: String

    public init(code: Code, location: String, seq: UInt64? = nil, reason: String) {
        self.code = code
        self.location = location
        self.seq = seq
        self.reason = reason
    }

    public var description: String {
        guard let seq else { return "\(location): \(reason)" }
        return "\(location): stopped at seq \(seq): \(reason)"
    }
}
