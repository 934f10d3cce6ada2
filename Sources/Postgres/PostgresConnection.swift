import CLibPQ
import Foundation

/// One blocking connection to PostgreSQL over libpq.
///
/// Use it from one thread at a time (libpq connections are not shared);
/// hand it to another thread only between operations. It is deliberately not
/// `Sendable`: a projector owns one per worker.
///
/// Queries use the text format both ways: parameters are strings (`nil` is
/// SQL NULL) and every value comes back as a `String?`. The client encoding is
/// always UTF-8.
public final class PostgresConnection {
    /// How long one connection attempt may take, in seconds, unless the URL
    /// sets `connect_timeout`. Long enough for a busy server, short enough
    /// that a dead host is noticed and retried with backoff.
    public static let connectTimeoutSecondsDefault = 10

    /// The `PGconn *`; never nil, possibly in a bad state after a failure.
    let handle: OpaquePointer

    /// Database, user and host of this connection, for messages; never the password.
    public let target: String

    /// Connects to `url`: a `postgresql://` URL or a libpq `key=value` string.
    public init(url: String) throws(PostgresError) {
        let handle = try Self.connect(url: url)
        self.handle = handle
        target = Self.describe(handle)
        // Notices ("relation already exists, skipping" from idempotent DDL)
        // would otherwise go to stderr, mixed into the command's own output.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    /// False once libpq has seen the connection break. A server that went away
    /// while the connection was idle is only noticed by the next call.
    public var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Closes the connection and opens it again with the same parameters.
    public func reconnect() throws(PostgresError) {
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(code: .connection, message: "cannot reconnect to \(target): \(PostgresError.clientMessage(handle))")
        }
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    /// Runs `sql` with the simple query protocol: it may hold several
    /// statements separated by semicolons (a DDL file), and takes no
    /// parameters. Results are discarded.
    public func execute(_ sql: String) throws(PostgresError) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, code: .query)
    }

    /// Runs one statement with the extended protocol: `$1`, `$2`, ... are
    /// bound to `parameters` (text format, `nil` is NULL), so values never need
    /// quoting. The whole result is held in memory: bound it with LIMIT.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        let values = try Self.cStrings(parameters)
        defer { values.forEach { free($0) } }
        let result = values.withUnsafeBufferPointer { pointers in
            pointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { constPointers in
                PQexecParams(handle, sql, Int32(parameters.count), nil, constPointers.baseAddress, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        try check(result, code: .query)
        return PostgresRows(result: result!)
    }

    /// Throws unless `result` is a success. A COPY the caller did not ask for
    /// is ended first, so the connection stays usable.
    func check(_ result: OpaquePointer?, code: PostgresError.Code) throws(PostgresError) {
        switch result.map(PQresultStatus) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            abandonCopy()
            throw PostgresError(code: .protocolViolation, message: "COPY must be run with copyIn, not execute or query")
        default:
            throw PostgresError.from(result: result, connection: handle, code: code)
        }
    }
}

extension PostgresConnection {
    /// Connection keywords fixed by this layer. Those before `dbname` are
    /// defaults the URL may override; those after it always win.
    private static func connect(url: String) throws(PostgresError) -> OpaquePointer {
        let keywords = ["connect_timeout", "fallback_application_name", "dbname", "client_encoding"]
        let values = [String(connectTimeoutSecondsDefault), "careerlog", url, "UTF8"]
        let keywordPointers = keywords.map { strdup($0) } + [nil]
        let valuePointers = values.map { strdup($0) } + [nil]
        defer { (keywordPointers + valuePointers).forEach { free($0) } }
        let handle = keywordPointers.withUnsafeBufferPointer { keys in
            valuePointers.withUnsafeBufferPointer { vals in
                keys.withMemoryRebound(to: UnsafePointer<CChar>?.self) { keys in
                    vals.withMemoryRebound(to: UnsafePointer<CChar>?.self) { vals in
                        PQconnectdbParams(keys.baseAddress, vals.baseAddress, 1)
                    }
                }
            }
        }
        guard let handle else {
            throw PostgresError(code: .connection, message: "cannot connect: libpq is out of memory")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            // libpq's message names host and port; the URL itself may hold a password.
            let error = PostgresError(code: .connection, message: "cannot connect to \(describe(handle)): \(PostgresError.clientMessage(handle))")
            PQfinish(handle)
            throw error
        }
        return handle
    }

    /// "database careerlog as careerlog on /path/to/socket:5432"
    static func describe(_ handle: OpaquePointer) -> String {
        func text(_ value: UnsafeMutablePointer<CChar>?) -> String { value.map { String(cString: $0) } ?? "?" }
        return "database \(text(PQdb(handle))) as \(text(PQuser(handle))) on \(text(PQhost(handle))):\(text(PQport(handle)))"
    }

    /// C copies of the parameters (the caller frees them). PostgreSQL text
    /// cannot hold NUL, and a C string would silently cut the value there.
    private static func cStrings(_ parameters: [String?]) throws(PostgresError) -> [UnsafeMutablePointer<CChar>?] {
        for (index, value) in parameters.enumerated() where value?.utf8.contains(0) == true {
            throw PostgresError(code: .protocolViolation, message: "parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot store")
        }
        return parameters.map { $0.flatMap { strdup($0) } }
    }

    /// Ends a COPY started by `execute` or `query` and reads its results, so
    /// the connection is ready for the next statement.
    private func abandonCopy() {
        // COPY FROM STDIN: the server fails the statement with this message.
        _ = PQputCopyEnd(handle, "COPY must be run with copyIn")
        // COPY TO STDOUT: read and discard what the server sends.
        var buffer: UnsafeMutablePointer<CChar>?
        while PQgetCopyData(handle, &buffer, 0) > 0 { PQfreemem(buffer) }
        drainResults()
    }

    /// Reads and frees every pending result.
    func drainResults() {
        while let result = PQgetResult(handle) { PQclear(result) }
    }
}
