import CLibPQ

extension PostgresConnection {
    /// Runs `copySQL` (a `COPY table (columns) FROM STDIN` in text format) and
    /// lets `write` supply the rows; returns how many rows the server stored.
    ///
    ///     try connection.copyIn("COPY skills (id, name) FROM STDIN") { writer in
    ///         for skill in skills { try writer.writeRow([skill.id, skill.name]) }
    ///     }
    ///
    /// If `write` throws, the COPY is cancelled (nothing is stored) and the
    /// error rethrown. Inside a transaction, a failed COPY aborts it.
    @discardableResult
    public func copyIn(_ copySQL: String, _ write: (inout CopyWriter) throws -> Void) throws -> Int {
        let start = PQexec(handle, copySQL)
        defer { PQclear(start) }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            try check(start, code: .copy)
            throw PostgresError(code: .protocolViolation, message: "copyIn needs a COPY ... FROM STDIN statement")
        }
        var writer = CopyWriter(connection: self)
        do {
            try write(&writer)
            precondition(writer.fieldsInRow == 0, "copyIn: the last row was not ended with endRow()")
            try writer.flush()
        } catch {
            // A fixed reason: the server logs it, and it must not carry row data.
            _ = PQputCopyEnd(handle, "cancelled by the client")
            drainResults()
            throw error
        }
        return try finishCopy()
    }

    /// Sends buffered rows; in blocking mode libpq either queues them or fails.
    func putCopyData(_ bytes: [UInt8]) throws(PostgresError) {
        let sent = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        }
        guard sent == 1 else {
            throw PostgresError.from(result: nil, connection: handle, code: .copy)
        }
    }

    /// Ends the data and reads the COPY's outcome (constraint violations and
    /// bad values are reported here, for the whole COPY).
    private func finishCopy() throws(PostgresError) -> Int {
        guard PQputCopyEnd(handle, nil) == 1 else {
            let error = PostgresError.from(result: nil, connection: handle, code: .copy)
            drainResults()
            throw error
        }
        let result = PQgetResult(handle)
        defer { PQclear(result); drainResults() }
        try check(result, code: .copy)
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }
}

/// Writes rows in COPY text format: fields separated by tabs, rows ended by
/// newlines, `\N` for NULL, and backslash escapes for the characters that
/// would break that framing:
///
///     value:  a<TAB>b   two<LF>lines   C:\dir    NULL   (empty)
///     wire:   a\tb      two\nlines     C:\\dir   \N     (nothing)
///
/// Rows are buffered and sent in chunks of about `flushBytesMin`.
/// PostgreSQL text cannot hold NUL characters; the server rejects a value
/// containing one, failing the COPY.
public struct CopyWriter {
    /// Send once the buffer holds this many bytes, in bytes. 256 KiB makes the
    /// per-call cost negligible while keeping memory per COPY small.
    public static let flushBytesMin = 256 << 10

    private unowned let connection: PostgresConnection
    private var buffer: [UInt8] = []
    private(set) var fieldsInRow = 0

    init(connection: PostgresConnection) {
        self.connection = connection
        buffer.reserveCapacity(Self.flushBytesMin + (16 << 10))
    }

    /// Appends one field to the current row; `nil` is NULL.
    public mutating func append(_ value: String?) {
        startField()
        guard let value else {
            buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: buffer.append(byte)
            }
        }
    }

    /// Appends an integer field (digits need no escaping).
    public mutating func append(_ value: some BinaryInteger) {
        startField()
        buffer.append(contentsOf: String(value).utf8)
    }

    /// Ends the current row, sending the buffer when it is full.
    public mutating func endRow() throws(PostgresError) {
        precondition(fieldsInRow > 0, "endRow() without fields: COPY rows need at least one column")
        buffer.append(UInt8(ascii: "\n"))
        fieldsInRow = 0
        if buffer.count >= Self.flushBytesMin { try flush() }
    }

    /// Appends a whole row of fields and ends it.
    public mutating func writeRow(_ values: [String?]) throws(PostgresError) {
        for value in values { append(value) }
        try endRow()
    }

    mutating func flush() throws(PostgresError) {
        guard !buffer.isEmpty else { return }
        try connection.putCopyData(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func startField() {
        if fieldsInRow > 0 { buffer.append(UInt8(ascii: "\t")) }
        fieldsInRow += 1
    }
}
