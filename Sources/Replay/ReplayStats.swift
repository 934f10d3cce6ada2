import CareerEvents
import EventLog

/// `--stats`: how many matching events there are by type and by UTC day or
/// month of their event `time` (calendar buckets are UTC, as in the
/// catalog's analytics). Memory: one counter per (type, period) seen,
/// bounded by `ReplayLimits.statsCellsMax`.
public struct ReplayStats: Sendable {
    public enum Period: String, Sendable, CaseIterable {
        case day, month
    }

    public let period: Period
    public private(set) var events: UInt64 = 0
    public private(set) var firstSeq: UInt64?
    public private(set) var lastSeq: UInt64?
    /// Earliest and latest event time counted (µs since the epoch).
    public private(set) var minTime: Int64?
    public private(set) var maxTime: Int64?

    private struct Cell: Hashable {
        var type: Int32
        var period: Int32
    }

    private var typeNames: [String] = []
    private var typeIndex: [String: Int32] = [:]
    private var counts: [Cell: UInt64] = [:]
    /// The last day seen and its period key: events come in bursts of days.
    private var lastDay = Int64.min
    private var lastPeriod: Int32 = 0

    public init(period: Period) {
        self.period = period
    }

    public mutating func add(_ record: EventRecord) throws(ReplayError) {
        let time = record.event.time.microseconds
        let day = time >= 0 ? time / 86_400_000_000 : (time + 1) / 86_400_000_000 - 1
        if day != lastDay {
            lastDay = day
            lastPeriod = Self.periodKey(day: day, period: period)
        }
        let type = typeIndex[record.event.type] ?? newType(record.event.type)
        let cell = Cell(type: type, period: lastPeriod)
        if counts.count >= ReplayLimits.statsCellsMax, counts[cell] == nil {
            throw ReplayError(.limit, "more than \(ReplayLimits.statsCellsMax) (type, \(period.rawValue)) counters; use --by month or narrow the filter")
        }
        counts[cell, default: 0] += 1
        events += 1
        if firstSeq == nil { firstSeq = record.seq }
        lastSeq = record.seq
        minTime = Swift.min(minTime ?? time, time)
        maxTime = Swift.max(maxTime ?? time, time)
    }

    private mutating func newType(_ name: String) -> Int32 {
        let index = Int32(typeNames.count)
        typeNames.append(name)
        typeIndex[name] = index
        return index
    }

    /// Days since the epoch, or months since 0000-01 (year * 12 + month - 1).
    /// Times past year ±5 million do not fit Int32 and are not career events.
    static func periodKey(day: Int64, period: Period) -> Int32 {
        let clamped = Int(Swift.max(Swift.min(day, Int64(Int32.max)), Int64(Int32.min)))
        switch period {
        case .day: return Int32(clamped)
        case .month:
            let date = CalendarDate(daysSinceEpoch: clamped)
            return Int32(clamping: date.year * 12 + date.month - 1)
        }
    }

    /// `2025-03-01` for a day, `2025-03` for a month.
    public func label(_ key: Int32) -> String {
        switch period {
        case .day: return CalendarDate(daysSinceEpoch: Int(key)).iso
        case .month:
            let year = Int(key) >= 0 ? Int(key) / 12 : (Int(key) - 11) / 12
            let month = Int(key) - year * 12 + 1
            let yearText = String(abs(year))
            return (year < 0 ? "-" : "") + String(repeating: "0", count: Swift.max(0, 4 - yearText.count)) + yearText
                + "-" + (month < 10 ? "0" : "") + String(month)
        }
    }

    // MARK: - Results

    /// Events per type, sorted by type name.
    public var byType: [(type: String, events: UInt64)] {
        var totals = [UInt64](repeating: 0, count: typeNames.count)
        for (cell, count) in counts { totals[Int(cell.type)] += count }
        return zip(typeNames, totals).map { ($0, $1) }.sorted { $0.type < $1.type }
    }

    /// Events per period, in time order.
    public var byPeriod: [(period: String, events: UInt64)] {
        var totals: [Int32: UInt64] = [:]
        for (cell, count) in counts { totals[cell.period, default: 0] += count }
        return totals.sorted { $0.key < $1.key }.map { (label($0.key), $0.value) }
    }

    /// Events per type and period: types by name, periods in time order.
    public var byTypeAndPeriod: [(type: String, periods: [(period: String, events: UInt64)])] {
        var perType: [Int32: [(Int32, UInt64)]] = [:]
        for (cell, count) in counts { perType[cell.type, default: []].append((cell.period, count)) }
        return perType.map { type, cells in
            (typeNames[Int(type)], cells.sorted { $0.0 < $1.0 }.map { (label($0.0), $0.1) })
        }.sorted { $0.type < $1.type }
    }
}
