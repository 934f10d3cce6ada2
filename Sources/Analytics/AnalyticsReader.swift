import Postgres

/// What one figure read from one analytics schema: its rows as PostgreSQL
/// wrote them (text, nil for NULL) and the schema's "as of" moment. (How
/// the projector left the schema is `ProjectionStore`'s to tell.)
public struct AnalyticsResult: Sendable, Equatable {
    public var query: AnalyticsQuery
    /// The schema read (`analytics`, or `PREFIX_analytics` for an as-of build).
    public var schema: String
    /// The newest event time applied, as PostgreSQL's UTC text; nil before
    /// any event was applied.
    public var asOf: String?
    /// One array per row, in `query.columns` order.
    public var rows: [[String?]]

    public init(query: AnalyticsQuery, schema: String, asOf: String?, rows: [[String?]]) {
        self.query = query
        self.schema = schema
        self.asOf = asOf
        self.rows = rows
    }
}

/// An analytics figure that could not be read.
public struct AnalyticsError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Equatable, Hashable, CustomStringConvertible {
        let name: String
        /// The schema name is empty or longer than PostgreSQL's 63 bytes.
        public static let invalidSchemaName = Code(name: "invalid_schema_name")
        /// The schema holds no analytics (not projected yet, or dropped).
        public static let noAnalytics = Code(name: "no_analytics")
        /// PostgreSQL refused the connection or the query.
        public static let database = Code(name: "database")
        public var description: String { name }
    }

    public var code: Code
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// Reads figures from an analytics schema: the live `analytics`, or an
/// as-of copy `PREFIX_analytics` (`careerlog replay --into PREFIX --as-of TIME`).
/// Shared by the command line and the HTTP dashboard.
public struct AnalyticsReader {
    /// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
    public static let schemaNameBytesMax = 63

    private let connection: PostgresConnection

    /// Uses `connection` for every read; the session is set to UTC (every
    /// bucket and the "as of" line are UTC) and JIT off (one short read:
    /// compiling would cost more than it saves).
    public init(connection: PostgresConnection) throws(AnalyticsError) {
        self.connection = connection
        do {
            try connection.execute("SET jit = off; SET TimeZone = 'UTC'")
        } catch {
            throw AnalyticsError(.database, "cannot prepare the analytics session: \(error)")
        }
    }

    /// Connects to `url` (see `init(connection:)`).
    public init(url: String) throws(AnalyticsError) {
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection(url: url)
        } catch {
            throw AnalyticsError(.database, "cannot connect to the read models' database: \(error)")
        }
        try self.init(connection: connection)
    }

    /// Runs `query` against `schema`.
    public func read(_ query: AnalyticsQuery, schema: String = "analytics") throws(AnalyticsError) -> AnalyticsResult {
        guard !schema.isEmpty, schema.utf8.count <= Self.schemaNameBytesMax else {
            throw AnalyticsError(.invalidSchemaName, "schema name must be 1 to \(Self.schemaNameBytesMax) bytes, got \(schema.utf8.count)")
        }
        let schemaName = quotedIdentifier(schema)
        do {
            guard try connection.query("SELECT to_regclass($1)", [schemaName + ".as_of_utc"]).first?[0] != nil else {
                throw AnalyticsError(.noAnalytics, """
                    no analytics in schema "\(schema)": the projector creates it (run `careerlog serve` or `careerlog project`); \
                    an as-of copy is PREFIX_analytics (`careerlog projections status` lists them)
                    """)
            }
            let asOf = try connection.query("SELECT as_of::text FROM \(schemaName).as_of_utc").first?[0]
            let rows = try connection.query(query.sql.replacingOccurrences(of: "{{schema}}", with: schemaName), query.parameters)
            return AnalyticsResult(query: query, schema: schema, asOf: asOf, rows: rows.map(\.values))
        } catch let error as AnalyticsError {
            throw error
        } catch {
            throw AnalyticsError(.database, "cannot read \(query.title.lowercased()) from schema \(schema): \(error)")
        }
    }
}

/// A SQL identifier in double quotes, inner quotes doubled.
func quotedIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
