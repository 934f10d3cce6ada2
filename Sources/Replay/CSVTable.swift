import CareerEvents
import EventLog
import StoredEventCodec

/// The CSV of one event type (RFC 4180): a header row, then one row per
/// event, records ended by CRLF, UTF-8 without a byte order mark.
///
///     seq,recorded,id,source,type,dataversion,subject,time,data.company,data.salary.amount,...
///     17,2026-11-21T03:30:00.123456Z,4f1c…,careerforge-api,placement.recorded,1,9a2e…,2025-03-01T09:30:00+01:00,"Acme, Inc.",85000,...
///
/// The envelope comes first, as NDJSON replay writes it; then the type's
/// `data` columns (`DataColumns`), each prefixed `data.` so no data field
/// (skill.assessed has a `source`) can clash with an envelope column.
/// Cells: strings as their text, numbers as written, booleans `true`/`false`,
/// null and absent fields empty, arrays and free-form objects as compact
/// JSON. A field quoted when it holds a comma, a double quote, CR or LF,
/// with its quotes doubled.
///
/// A type without a schema gets a single `data` column holding the JSON.
/// A `data` field that is not among the columns is an error naming the
/// event, never dropped silently.
public struct CSVTable {
    public static let envelopeColumns = ["seq", "recorded", "id", "source", "type", "dataversion", "subject", "time"]

    public let type: String
    /// The `data` columns (without the `data.` prefix); nil: no schema.
    public let dataColumns: [String]?
    private let tree: ColumnNode
    /// Each data column's cell in `scratch` for the row being built.
    private var cells: [Range<Int>?]
    private var scratch: [UInt8] = []

    public init(type: String, dataColumns: [String]?) {
        self.type = type
        self.dataColumns = dataColumns
        self.tree = ColumnNode(columns: dataColumns ?? [])
        self.cells = Array(repeating: nil, count: dataColumns?.count ?? 1)
        scratch.reserveCapacity(1024)
    }

    public var header: [String] {
        Self.envelopeColumns + (dataColumns.map { $0.map { "data." + $0 } } ?? ["data"])
    }

    public func appendHeader(to out: inout [UInt8]) {
        for (i, name) in header.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            CSVField.append(Array(name.utf8), to: &out)
        }
        out.append(contentsOf: [0x0D, 0x0A])
    }

    /// Appends `record`'s row. Throws when its `data` does not fit the columns.
    public mutating func appendRow(_ record: EventRecord, to out: inout [UInt8]) throws(ReplayError) {
        precondition(record.event.type == type, "a row goes to its own type's table")
        try fillCells(record)
        appendEnvelope(record, to: &out)
        for cell in cells {
            out.append(UInt8(ascii: ","))
            if let cell { scratch.withUnsafeBufferPointer { CSVField.append(UnsafeBufferPointer(rebasing: $0[cell]), to: &out) } }
        }
        out.append(contentsOf: [0x0D, 0x0A])
    }

    private func appendEnvelope(_ record: EventRecord, to out: inout [UInt8]) {
        let event = record.event
        out.append(contentsOf: String(record.seq).utf8)
        out.append(UInt8(ascii: ","))
        Timestamp(recordedMicroseconds: record.recorded).appendRFC3339(to: &out)
        out.append(UInt8(ascii: ","))
        UUIDText.append(event.id, to: &out)
        out.append(UInt8(ascii: ","))
        CSVField.append(Array(event.source.utf8), to: &out)
        out.append(UInt8(ascii: ","))
        CSVField.append(Array(event.type.utf8), to: &out)
        out.append(UInt8(ascii: ","))
        out.append(contentsOf: String(event.dataVersion).utf8)
        out.append(UInt8(ascii: ","))
        UUIDText.append(event.subject, to: &out)
        out.append(UInt8(ascii: ","))
        Timestamp(event.time).appendRFC3339(to: &out)
    }

    /// Parses `data` and places each field's text in its column's cell.
    private mutating func fillCells(_ record: EventRecord) throws(ReplayError) {
        scratch.removeAll(keepingCapacity: true)
        for i in cells.indices { cells[i] = nil }
        guard dataColumns != nil else {
            // No schema: the stored JSON, as is.
            scratch.append(contentsOf: record.event.data)
            cells[0] = 0..<scratch.count
            return
        }
        guard case .object(let data)? = try? JSONParser.parse(record.event.data) else {
            throw ReplayError(.csvColumns, "event seq \(record.seq) (\(type)): its stored data is not a JSON object; replay it as NDJSON")
        }
        try place(data, node: tree, path: "", seq: record.seq)
    }

    private mutating func place(_ object: JSONObject, node: ColumnNode, path: String, seq: UInt64) throws(ReplayError) {
        for (key, value) in object.members {
            guard let child = node.children[key] else {
                throw ReplayError(.csvColumns, "event seq \(seq) (\(type)): data field '\(path + key)' has no CSV column (it is not in the type's schema); replay it as NDJSON or add it to EventSchemas/\(type).v*.json")
            }
            if case .object(let nested) = value, !child.children.isEmpty {
                try place(nested, node: child, path: path + key + ".", seq: seq)
            } else if let column = child.column {
                let start = scratch.count
                Self.appendCellText(value, to: &scratch)
                cells[column] = start..<scratch.count
            } else if !value.isNull {
                // The schema has sub-columns here but the value is no object.
                throw ReplayError(.csvColumns, "event seq \(seq) (\(type)): data field '\(path + key)' is a \(value.typeName) where the schema has an object; replay it as NDJSON")
            }
        }
    }

    private static func appendCellText(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: break
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.text.utf8)
        case .string(let s): out.append(contentsOf: s.utf8)
        case .array, .object: value.write(into: &out)
        }
    }
}

/// The data columns as a tree of names, so a row is placed without
/// building a dotted path per field.
private final class ColumnNode {
    var column: Int?
    var children: [String: ColumnNode] = [:]

    init() {}

    convenience init(columns: [String]) {
        self.init()
        for (index, name) in columns.enumerated() {
            var node = self
            for part in name.split(separator: ".", omittingEmptySubsequences: false) {
                let key = String(part)
                if let next = node.children[key] { node = next } else {
                    let next = ColumnNode()
                    node.children[key] = next
                    node = next
                }
            }
            node.column = index
        }
    }
}
