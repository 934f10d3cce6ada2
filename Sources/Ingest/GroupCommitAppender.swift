import EventLog
import struct EventLog.LogEvent
import Foundation
import StoredEventCodec
import SubjectKeys
import Logging
import Telemetry
import Synchronization

/// What the appender decided for one submitted event.
public enum AppendOutcome: Sendable, Equatable {
    /// Appended and durable at `seq`.
    case stored(seq: UInt64)
    /// Appended and durable at `seq` with its PII stored as `null`: its
    /// subject is erased (the answer says `"redacted":true`).
    case storedRedacted(seq: UInt64)
    /// The id was already stored (durably) at `seq`; not appended again.
    case duplicate(seq: UInt64)
    /// The log could not be written; the event was not stored.
    case unavailable
}

/// Whoever waits for outcomes (a connection). Outcomes of one waiter's
/// submissions in one group are delivered together, in submission order.
public protocol AppendWaiter: AnyObject, Sendable {}

/// The outcomes of one waiter's events in one group commit.
public struct AppendCompletion: Sendable {
    public let waiter: any AppendWaiter
    public var outcomes: [AppendOutcome]
}

/// The single writer of the log for the server: takes everything the
/// connections validated, decides duplicates, appends, syncs once per group,
/// then releases the outcomes of the whole group.
///
///     connections --submit--> [ bounded queue ] --> appender thread:
///         take the whole queue (a group) -> dedupe -> append -> fdatasync
///         -> deliver outcomes (the next group queues up meanwhile)
///
/// It runs on its own thread so that `fdatasync` (milliseconds) never
/// blocks an event loop, and so that every duplicate decision is made in one
/// place: two copies of an id arriving at once on different connections get
/// one seq; the second is a duplicate of the first, answered only after the
/// group holding the first is durable (all outcomes of a group are released
/// after its sync, and earlier groups were synced before it began).
///
/// There is no delay timer: a group is whatever arrived while the previous
/// one was being written, so under light load an event waits for at most one
/// sync in progress plus its own.
public final class GroupCommitAppender: @unchecked Sendable {
    public enum SubmitResult: Sendable, Equatable {
        case accepted
        /// The queue is full; nothing of the submission was taken.
        case overloaded
        /// The log failed or the appender stopped; nothing was taken.
        case unavailable
    }

    public struct Statistics: Sendable, Equatable {
        /// `fdatasync` calls made (one per group that stored something).
        public var syncs: UInt64 = 0
        /// Groups committed.
        public var groups: UInt64 = 0
        public var eventsStored: UInt64 = 0
        public var duplicates: UInt64 = 0
        /// How long each append + sync of a group took.
        public var writeLatency = LatencyHistogram()
    }

    private struct Submission {
        var events: [LogEvent]
        var waiter: any AppendWaiter
    }

    private let log: EventLog
    /// Seals each group's PII before it is written and destroys the keys of
    /// erased subjects after; nil stores data as it came (no key store).
    private let sealer: EventSealer?
    private let limits: IngestLimits
    private let logger: Logger
    private let deliver: @Sendable ([AppendCompletion]) -> Void

    // Owned by the appender thread.
    private var window: DedupeWindow
    private var nextSeq: UInt64
    private var groupEvents: [LogEvent] = []
    /// Ids given a seq in the current group; they join the window only once
    /// durable, so a failed group leaves no trace in it.
    private var groupSeqs: [UUID: UInt64] = [:]
    private var retryDelayMs: Int

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Submission] = []
    private var queuedEvents = 0
    private var queuedBytes = 0
    private var stopping = false
    private var finished = false
    private var state = Health.healthy
    /// While retrying: submissions before this are answered `unavailable`.
    private var retryAt = ContinuousClock.now
    private var suspended = false

    private let writeLatency = Mutex(LatencyHistogram())
    /// Recorded once per group (never per event): a few atomic adds and two
    /// short histogram locks per fdatasync.
    private let metrics: CareerlogMetrics?
    private let syncCount = Atomic<UInt64>(0)
    private let groupCount = Atomic<UInt64>(0)
    private let storedCount = Atomic<UInt64>(0)
    private let duplicateCount = Atomic<UInt64>(0)

    /// `deliver` is called on the appender thread after each group with the
    /// outcomes of every submission of the group; it must hand them on
    /// quickly (to the connections' event loops), not process them.
    public init(
        log: EventLog, window: DedupeWindow, limits: IngestLimits, logger: Logger, metrics: CareerlogMetrics? = nil,
        sealer: EventSealer? = nil, deliver: @escaping @Sendable ([AppendCompletion]) -> Void
    ) {
        self.metrics = metrics
        self.log = log
        self.sealer = sealer
        self.window = window
        self.limits = limits
        self.logger = logger
        self.deliver = deliver
        self.nextSeq = log.nextSeq
        self.retryDelayMs = limits.writeRetryDelayMinMs
    }

    /// Starts the appender thread.
    public func start() {
        // The window loaded from the log counts from the start.
        metrics?.dedupeWindowIds.set(window.count)
        let thread = Thread { [self] in run() }
        thread.name = "careerlog-appender"
        thread.start()
    }

    /// Queues `events` (in order) for the next group; their outcomes come
    /// back through `deliver` with `waiter`. Never blocks on I/O.
    public func submit(_ events: [LogEvent], waiter: any AppendWaiter) -> SubmitResult {
        var bytes = 0
        for event in events { bytes += event.encodedSize }
        condition.lock()
        defer { condition.unlock() }
        if stopping || !acceptsWrites() { return .unavailable }
        guard queuedEvents + events.count <= limits.appenderQueueEventsMax,
              queuedBytes + bytes <= limits.appenderQueueBytesMax
        else { return .overloaded }
        queue.append(Submission(events: events, waiter: waiter))
        queuedEvents += events.count
        queuedBytes += bytes
        // One atomic store per submission (a batch of lines), not per event.
        metrics?.queueEvents.set(queuedEvents)
        condition.signal()
        return .accepted
    }

    /// Commits what is queued, then ends the thread; later submissions are
    /// answered `.unavailable`. Returns once the last group is delivered.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// The dedupe window as the appender left it, once `stop()` returned
    /// (nil before): what a clean stop saves for the next start.
    public var windowAfterStop: DedupeWindow? {
        condition.lock()
        defer { condition.unlock() }
        return finished ? window : nil
    }

    public var statistics: Statistics {
        Statistics(syncs: syncCount.load(ordering: .relaxed), groups: groupCount.load(ordering: .relaxed),
                   eventsStored: storedCount.load(ordering: .relaxed), duplicates: duplicateCount.load(ordering: .relaxed),
                   writeLatency: writeLatency.withLock { $0 })
    }

    /// How the appender's writes are going, for status and health.
    public enum Health: Sendable, Equatable {
        /// The last group was written and synced.
        case healthy
        /// A write failed (a full disk, no descriptor, a failed sync that was
        /// undone and checked): the log was cut back to its last durable
        /// frame, events are answered `unavailable`, and the log is tried
        /// again after a delay. `error` is the failure, without payloads.
        case retrying(error: String)
        /// The log cannot be written safely any more (what is on disk could
        /// not be put back to a known state); every event is answered
        /// `unavailable` until the server is restarted.
        case failed(error: String)
    }

    public var health: Health {
        condition.lock()
        defer { condition.unlock() }
        return state
    }

    /// Whether the log failed for good (every event is answered
    /// `unavailable` until a restart).
    public var hasFailed: Bool {
        if case .failed = health { return true }
        return false
    }

    /// Whether a group may be tried now. Called with `condition` held.
    private func acceptsWrites() -> Bool {
        switch state {
        case .healthy: return true
        case .retrying: return ContinuousClock.now >= retryAt
        case .failed: return false
        }
    }

    /// Events waiting for the next group.
    public var queuedEventCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queuedEvents
    }

    /// Tests: hold groups in the queue (to make "arrived while a sync ran"
    /// deterministic) until `resumeForTesting()`.
    func suspendForTesting() {
        condition.lock()
        suspended = true
        condition.unlock()
    }

    func resumeForTesting() {
        condition.lock()
        suspended = false
        condition.broadcast()
        condition.unlock()
    }

    // MARK: - The appender thread

    private func run() {
        var group: [Submission] = []
        while true {
            condition.lock()
            while (queue.isEmpty || suspended) && !stopping { condition.wait() }
            if queue.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            swap(&queue, &group)
            queuedEvents = 0
            queuedBytes = 0
            metrics?.queueEvents.set(0)
            // Groups queued before a failure wait out the retry delay too.
            let refuse = !acceptsWrites()
            condition.unlock()

            commit(group, logFailed: refuse)
            group.removeAll(keepingCapacity: true)
        }
    }

    private func commit(_ group: [Submission], logFailed: Bool) {
        var outcomes: [[AppendOutcome]] = []
        outcomes.reserveCapacity(group.count)
        if logFailed {
            for submission in group { outcomes.append(Array(repeating: .unavailable, count: submission.events.count)) }
        } else {
            outcomes = decide(group)
            let firstSeq = nextSeq - UInt64(groupEvents.count)
            var durable = nextSeq - 1
            var redacted: Set<Int> = []
            var erasuresHeld = true
            if !groupEvents.isEmpty {
                if let sealed = sealGroup() {
                    redacted = sealed
                    durable = write()
                    erasuresHeld = destroyErasedKeys(durableThrough: durable, firstSeq: firstSeq)
                } else {
                    durable = firstSeq - 1
                }
            }
            if durable < nextSeq - 1 { outcomes = outcomes.map { $0.map { Self.keepIfDurable($0, durable: durable) } } }
            if !redacted.isEmpty { outcomes = outcomes.map { $0.map { Self.markRedacted($0, redacted, firstSeq: firstSeq) } } }
            // Durable, but an erasure among them did not destroy its key yet:
            // acknowledge none of them (a retry is answered as a duplicate
            // once the restart has re-applied the erasure).
            if !erasuresHeld { outcomes = outcomes.map { $0.map { _ in .unavailable } } }
            for (id, seq) in groupSeqs where seq <= durable { window.insert(id, seq: seq) }
            metrics?.dedupeWindowIds.set(window.count)
            nextSeq = durable + 1
            groupEvents.removeAll(keepingCapacity: true)
            groupSeqs.removeAll(keepingCapacity: true)
        }
        groupCount.add(1, ordering: .relaxed)
        deliver(merge(group, outcomes))
    }

    /// Dedupe: an id in the window is a duplicate; a new id gets the next
    /// seq (the log assigns seqs densely) and joins `groupEvents`.
    private func decide(_ group: [Submission]) -> [[AppendOutcome]] {
        var outcomes: [[AppendOutcome]] = []
        outcomes.reserveCapacity(group.count)
        var duplicates: UInt64 = 0
        for submission in group {
            var answers: [AppendOutcome] = []
            answers.reserveCapacity(submission.events.count)
            for event in submission.events {
                if let seq = window.seq(of: event.id) ?? groupSeqs[event.id] {
                    answers.append(.duplicate(seq: seq))
                    duplicates += 1
                } else {
                    groupSeqs[event.id] = nextSeq
                    answers.append(.stored(seq: nextSeq))
                    nextSeq += 1
                    groupEvents.append(event)
                }
            }
            outcomes.append(answers)
        }
        duplicateCount.add(duplicates, ordering: .relaxed)
        if duplicates > 0 { metrics?.eventsDuplicate.increment(by: duplicates) }
        return outcomes
    }

    /// An outcome stands only if its seq is durable: an event the log does
    /// not hold is answered "not stored", and one it holds never is.
    private static func keepIfDurable(_ outcome: AppendOutcome, durable: UInt64) -> AppendOutcome {
        switch outcome {
        case .stored(let seq), .storedRedacted(let seq), .duplicate(let seq): return seq <= durable ? outcome : .unavailable
        case .unavailable: return outcome
        }
    }

    private static func markRedacted(_ outcome: AppendOutcome, _ redacted: Set<Int>, firstSeq: UInt64) -> AppendOutcome {
        guard case .stored(let seq) = outcome, seq >= firstSeq, redacted.contains(Int(seq - firstSeq)) else { return outcome }
        return .storedRedacted(seq: seq)
    }

    /// Seals the group's PII (SEALING.md): new subjects' keys are made
    /// durable first, in one key store sync. Returns the indices stored with
    /// PII as `null` (erased subjects), or nil when the key store failed:
    /// then nothing of the group is written (never PII in clear instead),
    /// its events are answered `unavailable` and the appender retries later.
    private func sealGroup() -> Set<Int>? {
        guard let sealer else { return [] }
        do {
            return try sealer.seal(&groupEvents)
        } catch {
            let failure = LogError(.io, "sealing PII failed (nothing of the group was written): \(error)")
            writeFailed(failure, durable: nextSeq - 1 - UInt64(groupEvents.count))
            return nil
        }
    }

    /// Crypto-shreds the keys of the subjects erased by the durable part of
    /// the group, before any of it is acknowledged. If the key store fails,
    /// the erasure is in the log but its key is not destroyed: the appender
    /// stops for good (every event is answered `unavailable`) and the next
    /// start re-applies the erasure (`EventSealer.reapplyErasures`).
    private func destroyErasedKeys(durableThrough durable: UInt64, firstSeq: UInt64) -> Bool {
        guard let sealer, durable >= firstSeq else { return true }
        do {
            try sealer.applyErasures(Array(groupEvents[..<Int(durable - firstSeq + 1)]), firstSeq: firstSeq,
                                     recorded: KeyStore.systemMicroseconds())
            return true
        } catch {
            condition.lock()
            state = .failed(error: "destroying an erased subject's key failed: \(error)")
            condition.unlock()
            logger.critical("an erasure is in the log but its key could not be destroyed; answering unavailable until restart, which re-applies it",
                            metadata: ["error": "\(error)", "log.last_seq": "\(durable)"])
            return false
        }
    }

    /// Appends and syncs `groupEvents`; returns the last durable seq: the
    /// group's last on success. After a failure the log has dropped what was
    /// not durable (part of the group may be, synced by a segment roll), and
    /// the appender retries after a delay, or stops if the log cannot go on.
    private func write() -> UInt64 {
        let firstSeq = nextSeq - UInt64(groupEvents.count)
        do {
            let start = ContinuousClock.now
            let range = try log.append(groupEvents)
            precondition(range?.lowerBound == firstSeq, "the log assigned other seqs than the appender predicted")
            try log.sync()
            let elapsed = ContinuousClock.now - start
            writeLatency.withLock { $0.record(elapsed) }
            if let metrics {
                metrics.appendSyncSeconds.recordNanoseconds(Int64(elapsed.components.seconds) * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
                metrics.groupCommitEvents.record(groupEvents.count)
                metrics.eventsStored.increment(by: groupEvents.count)
            }
            syncCount.add(1, ordering: .relaxed)
            storedCount.add(UInt64(groupEvents.count), ordering: .relaxed)
            writeSucceeded()
            return nextSeq - 1
        } catch {
            let durable = log.lastSeq
            precondition(durable >= firstSeq - 1 && durable < nextSeq, "the log's durable end is outside the failed group")
            storedCount.add(durable - (firstSeq - 1), ordering: .relaxed)
            writeFailed(error, durable: durable)
            return durable
        }
    }

    private func writeSucceeded() {
        condition.lock()
        let recovered = state != .healthy
        state = .healthy
        condition.unlock()
        if recovered {
            retryDelayMs = limits.writeRetryDelayMinMs
            logger.notice("event log writes resumed", metadata: ["log.directory": "\(log.directory)", "log.last_seq": "\(nextSeq - 1)"])
        }
    }

    private func writeFailed(_ error: LogError, durable: UInt64) {
        var metadata: Logger.Metadata = [
            "log.directory": "\(log.directory)", "error": "\(error)", "group.events": "\(groupEvents.count)",
            "log.last_seq": "\(durable)",
        ]
        condition.lock()
        if let fatal = log.writerFailure {
            state = .failed(error: fatal.description)
            condition.unlock()
            logger.critical("event log cannot be written any more; answering unavailable until restart", metadata: metadata)
            return
        }
        state = .retrying(error: error.description)
        retryAt = ContinuousClock.now + .milliseconds(retryDelayMs)
        condition.unlock()
        metadata["retry.delay_ms"] = "\(retryDelayMs)"
        logger.error("event log write failed; answering unavailable, then trying again", metadata: metadata)
        retryDelayMs = min(retryDelayMs * 2, limits.writeRetryDelayMaxMs)
    }

    /// One completion per waiter, outcomes in submission order.
    private func merge(_ group: [Submission], _ outcomes: [[AppendOutcome]]) -> [AppendCompletion] {
        var completions: [AppendCompletion] = []
        var position: [ObjectIdentifier: Int] = [:]
        for (submission, answers) in zip(group, outcomes) {
            let key = ObjectIdentifier(submission.waiter)
            if let i = position[key] {
                completions[i].outcomes.append(contentsOf: answers)
            } else {
                position[key] = completions.count
                completions.append(AppendCompletion(waiter: submission.waiter, outcomes: answers))
            }
        }
        return completions
    }
}

/// A fixed-size latency histogram: 100 µs buckets up to 1 s, then one
/// overflow bucket. Memory stays constant however long the server runs.
public struct LatencyHistogram: Sendable, Equatable {
    public static let bucketMicroseconds = 100
    public static let bucketCount = 10_000
    private var counts = [UInt64](repeating: 0, count: bucketCount + 1)
    public private(set) var count: UInt64 = 0
    public private(set) var maxMicroseconds = 0

    public init() {}

    public mutating func record(_ duration: Duration) {
        let micros = Int(duration.components.seconds) * 1_000_000 + Int(duration.components.attoseconds / 1_000_000_000_000)
        counts[min(micros / Self.bucketMicroseconds, Self.bucketCount)] += 1
        count += 1
        maxMicroseconds = max(maxMicroseconds, micros)
    }

    /// The upper edge of the bucket holding quantile `q` (0...1), in
    /// milliseconds; the maximum for the overflow bucket.
    public func percentileMilliseconds(_ q: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = UInt64((Double(count) * q).rounded(.up))
        var seen: UInt64 = 0
        for (bucket, n) in counts.enumerated() {
            seen += n
            if seen >= max(rank, 1) {
                return bucket == Self.bucketCount ? Double(maxMicroseconds) / 1000 : Double((bucket + 1) * Self.bucketMicroseconds) / 1000
            }
        }
        return Double(maxMicroseconds) / 1000
    }
}
