import EventLog
import Foundation
import StoredEventCodec
import Logging
import Postgres

/// Keeps the live read models current: tails the log from the checkpoints
/// and applies batches to every live projection, each batch with its
/// checkpoint in one transaction, so a crash at any moment neither loses
/// nor doubles an event's effect.
///
/// PostgreSQL going away only pauses it: it waits, reconnects and resumes
/// from the checkpoints; the log (and ingest) is unaffected.
///
/// Used by one thread at a time (it is `Sendable` only so that it can be
/// handed to the thread that runs it).
public final class Projector: @unchecked Sendable {
    public struct Options: Sendable {
        /// Events per batch when catching up: large batches amortize the
        /// per-statement cost of the set-based SQL.
        public var batchEventsMax = 20_000
        /// Connections applying a batch at once, each loading it and applying
        /// its share of the projections (balanced by what each cost last
        /// time): PostgreSQL runs one backend per connection, so this is how
        /// the live read models use more than one core. Fewer than the
        /// rebuild's: ingest shares the machine.
        public var connections = max(1, min(3, ProcessInfo.processInfo.activeProcessorCount))
        /// How long to wait for new events before looking again.
        public var pollInterval: Duration = .milliseconds(200)
        /// Rebuild stale (changed SQL or version) and failed projections when
        /// the projector starts, instead of only reporting them.
        public var rebuildStaleOnStart = false
        /// How often derived objects (materialized views) are refreshed while
        /// events keep arriving; when the projector catches up it refreshes at
        /// once. Bounds analytics staleness under load.
        public var refreshInterval: Duration = .seconds(2)
        /// The backoff after a failure (PostgreSQL away, a batch failing).
        /// A projector never gives up: it waits for PostgreSQL as long as it runs.
        public var reconnectPolicy = ReconnectPolicy(attemptsMax: .max)
        /// Opens sealed PII for the read models that hold it (include mode,
        /// with the key store); nil loads every PII value as `null`.
        public var pii: RecordOpener?
        /// Told after each batch a projection committed: its name, the
        /// events it applied and how long its transaction took. Called on
        /// the projector's thread; it must be quick (the node records
        /// metrics with it). The projector itself knows no metrics library.
        public var batchApplied: (@Sendable (_ projection: String, _ events: Int, _ duration: Duration) -> Void)?
        public init() {}
    }

    let url: String
    let log: EventLog
    let catalog: ProjectionCatalog
    let logger: Logger
    let options: Options
    private var connection: PostgresConnection?
    private var applier: BatchApplier?
    /// The other connections' appliers (`options.connections - 1` of them
    /// at most), opened when first needed.
    private var helpers: [BatchApplier] = []
    /// What applying each target's last batch took (seconds), to balance.
    private var costs: [String: Double] = [:]
    private var reader: LogReader?
    /// Events per second of the last batch (every target applies the same batch).
    private var rate: Double?
    /// Targets with applied batches not yet refreshed, and when each was last refreshed.
    private var refreshPending: Set<String> = []
    private var rebuiltStale = false
    private var lastRefresh: [String: ContinuousClock.Instant] = [:]

    public init(url: String, log: EventLog, catalog: ProjectionCatalog, logger: Logger, options: Options = Options()) {
        self.url = url
        self.log = log
        self.catalog = catalog
        self.logger = logger
        self.options = options
    }

    /// The appliers for `targets` targets: the main one, then helpers.
    private func appliers(for targets: Int, main: BatchApplier) throws -> [BatchApplier] {
        let wanted = max(1, min(options.connections, targets)) - 1
        while helpers.count < wanted { helpers.append(BatchApplier(connection: try PostgresConnection(url: url))) }
        return [main] + helpers.prefix(wanted)
    }

    /// Forgets every connection (after a failure): the next step opens them again.
    private func disconnect() {
        connection = nil
        applier = nil
        helpers = []
    }

    private func connect() throws -> (PostgresConnection, BatchApplier) {
        if let connection, connection.isConnected, let applier { return (connection, applier) }
        let c = try PostgresConnection(url: url)
        try ProjectionStore.prepare(c)
        connection = c
        let a = BatchApplier(connection: c, pii: options.pii)
        applier = a
        return (c, a)
    }

    /// Creates the live schema of every projection that has none yet, and
    /// reports (or rebuilds) those whose definition changed.
    public func ensureLiveTargets() throws {
        try ensureLiveTargets(rebuildingStale: false)
    }

    /// Like `ensureLiveTargets()`; with `rebuildingStale`, stale projections
    /// are rebuilt (beside the live schema, then swapped) before returning.
    public func ensureLiveTargets(rebuildingStale: Bool) throws {
        let (c, _) = try connect()
        let targets = try ProjectionStore.targets(c).filter { $0.role == .live }
        for definition in catalog.definitions {
            guard let target = targets.first(where: { $0.projection == definition.name }) else {
                logger.info("creating projection", metadata: ["projection": "\(definition.name)", "projection.version": "\(definition.version)"])
                try ProjectionStore.create(c, schema: definition.name, definition: definition, role: .live, state: .live)
                continue
            }
            if target.fingerprint != definition.fingerprint {
                logger.warning("projection is stale: its SQL or version changed; run `careerlog projections rebuild \(definition.name)`",
                               metadata: ["projection": "\(definition.name)", "projection.version": "\(target.version)"])
            }
        }
        guard rebuildingStale else { return }
        let gaps = log.gaps
        let stale = catalog.definitions.filter { definition in
            targets.contains { target in
                target.projection == definition.name
                    && (target.fingerprint != definition.fingerprint || target.state == .failed || Self.isInsideAGap(target.checkpoint, gaps))
            }
        }
        guard !stale.isEmpty else { return }
        logger.info("rebuilding stale projections", metadata: ["projections": "\(stale.map(\.name).joined(separator: ","))"])
        try ProjectionBuilder(url: url, log: log, catalog: catalog, logger: logger).rebuild(stale.map(\.name)) { _ in }
    }

    /// Applies at most one batch to every live projection. Returns the
    /// number of events read (0 when every projection is at the log's end).
    @discardableResult
    public func step() throws -> Int {
        let (c, applier) = try connect()
        let live = try ProjectionStore.targets(c).filter { $0.role == .live && $0.state != .failed }
        let current = live.compactMap { target in catalog.definition(named: target.projection).map { (target, $0) } }
            .filter { $0.0.fingerprint == $0.1.fingerprint }
        let active = try stoppingThoseInsideRepairGaps(current, connection: c)
        guard let from = active.map(\.0.checkpoint).min() else { return 0 }
        if reader == nil || reader!.position != from + 1 { reader = log.reader(fromSeq: from + 1) }
        var batch: [EventRecord] = []
        batch.reserveCapacity(min(options.batchEventsMax, 4096))
        while batch.count < options.batchEventsMax, let record = try reader!.next() { batch.append(record) }
        guard !batch.isEmpty else { return 0 }
        let start = ContinuousClock.now
        let targets = active.map { (schema: $0.0.schema, definition: $0.1) }
        let outcomes = ParallelApply(appliers: try appliers(for: targets.count, main: applier), loadsEach: true, times: nil)
            .run(batch, targets: targets, costs: targets.map { costs[$0.schema] ?? 1 }, eventsPerSecond: rate)
        for (i, (target, definition)) in active.enumerated() {
            let (outcome, took) = try outcomes.get(i).get()
            costs[target.schema] = max(took, 0.001)
            if case .applied(_, let events) = outcome { options.batchApplied?(definition.name, events, .seconds(took)) }
            if case .applied = outcome, definition.refreshSQL != nil { refreshPending.insert(target.schema) }
            if case .failed(let seq, let reason) = outcome {
                logger.error("projection stopped: an event could not be applied", metadata: [
                    "projection": "\(definition.name)", "event.seq": "\(seq)", "error": "\(reason)"])
            }
        }
        let seconds = max((ContinuousClock.now - start).seconds, 1e-6)
        rate = Double(batch.count) / seconds
        return batch.count
    }

    /// True when a repair gave up seqs up to and including `checkpoint`.
    static func isInsideAGap(_ checkpoint: UInt64, _ gaps: [SeqGap]) -> Bool {
        gaps.contains { $0.after < checkpoint && checkpoint < $0.next }
    }

    /// A checkpoint inside a repair's gap (`log repair` gave up seqs the
    /// projection had already applied) means its tables hold effects of
    /// events the log no longer has. Such a projection is marked failed,
    /// naming the seqs and the rebuild that fixes it, and gets nothing more;
    /// a checkpoint before or past a gap is fine (the reader passes over it).
    private func stoppingThoseInsideRepairGaps(
        _ targets: [(ProjectionStore.Target, ProjectionDefinition)], connection c: PostgresConnection
    ) throws -> [(ProjectionStore.Target, ProjectionDefinition)] {
        let gaps = log.gaps
        guard !gaps.isEmpty else { return targets }
        return try targets.filter { target, definition in
            guard let gap = gaps.first(where: { $0.after < target.checkpoint && target.checkpoint < $0.next }) else { return true }
            let reason = "applied seqs \(gap.after + 1)...\(target.checkpoint), which a log repair gave up (see REPAIRS); "
                + "rebuild it from the log as it is now: careerlog projections rebuild \(definition.name)"
            try ProjectionStore.markFailed(c, schema: target.schema, seq: gap.after + 1, reason: reason)
            logger.error("projection stopped: it applied events that a log repair gave up; rebuild it", metadata: [
                "projection": "\(definition.name)", "event.seq": "\(gap.after + 1)", "checkpoint": "\(target.checkpoint)"])
            return false
        }
    }

    /// Runs until `shouldStop` returns true: applies batches as events
    /// arrive, waits when caught up, reconnects when PostgreSQL is away.
    public func run(shouldStop: @Sendable () -> Bool) {
        var failures = 0
        var random = SystemRandomNumberGenerator()
        let policy = options.reconnectPolicy
        while !shouldStop() {
            do {
                if failures > 0 || connection == nil {
                    try ensureLiveTargets(rebuildingStale: options.rebuildStaleOnStart && !rebuiltStale)
                    rebuiltStale = true
                }
                if failures > 0 { logger.info("projector resumed", metadata: ["postgres.failures": "\(failures)"]) }
                failures = 0
                let read = try step()
                try refreshDue(caughtUp: read == 0)
                if read == 0 { wait() }
            } catch let error as PostgresError where error.isConnectionFailure {
                failures += 1
                disconnect()
                let delay = policy.delayMs(afterFailures: failures, using: &random)
                logger.warning("PostgreSQL unavailable; the projector waits and resumes from its checkpoints",
                               metadata: ["postgres.failures": "\(failures)", "postgres.retry_ms": "\(delay)", "error": "\(error)"])
                // Cut short by a stop: a shutdown does not wait out a backoff (up to delayMsMax).
                guard policy.pause(milliseconds: delay, shouldStop: shouldStop) else { return }
            } catch {
                failures += 1
                disconnect()
                let delay = policy.delayMs(afterFailures: failures, using: &random)
                logger.error("projector error; retrying", metadata: ["error": "\(error)", "postgres.retry_ms": "\(delay)"])
                guard policy.pause(milliseconds: delay, shouldStop: shouldStop) else { return }
            }
        }
    }

    /// Refreshes the targets with pending changes whose interval passed, or
    /// all pending ones when caught up.
    public func refreshDue(caughtUp: Bool) throws {
        guard !refreshPending.isEmpty else { return }
        let (c, _) = try connect()
        let now = ContinuousClock.now
        for schema in refreshPending.sorted() {
            if !caughtUp, let last = lastRefresh[schema], now - last < options.refreshInterval { continue }
            guard let projection = try ProjectionStore.target(c, schema: schema)?.projection,
                  let sql = catalog.definition(named: projection)?.refreshSQL(in: schema) else {
                refreshPending.remove(schema)
                continue
            }
            let start = ContinuousClock.now
            try c.execute(sql)
            lastRefresh[schema] = ContinuousClock.now
            refreshPending.remove(schema)
            logger.debug("refreshed", metadata: ["schema": "\(schema)", "refresh.ms": "\(Int((ContinuousClock.now - start).seconds * 1000))"])
        }
    }

    private func wait() {
        let after = reader.map { $0.position - 1 } ?? log.lastSeq
        if log.mode == .readOnly {
            usleep(useconds_t(options.pollInterval.seconds * 1e6))
            _ = try? log.refresh()
        } else {
            _ = log.waitForEvents(after: after, timeout: options.pollInterval)
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
