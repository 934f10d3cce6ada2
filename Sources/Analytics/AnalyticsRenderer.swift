import Foundation
import StoredEventCodec

/// How a figure is printed.
public enum AnalyticsFormat: String, Sendable, CaseIterable {
    /// Aligned for a terminal, rounded, with a title and an "as of" line.
    case table
    /// One object per row, full precision, null for no value.
    case json
    /// RFC 4180: a header row, CRLF, full precision, empty for no value.
    case csv
}

/// The renderings of an `AnalyticsResult`, byte for byte what
/// `careerlog analytics` prints; strings through the shared `JSONString`
/// and `CSVField` writers.
public enum AnalyticsRenderer {
    public static func render(_ result: AnalyticsResult, as format: AnalyticsFormat) -> String {
        switch format {
        case .table: table(result)
        case .json: json(result)
        case .csv: csv(result)
        }
    }

    /// A title and "as of" line, the header, then the rows: numbers rounded
    /// and right-aligned, no value as "-".
    public static func table(_ result: AnalyticsResult) -> String {
        let columns = result.query.columns
        let source = result.schema == "analytics" ? "" : ", schema \(result.schema)"
        var out = "\(result.query.title), as of \(result.asOf ?? "- (no events applied yet)")\(source)\n\n"
        var cells = [columns.map(\.name)]
        for row in result.rows {
            cells.append(zip(columns, row).map { column, value in tableCell(column, value) })
        }
        let widths = columns.indices.map { i in cells.map { $0[i].count }.max() ?? 0 }
        for line in cells {
            let padded = columns.indices.map { i -> String in
                let pad = String(repeating: " ", count: widths[i] - line[i].count)
                switch columns[i] {
                case .text, .json: return line[i] + pad
                case .count, .rate, .decimal: return pad + line[i]
                }
            }
            var text = padded.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            out += text + "\n"
        }
        if result.rows.isEmpty { out += "(no rows)\n" }
        return out
    }

    /// One table cell: rates to four places, decimals to theirs, currency
    /// objects as "EUR 1.00, USD 2.00".
    static func tableCell(_ column: AnalyticsQuery.Column, _ value: String?) -> String {
        guard let value else { return "-" }
        switch column {
        case .text, .count: return value
        case .rate: return Double(value).map { String(format: "%.4f", $0) } ?? value
        case .decimal(_, let places): return Double(value).map { String(format: "%.\(places)f", $0) } ?? value
        case .json:
            guard let data = value.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return value }
            if object.isEmpty { return "-" }
            return object.keys.sorted().map { key in
                let number = (object[key] as? NSNumber)?.doubleValue
                return "\(key) " + (number.map { String(format: "%.2f", $0) } ?? "-")
            }.joined(separator: ", ")
        }
    }

    /// One JSON object per row: numbers as PostgreSQL wrote them (full
    /// precision), objects as objects, no value as null.
    public static func json(_ result: AnalyticsResult) -> String {
        var out = ""
        for row in result.rows {
            let members = zip(result.query.columns, row).map { column, value -> String in
                let rendered: String
                switch (column, value) {
                case (_, nil): rendered = "null"
                case (.text, let text?): rendered = JSONString.quoted(text)
                case (.count, let n?), (.rate, let n?), (.decimal, let n?), (.json, let n?): rendered = n
                }
                return JSONString.quoted(column.name) + ":" + rendered
            }
            out += "{" + members.joined(separator: ",") + "}\n"
        }
        return out
    }

    /// RFC 4180: a header row, then the rows; CRLF; a field quoted when it
    /// holds a comma, a double quote, CR or LF; no value as an empty field.
    public static func csv(_ result: AnalyticsResult) -> String {
        var out = result.query.columns.map { CSVField.quoted($0.name) }.joined(separator: ",") + "\r\n"
        for row in result.rows {
            out += row.map { $0.map(CSVField.quoted) ?? "" }.joined(separator: ",") + "\r\n"
        }
        return out
    }
}
