import CareerEvents
import EventLog
import Foundation

/// Which events a replay returns. Every filter is optional; given several,
/// an event must pass all of them (repeated `--type`, `--subject`,
/// `--source` and `--producer` values are alternatives: any one may match).
///
///     seq        from ... to          both inclusive   (--from-seq 10 --to-seq 20 = 11 events)
///     time       [since, until)       until exclusive  (--since 2025-01-01 --until 2025-02-01 = January)
///     recorded   [since, until)       until exclusive
///
/// Time ranges are half-open so that consecutive slices tile the history
/// with no event in two slices and none in neither. Times are compared as
/// instants at microsecond precision (the unit of the log's time index).
public struct ReplayFilter: Sendable, Equatable {
    public var fromSeq: UInt64 = 1
    public var toSeq: UInt64?
    /// The event's `time` (producer clock), µs since the epoch.
    public var eventTime = TimeWindow()
    /// The server's append time, µs since the epoch.
    public var recorded = TimeWindow()
    /// Empty: every type.
    public var types: [TypeGlob] = []
    /// Empty: every subject.
    public var subjects: Set<UUID> = []
    /// Empty: every source.
    public var sources: Set<String> = []
    /// The authenticated producers that wrote the event (the audit trail);
    /// an event without a producer never matches a non-empty set. Empty:
    /// every event, with a producer or not.
    public var producers: Set<String> = []

    public init() {}

    /// A half-open window of microseconds since the epoch; nil ends are open.
    public struct TimeWindow: Sendable, Equatable {
        public var since: Int64?
        public var until: Int64?

        public init(since: Int64? = nil, until: Int64? = nil) {
            self.since = since
            self.until = until
        }

        @inline(__always)
        public func contains(_ microseconds: Int64) -> Bool {
            if let since, microseconds < since { return false }
            if let until, microseconds >= until { return false }
            return true
        }

        /// True when no instant can pass (since >= until).
        public var isEmpty: Bool {
            guard let since, let until else { return false }
            return since >= until
        }

        /// The same window as an inclusive range, for the log's frame skip.
        var closedRange: ClosedRange<Int64>? {
            guard since != nil || until != nil, !isEmpty else { return nil }
            return (since ?? .min)...((until ?? .max) &- (until == nil ? 0 : 1))
        }
    }

    /// True when no event can pass (an empty seq or time range).
    public var isEmpty: Bool {
        if let toSeq, toSeq < fromSeq { return true }
        return eventTime.isEmpty || recorded.isEmpty
    }
}

// MARK: - From command-line text

extension ReplayFilter {
    /// A `--since`/`--until` style value as µs since the epoch: an RFC 3339
    /// timestamp (`2025-03-01T09:30:00Z`, `2025-03-01T10:30:00+01:00`), or a
    /// date (`2025-03-01`), meaning the start of that UTC day.
    public static func parseTime(_ text: String, option: String) throws(ReplayError) -> Int64 {
        if let date = CalendarDate(iso: text) {
            return Int64(date.daysSinceEpoch) * 86_400_000_000
        }
        if let time = Timestamp(rfc3339: text) {
            return time.seconds * 1_000_000 + Int64(time.nanoseconds / 1000)
        }
        throw ReplayError(.invalidArgument, "\(option) '\(text)' is neither an RFC 3339 timestamp (2025-03-01T09:30:00Z) nor a date (2025-03-01)")
    }

    /// A `--producer` value: a name as the producers file gives them.
    public static func parseProducer(_ text: String) throws(ReplayError) -> String {
        guard ProducerName.isValid(text) else {
            throw ReplayError(.invalidArgument, "--producer '\(text)' is not a producer name: names are \(ProducerName.rule), as in the producers file")
        }
        return text
    }

    public static func parseSubject(_ text: String) throws(ReplayError) -> UUID {
        guard let uuid = UUIDText.parse(text) else {
            throw ReplayError(.invalidArgument, "--subject '\(text)' is not a UUID in 8-4-4-4-12 form")
        }
        return uuid
    }

    /// Builds a filter from option values as typed, checking each one.
    public init(
        fromSeq: UInt64? = nil, toSeq: UInt64? = nil,
        since: String? = nil, until: String? = nil,
        recordedSince: String? = nil, recordedUntil: String? = nil,
        types: [String] = [], subjects: [String] = [], sources: [String] = [], producers: [String] = []
    ) throws(ReplayError) {
        for (name, values) in [("--type", types), ("--subject", subjects), ("--source", sources), ("--producer", producers)]
        where values.count > ReplayLimits.filterValuesMax {
            throw ReplayError(.limit, "\(name) given \(values.count) times; at most \(ReplayLimits.filterValuesMax)")
        }
        if fromSeq == 0 { throw ReplayError(.invalidArgument, "--from-seq starts at 1 (the first event)") }
        self.fromSeq = fromSeq ?? 1
        self.toSeq = toSeq
        eventTime.since = try since.map { v throws(ReplayError) in try Self.parseTime(v, option: "--since") }
        eventTime.until = try until.map { v throws(ReplayError) in try Self.parseTime(v, option: "--until") }
        recorded.since = try recordedSince.map { v throws(ReplayError) in try Self.parseTime(v, option: "--recorded-since") }
        recorded.until = try recordedUntil.map { v throws(ReplayError) in try Self.parseTime(v, option: "--recorded-until") }
        for type in types { self.types.append(try TypeGlob(type)) }
        for subject in subjects { self.subjects.insert(try Self.parseSubject(subject)) }
        self.sources = Set(sources)
        for producer in producers { self.producers.insert(try Self.parseProducer(producer)) }
    }

    /// The one type a single-file CSV holds: `--type` given once and naming
    /// exactly one type (a glob counts when it matches exactly one of
    /// `knownTypes`). Nil otherwise.
    public func singleType(knownTypes: [String]) -> String? {
        guard types.count == 1 else { return nil }
        let glob = types[0]
        guard glob.isGlob else { return glob.pattern }
        let matching = knownTypes.filter { glob.matches($0) }
        return matching.count == 1 ? matching[0] : nil
    }
}
