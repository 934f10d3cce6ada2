import CareerEvents
import StoredEventCodec

extension ReplayStats {
    /// A plain-text report: a summary line, then counts by type and by period.
    ///
    ///     events  1234  (seq 17...90210; time 2025-01-03T08:00:00Z ... 2025-06-29T17:45:00Z)
    ///
    ///     type                 events
    ///     application.sent        800
    ///     placement.recorded      434
    ///
    ///     month                events
    ///     2025-01                 610
    public func table() -> String {
        var lines = ["events  \(events)" + summaryRange()]
        lines.append("")
        lines += Self.columns(("type", byType.map { ($0.type, $0.events) }))
        lines.append("")
        lines += Self.columns((period.rawValue, byPeriod.map { ($0.period, $0.events) }))
        return lines.joined(separator: "\n") + "\n"
    }

    private func summaryRange() -> String {
        guard let firstSeq, let lastSeq, let minTime, let maxTime else { return "" }
        let from = Timestamp(recordedMicroseconds: minTime).rfc3339, to = Timestamp(recordedMicroseconds: maxTime).rfc3339
        return "  (seq \(firstSeq)...\(lastSeq); time \(from) ... \(to))"
    }

    /// Two aligned columns with a header; counts right-aligned.
    private static func columns(_ section: (header: String, rows: [(String, UInt64)])) -> [String] {
        let width = max(section.header.count, section.rows.map(\.0.count).max() ?? 0) + 2
        let numbers = section.rows.map { String($0.1) }
        let numberWidth = max("events".count, numbers.map(\.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        func padLeft(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        var lines = [pad(section.header, width) + padLeft("events", numberWidth)]
        for (row, number) in zip(section.rows, numbers) { lines.append(pad(row.0, width) + padLeft(number, numberWidth)) }
        return lines
    }

    /// One JSON object:
    ///
    ///     {"events":1234,"by":"month","first_seq":17,"last_seq":90210,
    ///      "min_time":"…","max_time":"…",
    ///      "types":{"application.sent":800,…},"periods":{"2025-01":610,…},
    ///      "types_by_period":{"application.sent":{"2025-01":400,…},…}}
    public func json() -> String {
        var out: [UInt8] = []
        func key(_ k: String) { JSONString.append(k, to: &out); out.append(UInt8(ascii: ":")) }
        func object(_ pairs: [(String, UInt64)]) {
            out.append(UInt8(ascii: "{"))
            for (i, pair) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                key(pair.0)
                out.append(contentsOf: String(pair.1).utf8)
            }
            out.append(UInt8(ascii: "}"))
        }
        func optional(_ name: String, _ value: String?, quoted: Bool) {
            key(name)
            if let value {
                if quoted { JSONString.append(value, to: &out) } else { out.append(contentsOf: value.utf8) }
            } else {
                out.append(contentsOf: "null".utf8)
            }
            out.append(UInt8(ascii: ","))
        }
        out.append(contentsOf: "{\"events\":\(events),\"by\":\"\(period.rawValue)\",".utf8)
        optional("first_seq", firstSeq.map { String($0) }, quoted: false)
        optional("last_seq", lastSeq.map { String($0) }, quoted: false)
        optional("min_time", minTime.map { Timestamp(recordedMicroseconds: $0).rfc3339 }, quoted: true)
        optional("max_time", maxTime.map { Timestamp(recordedMicroseconds: $0).rfc3339 }, quoted: true)
        key("types")
        object(byType.map { ($0.type, $0.events) })
        out.append(UInt8(ascii: ","))
        key("periods")
        object(byPeriod.map { ($0.period, $0.events) })
        out.append(UInt8(ascii: ","))
        key("types_by_period")
        out.append(UInt8(ascii: "{"))
        for (i, row) in byTypeAndPeriod.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            key(row.type)
            object(row.periods.map { ($0.period, $0.events) })
        }
        out.append(contentsOf: "}}".utf8)
        return String(decoding: out, as: UTF8.self)
    }
}
