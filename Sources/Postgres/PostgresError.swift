import CLibPQ

/// An error from PostgreSQL or from libpq talking to it.
///
/// `code` says which kind of operation failed; `sqlState` is the server's
/// five-character SQLSTATE when the server sent one (client-side failures,
/// such as a refused connection, have none). Messages name the database and
/// host, never the password of the connection URL.
///
/// `description` (what is logged and stored, e.g. as a projection's failure
/// reason) leaves out the server's DETAIL: it can quote row values ("Key
/// (email)=(ann@example.com) already exists"), which may be PII.
/// `descriptionWithDetail` adds it, for an operator at a terminal.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// Connecting failed, or the connection broke while in use.
        case connection
        /// A statement failed (the server said why in `sqlState`).
        case query
        /// COPY FROM STDIN failed while sending rows or finishing.
        case copy
        /// The server answered something the caller did not ask for
        /// (such as a COPY started from `execute`), or misuse of the API.
        case protocolViolation
    }

    public var code: Code
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?

    public init(code: Code, sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    /// The message, SQLSTATE and hint; never the DETAIL (it can quote row
    /// values). Safe to log and to store.
    public var description: String {
        var text = message
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let hint { text += "; hint: \(hint)" }
        return text
    }

    /// `description` plus the server's DETAIL, which can quote row values
    /// (PII): for the person who ran the statement, not for logs or stored
    /// state.
    public var descriptionWithDetail: String {
        guard let detail else { return description }
        return description + "; detail: \(detail)"
    }

    /// True when the failure means "the server or the connection went away",
    /// so reconnecting and retrying may succeed: a client-side connection
    /// failure, SQLSTATE class 08 (connection exception), 57P01
    /// admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
    public var isConnectionFailure: Bool {
        if code == .connection { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    /// True when the server ended the statement (and its transaction) to
    /// break a deadlock, SQLSTATE 40P01: running it again may succeed.
    public var isDeadlockVictim: Bool { sqlState == "40P01" }
}

extension PostgresError {
    /// Builds the error for a failed result, with the server's fields when it
    /// sent them and libpq's message otherwise. A connection that went bad
    /// turns any code into `.connection`.
    static func from(result: OpaquePointer?, connection: OpaquePointer, code: Code) -> PostgresError {
        let broken = PQstatus(connection) != CONNECTION_OK
        guard let result, let primary = field(result, DiagnosticField.messagePrimary) else {
            return PostgresError(code: broken ? .connection : code, message: clientMessage(connection))
        }
        return PostgresError(
            code: broken ? .connection : code,
            sqlState: field(result, DiagnosticField.sqlState),
            message: primary,
            detail: field(result, DiagnosticField.detail),
            hint: field(result, DiagnosticField.hint))
    }

    /// libpq's own message for the last failure, trimmed. libpq never puts the
    /// password into it.
    static func clientMessage(_ connection: OpaquePointer) -> String {
        guard let text = PQerrorMessage(connection) else { return "unknown libpq error" }
        let message = String(cString: text).trimmingTrailingWhitespace()
        return message.isEmpty ? "unknown libpq error" : message
    }

    private static func field(_ result: OpaquePointer, _ name: Int32) -> String? {
        guard let value = PQresultErrorField(result, name) else { return nil }
        return String(cString: value)
    }
}

/// The `PG_DIAG_*` field codes; libpq defines them as character macros,
/// which Swift does not import.
enum DiagnosticField {
    static let sqlState = Int32(UInt8(ascii: "C"))
    static let messagePrimary = Int32(UInt8(ascii: "M"))
    static let detail = Int32(UInt8(ascii: "D"))
    static let hint = Int32(UInt8(ascii: "H"))
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var scalars = Substring(self)
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
