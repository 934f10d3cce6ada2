import CLibPQ

/// The rows a statement returned, copied out of libpq as text.
///
///     let rows = try connection.query("SELECT id, name FROM skills WHERE level > $1", ["3"])
///     for row in rows { print(row["id"]!, row["name"] ?? "NULL") }
public struct PostgresRows: RandomAccessCollection, Sendable {
    /// Column names, in order.
    public let columns: [String]
    private let values: [[String?]]
    /// Rows inserted, updated, deleted, copied or selected, as the command
    /// tag reports it (0 for statements that report no count).
    public let affectedRows: Int

    init(result: OpaquePointer) {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        values = (0..<rowCount).map { row in
            (0..<columnCount).map { column in
                if PQgetisnull(result, row, column) == 1 { return nil }
                let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, row, column), count: Int(PQgetlength(result, row, column)))
                return String(decoding: bytes, as: UTF8.self)
            }
        }
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { values.count }

    public subscript(position: Int) -> PostgresRow {
        PostgresRow(columns: columns, values: values[position])
    }
}

/// One row: values by position or by column name; `nil` is SQL NULL.
public struct PostgresRow: Sendable {
    public let columns: [String]
    public let values: [String?]

    public subscript(index: Int) -> String? { values[index] }

    /// The value of the first column called `name`. Asking for a column the
    /// statement does not return is a programming error.
    public subscript(name: String) -> String? {
        guard let index = columns.firstIndex(of: name) else {
            preconditionFailure("no column \"\(name)\" in this result; columns: \(columns.joined(separator: ", "))")
        }
        return values[index]
    }
}
