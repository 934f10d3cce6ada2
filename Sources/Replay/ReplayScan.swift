import EventLog
import Foundation

/// The events of a log that pass a filter, in seq order, read as the plan
/// says with memory bounded by one frame. Open the log read-only to replay
/// while another process appends: only complete frames are ever returned.
///
///     let scan = ReplayScan(log: log, filter: filter)
///     while let record = try scan.next() { ... }                          // to the current end
///     while !stop { if let r = try scan.next(waitingUpTo: .seconds(1)) { ... } }   // --follow
public final class ReplayScan {
    public let plan: ReplayPlan
    private let filter: ReplayFilter
    private let reader: LogReader
    private let types: TypeMatcher
    // Updated per event; one thread owns a scan (like its reader), so the
    // runtime's exclusivity bookkeeping (a TLS lookup per access) is skipped.
    /// Events read from the log (matched or not).
    @exclusivity(unchecked) public private(set) var eventsRead: UInt64 = 0
    /// Events returned.
    @exclusivity(unchecked) public private(set) var eventsMatched: UInt64 = 0
    /// True once the plan's stop condition was met: nothing more can match,
    /// however long the log grows.
    @exclusivity(unchecked) public private(set) var isFinished: Bool
    /// Called every `progressInterval` events read, matched or not (for a
    /// progress line during a long, selective scan).
    public var onProgress: ((ReplayScan) -> Void)?
    public static let progressInterval: UInt64 = 16_384

    public init(log: EventLog, filter: ReplayFilter) {
        self.filter = filter
        self.plan = ReplayPlan.make(filter, log: log)
        self.reader = plan.reader(on: log)
        self.types = TypeMatcher(filter.types)
        self.isFinished = plan.readsNothing
        if !filter.types.isEmpty || !filter.sources.isEmpty {
            // The frames' (source, type) tables say what can match: frames
            // and records that cannot are passed over undecoded. `passes`
            // still checks every event returned.
            let pairTypes = TypeMatcher(filter.types), sources = filter.sources
            reader.pairFilter = { source, type in (sources.isEmpty || sources.contains(source)) && pairTypes.matches(type) }
        }
        if !filter.producers.isEmpty {
            // Likewise the frames' producer tables: a frame without one of
            // the producers (every frame written before producers existed)
            // is passed over, and other producers' records undecoded.
            let producers = filter.producers
            reader.producerFilter = { producer in producer.map { producers.contains($0) } ?? false }
        }
    }

    /// Frames decompressed so far (frames skipped by the time index are not).
    public var framesRead: Int { reader.framesRead }
    /// The seq the next event read will have at least.
    public var position: UInt64 { reader.position }

    /// The next matching event, or nil at the current end of the log (or
    /// once finished).
    public func next() throws(LogError) -> EventRecord? {
        checkPassedEnd()
        while !isFinished, let record = try reader.next() {
            if let match = consider(record) { return match }
        }
        return nil
    }

    /// The next matching event, waiting up to `timeout` for events to be
    /// appended; nil when none matched in that time (or once finished).
    public func next(waitingUpTo timeout: Duration) throws(LogError) -> EventRecord? {
        let deadline = ContinuousClock.now + timeout
        checkPassedEnd()
        while !isFinished {
            let left = deadline - ContinuousClock.now
            guard left > .zero, let record = try reader.next(waitingUpTo: left) else { return nil }
            if let match = consider(record) { return match }
        }
        return nil
    }

    /// Past `--to-seq` (the reader may also have skipped there unread):
    /// nothing more can match, so a follow ends instead of waiting.
    private func checkPassedEnd() {
        if let stop = plan.stopAfterSeq, reader.position > stop { isFinished = true }
    }

    /// Counts `record`, applies the stop conditions and the filter.
    @inline(__always)
    private func consider(_ record: EventRecord) -> EventRecord? {
        eventsRead += 1
        if eventsRead % Self.progressInterval == 0, let onProgress { onProgress(self) }
        if let stop = plan.stopAfterSeq, record.seq >= stop {
            // The last seq wanted: finish without reading the next frame.
            isFinished = true
            if record.seq > stop { return nil }
        }
        if let stop = plan.stopAtRecorded, record.recorded >= stop { isFinished = true; return nil }
        guard passes(record) else { return nil }
        eventsMatched += 1
        return record
    }

    /// The filter, cheapest tests first.
    @inline(__always)
    private func passes(_ record: EventRecord) -> Bool {
        let event = record.event
        guard record.seq >= filter.fromSeq,
              filter.recorded.contains(record.recorded),
              filter.eventTime.contains(event.time.microseconds)
        else { return false }
        if !filter.sources.isEmpty, !filter.sources.contains(event.source) { return false }
        if !filter.producers.isEmpty {
            guard let producer = event.producer, filter.producers.contains(producer) else { return false }
        }
        if !filter.subjects.isEmpty, !filter.subjects.contains(event.subject) { return false }
        return types.matches(event.type)
    }
}
