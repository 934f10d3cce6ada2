import Foundation
import StoredEventCodec

/// `careerlog projections list` and `status` as they print: aligned
/// columns, or one JSON object per line.
extension ProjectionStatusReport {
    /// Left-aligned columns two spaces apart, each line ending in `\n`
    /// (without trailing spaces); the first row is the header.
    public static func alignedTable(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        let widths = (0..<first.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces) + "\n"
        }.joined()
    }

    /// `projections status`: a header and a row per schema; a failure's
    /// seq and reason follow its state.
    public static func table(_ rows: [ProjectionStatusRow]) -> String {
        let header = ["projection", "schema", "role", "version", "checkpoint", "head", "lag", "lag_s", "events/s", "state"]
        return alignedTable([header] + rows.map { row in
            var state = row.state
            if let seq = row.failedSeq { state += " at seq \(seq): \(row.failedReason ?? "")" }
            return [row.projection, row.schema, row.role, String(row.version), String(row.checkpoint), String(row.head),
                    String(row.lagEvents), row.lagSeconds.map { String(format: "%.1f", $0) } ?? "-",
                    row.eventsPerSecond.map { String(format: "%.0f", $0) } ?? "-", state]
        })
    }

    /// `projections list`: name, version and fingerprint of each definition.
    public static func definitionsTable(_ catalog: ProjectionCatalog) -> String {
        alignedTable([["projection", "version", "fingerprint"]] + catalog.definitions.map { definition in
            // Eight hex digits always: the checksum printed with its leading zeros.
            let fingerprint = String(repeating: "0", count: max(0, 8 - definition.fingerprint.count)) + definition.fingerprint
            return [definition.name, String(definition.version), fingerprint]
        })
    }
}

extension ProjectionStatusRow {
    /// One JSON object (`projections status --json`), null for no value.
    public var json: String {
        let s = JSONString.quotedOrNull
        func n<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "null" }
        return "{\"projection\":\(s(projection)),\"schema\":\(s(schema)),\"role\":\(s(role)),\"version\":\(version),"
            + "\"checkpoint\":\(checkpoint),\"head\":\(head),\"lag_events\":\(lagEvents),\"lag_seconds\":\(n(lagSeconds)),"
            + "\"events_per_second\":\(n(eventsPerSecond)),\"state\":\(s(state)),\"failed_seq\":\(n(failedSeq)),\"failed_reason\":\(s(failedReason))}"
    }
}
