import Foundation
import StoredEventCodec

/// How a figure is printed.
public enum AnalyticsFormat: String, Sendable, CaseIterable {
    /// Aligned for a terminal, rounded, with a title and an "as of" line.
    case table
    /// One document `{"as_of": TIME, "rows": [...]}`: one object per row,
    /// full precision, null for no value.
    case json
    /// RFC 4180: a header row, CRLF, full precision, empty for no value,
    /// the as-of moment in a last column `as_of`.
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

    /// One JSON document, `{"as_of": TIME, "rows": [...]}` with one object
    /// per row: numbers at PostgreSQL's full precision without its trailing
    /// zeros, objects as objects, no value as null; the as-of moment is
    /// RFC 3339 (null before any event was applied). The body of the HTTP
    /// dashboard's `/api/analytics/<name>` too.
    public static func json(_ result: AnalyticsResult) -> String {
        let asOf = result.asOf.map { JSONString.quoted(rfc3339($0)) } ?? "null"
        var rows: [String] = []
        for row in result.rows {
            let members = zip(result.query.columns, row).map { column, value -> String in
                let rendered: String
                switch (column, value) {
                case (_, nil): rendered = "null"
                case (.text, let text?): rendered = JSONString.quoted(text)
                case (.count, let n?), (.rate, let n?), (.decimal, let n?): rendered = trimmedNumber(n)
                case (.json, let object?): rendered = trimmingNumbers(inJSON: object)
                }
                return JSONString.quoted(column.name) + ":" + rendered
            }
            rows.append("{" + members.joined(separator: ",") + "}")
        }
        let body = rows.isEmpty ? "" : "\n" + rows.joined(separator: ",\n") + "\n"
        return "{\"as_of\":\(asOf),\"rows\":[" + body + "]}\n"
    }

    /// PostgreSQL's UTC text ("2025-06-30 20:04:24.5+00") as RFC 3339
    /// ("2025-06-30T20:04:24.5Z"); other text is returned unchanged.
    static func rfc3339(_ text: String) -> String {
        guard text.count > 11, text.hasSuffix("+00"),
              let space = text.firstIndex(of: " ") else { return text }
        var out = text
        out.replaceSubrange(space...space, with: "T")
        out.removeLast(3)
        return out + "Z"
    }

    /// A decimal number without trailing fractional zeros ("0.8800" ->
    /// "0.88", "12.000" -> "12"); integers and exponent forms unchanged.
    static func trimmedNumber(_ text: String) -> String {
        guard text.contains("."), !text.contains(where: { $0 == "e" || $0 == "E" }) else { return text }
        var out = Substring(text)
        while out.last == "0" { out.removeLast() }
        if out.last == "." { out.removeLast() }
        return out.isEmpty || out == "-" ? "0" : String(out)
    }

    /// `trimmedNumber` applied to every number of a JSON text (outside
    /// strings), e.g. jsonb objects of sums `{"EUR": 300.00}`.
    static func trimmingNumbers(inJSON text: String) -> String {
        var out = ""
        var number = ""
        var inString = false, escaped = false
        for character in text {
            if inString {
                out.append(character)
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
                continue
            }
            if character.isNumber || "+-.eE".contains(character) {
                number.append(character)
                continue
            }
            if !number.isEmpty { out += trimmedNumber(number); number = "" }
            if character == "\"" { inString = true }
            out.append(character)
        }
        return out + (number.isEmpty ? "" : trimmedNumber(number))
    }

    /// RFC 4180: a header row, then the rows; CRLF; a field quoted when it
    /// holds a comma, a double quote, CR or LF; no value as an empty field;
    /// numbers without trailing zeros; the as-of moment (RFC 3339) in a
    /// last column `as_of`, so a saved file says when its figures stood.
    public static func csv(_ result: AnalyticsResult) -> String {
        let columns = result.query.columns
        var out = (columns.map(\.name) + ["as_of"]).map(CSVField.quoted).joined(separator: ",") + "\r\n"
        let asOf = result.asOf.map { CSVField.quoted(rfc3339($0)) } ?? ""
        for row in result.rows {
            let fields = zip(columns, row).map { column, value -> String in
                guard let value else { return "" }
                switch column {
                case .text: return CSVField.quoted(value)
                case .count, .rate, .decimal: return trimmedNumber(value)
                case .json: return CSVField.quoted(trimmingNumbers(inJSON: value))
                }
            }
            out += (fields + [asOf]).joined(separator: ",") + "\r\n"
        }
        return out
    }
}
