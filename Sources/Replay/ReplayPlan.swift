import CareerEvents
import EventLog
import StoredEventCodec

/// How a replay reads the log for a filter: where it starts, which frames it
/// may skip unread, and when it can stop early. The filter is still applied
/// to every event read, so the plan only ever saves work, never decides
/// what matches.
///
///     seq      1 ........ start ===== read (frames outside the time range skipped) ===== stop ...... end
///                         ^ from-seq, or the frame holding        ^ past to-seq, or an event
///                           recorded-since (index bisection),       recorded at/after recorded-until
///                           whichever is further on
///
/// Seqs and recorded times only grow along the log, so they bound a
/// contiguous stretch. Event times do not (producers send late events), so
/// `--since`/`--until` cannot move the start or stop the read; they skip
/// whole frames whose [min, max] event time, kept in the index, misses the
/// window.
public struct ReplayPlan: Sendable, Equatable, CustomStringConvertible {
    public enum Start: Sendable, Equatable {
        case seq(UInt64)
        /// Bisect the recorded-time index for this time (µs).
        case recorded(Int64)
    }

    public var start: Start
    /// Frames whose event-time range misses this are skipped unread.
    public var eventTimeFrames: ClosedRange<Int64>?
    /// Stop once past this seq (`--to-seq`).
    public var stopAfterSeq: UInt64?
    /// Stop at the first event recorded at or after this time (`--recorded-until`).
    public var stopAtRecorded: Int64?
    /// The filter can match nothing: read nothing.
    public var readsNothing: Bool

    /// One line for `--explain`.
    public var description: String {
        if readsNothing { return "plan: the filter matches nothing; nothing is read" }
        func time(_ us: Int64) -> String {
            us == .min || us == .max ? "open" : Timestamp(recordedMicroseconds: us).rfc3339
        }
        var parts: [String] = []
        switch start {
        case .seq(let seq): parts.append("start at seq \(seq)")
        case .recorded(let us): parts.append("start at the frame holding the first event recorded at or after \(time(us)) (index bisection)")
        }
        if let range = eventTimeFrames {
            parts.append("skip frames with no event time in \(time(range.lowerBound)) ... \(time(range.upperBound)) (frame index)")
        }
        parts.append(stopAfterSeq.map { "stop after seq \($0)" } ?? "read to the end")
        if let stop = stopAtRecorded { parts.append("stop at the first event recorded at or after \(time(stop))") }
        return "plan: " + parts.joined(separator: "; ")
    }
}

extension ReplayPlan {
    /// The plan for `filter` on `log`. A recorded-time start is chosen only
    /// when it lands further on than `--from-seq` (both are cheap seeks; the
    /// later one reads less).
    public static func make(_ filter: ReplayFilter, log: EventLog) -> ReplayPlan {
        var plan = ReplayPlan(
            start: .seq(filter.fromSeq), eventTimeFrames: filter.eventTime.closedRange,
            stopAfterSeq: filter.toSeq, stopAtRecorded: filter.recorded.until, readsNothing: filter.isEmpty)
        if let since = filter.recorded.since, log.reader(fromRecorded: since).position > filter.fromSeq {
            plan.start = .recorded(since)
        }
        return plan
    }

    /// A reader positioned as the plan says.
    func reader(on log: EventLog) -> LogReader {
        let reader: LogReader
        switch start {
        case .seq(let seq): reader = log.reader(fromSeq: seq)
        case .recorded(let time): reader = log.reader(fromRecorded: time)
        }
        reader.eventTimeRange = eventTimeFrames
        return reader
    }
}
