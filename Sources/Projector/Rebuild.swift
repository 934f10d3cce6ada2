import EventLog
import Foundation
import StoredEventCodec
import Logging
import Postgres

/// Progress of a build, for the command line.
public struct BuildProgress: Sendable {
    public var schema: String
    public var checkpoint: UInt64
    public var head: UInt64
    public var eventsPerSecond: Double
    /// Seconds left at the current rate, when it can be estimated.
    public var etaSeconds: Double? {
        guard eventsPerSecond > 0, head >= checkpoint else { return nil }
        return Double(head - checkpoint) / eventsPerSecond
    }
}

/// Builds a projection into a schema of its own from seq 1 at bulk speed:
/// a rebuild (then swapped in for the live schema, atomically) or a read
/// model as of a past moment (kept beside the live one).
///
/// Runs beside a live projector (another process, usually `careerlog
/// serve`): both lock the live target's row, so the swap happens between
/// two of its batches, and the live projector carries on from the rebuilt
/// schema's checkpoint.
public final class ProjectionBuilder {
    /// A schema being built and the definition it is built from.
    typealias BuildTarget = (schema: String, definition: ProjectionDefinition)

    public struct Options: Sendable {
        /// Larger than the live projector's: bulk speed matters here.
        public var batchEventsMax = 50_000
        /// Connections working at once, each loading the batch and applying
        /// its share of the projections: PostgreSQL runs one backend per
        /// connection, so this is how a rebuild uses more than one core.
        public var connections = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
        /// Opens sealed PII for the read models (include mode, with the key
        /// store); nil loads every PII value as `null`. Keys destroyed by an
        /// erasure are gone, so no build (as-of builds included) brings an
        /// erased subject's PII back.
        public var pii: RecordOpener?
        public init() {}
    }

    let url: String
    let log: EventLog
    let catalog: ProjectionCatalog
    let logger: Logger
    let options: Options

    public init(url: String, log: EventLog, catalog: ProjectionCatalog, logger: Logger, options: Options = Options()) {
        self.url = url
        self.log = log
        self.catalog = catalog
        self.logger = logger
        self.options = options
    }

    public static func shadowSchema(for name: String) -> String { name + "__rebuild" }

    /// Rebuilds projection `name` into its shadow schema and swaps it in.
    public func rebuild(_ name: String, progress: (BuildProgress) -> Void) throws {
        try rebuild([name], progress: progress)
    }

    /// Rebuilds several projections in one pass over the log (one read and
    /// one COPY per batch, applied to every shadow schema), then swaps each in.
    /// A rebuild that fails leaves nothing behind: its shadow schemas and
    /// batch table are dropped, the live schemas carry on as they were.
    public func rebuild(_ names: [String], progress: (BuildProgress) -> Void) throws {
        let definitions = try names.map { name in
            guard let definition = catalog.definition(named: name) else {
                throw ProjectorError(code: .projectionUnknown, location: name,
                                     reason: "no such projection; known: \(catalog.definitions.map(\.name).joined(separator: ", "))")
            }
            return definition
        }
        let connection = try PostgresConnection(url: url)
        try ProjectionStore.prepare(connection)
        let targets = definitions.map { (schema: Self.shadowSchema(for: $0.name), definition: $0) }
        do {
            for target in targets {
                try ProjectionStore.create(connection, schema: target.schema, definition: target.definition, role: .shadow, state: .rebuilding)
            }
            logger.info("rebuild started", metadata: ["projections": "\(names.joined(separator: ","))"])
            try fillShadows(connection, targets: targets, progress: progress)
            for target in targets {
                // Derived objects are filled before anyone can read the schema.
                if let refresh = target.definition.refreshSQL(in: target.schema) { try connection.execute(refresh) }
                try swap(connection, applier: BatchApplier(connection: connection, pii: options.pii), definition: target.definition, shadow: target.schema)
                logger.info("rebuild swapped in", metadata: ["projection": "\(target.definition.name)"])
            }
        } catch {
            // Shadows already swapped in have no shadow row or schema left.
            for target in targets { try? ProjectionStore.remove(connection, schema: target.schema) }
            throw error
        }
    }

    /// Fills the shadow schemas from seq 1. With several connections, one
    /// load per batch goes into an unlogged table every worker reads; it is
    /// dropped here, after the workers dropped their views over it and
    /// closed (see `BatchApplier.dropShared`), or, if this process dies
    /// first, by the next `ProjectionStore.prepare`.
    private func fillShadows(
        _ connection: PostgresConnection, targets: [BuildTarget], progress: (BuildProgress) -> Void
    ) throws {
        let workers = max(1, min(options.connections, targets.count))
        guard workers > 1 else {
            try fill([BatchApplier(connection: connection, pii: options.pii)], shared: nil, reader: log.reader(fromSeq: 1), targets: targets, progress: progress)
            return
        }
        let shared = try BatchApplier.createSharedBatchTable(connection)
        do {
            try fillShared(connection, shared: shared, workers: workers, targets: targets, progress: progress)
        } catch {
            try? BatchApplier.dropShared(connection, name: shared)
            throw error
        }
        try BatchApplier.dropShared(connection, name: shared)
    }

    /// The worker connections live only as long as this call.
    private func fillShared(
        _ connection: PostgresConnection, shared: String, workers: Int, targets: [BuildTarget],
        progress: (BuildProgress) -> Void
    ) throws {
        var appliers = [BatchApplier(connection: connection, sharedBatchTable: shared, pii: options.pii)]
        // Each worker drops its view over the shared table before its
        // connection closes (see `BatchApplier.dropShared`).
        defer { for applier in appliers.dropFirst() { try? applier.detachShared() } }
        for _ in 1..<workers {
            appliers.append(BatchApplier(connection: try PostgresConnection(url: url), sharedBatchTable: shared, pii: options.pii))
        }
        try fill(appliers, shared: shared, reader: log.reader(fromSeq: 1), targets: targets, progress: progress)
    }

    /// Builds every projection as of a moment into schemas named
    /// `<into>_<projection>`: events with seq <= `untilSeq`, or with event
    /// time <= `untilTime` (RFC 3339; it is also the "as of" of analytics).
    /// Live schemas are not touched.
    ///
    /// A schema whose event fails ends `failed` at that seq, with the
    /// reason; the others are built, and then the first failure is thrown
    /// (`ProjectorError.Code.eventNotApplied`). Any other error drops the
    /// schemas built so far.
    public func buildAsOf(into prefix: String, untilSeq: UInt64?, untilTime: String?, progress: (BuildProgress) -> Void) throws -> [String] {
        let connection = try PostgresConnection(url: url)
        try ProjectionStore.prepare(connection)
        let targets = catalog.definitions.map { (schema: "\(prefix)_\($0.name)", definition: $0) }
        var failures: [ProjectorError] = []
        do {
            for target in targets {
                try ProjectionStore.create(connection, schema: target.schema, definition: target.definition, role: .asOf, state: .building,
                                           untilSeq: untilSeq, untilTime: untilTime)
            }
            failures = try fillAsOf(connection, prefix: prefix, targets: targets, untilSeq: untilSeq, progress: progress)
            for target in targets where !failures.contains(where: { $0.location == target.schema }) {
                if let refresh = target.definition.refreshSQL(in: target.schema) { try connection.execute(refresh) }
            }
            try ProjectionStore.markBuilt(connection, schemas: targets.map(\.schema))
        } catch {
            for target in targets { try? ProjectionStore.remove(connection, schema: target.schema) }
            throw error
        }
        if let failure = failures.first { throw failure }
        return targets.map(\.schema)
    }

    /// Applies the log up to `untilSeq` to the as-of targets; returns the
    /// targets that stopped on an event (they stay `failed`).
    private func fillAsOf(
        _ connection: PostgresConnection, prefix: String, targets: [BuildTarget], untilSeq: UInt64?,
        progress: (BuildProgress) -> Void
    ) throws -> [ProjectorError] {
        let applier = BatchApplier(connection: connection, pii: options.pii)
        let reader = log.reader(fromSeq: 1)
        var failures: [ProjectorError] = []
        var batch: [EventRecord] = []
        while true {
            batch.removeAll(keepingCapacity: true)
            while batch.count < options.batchEventsMax, let record = try reader.next() {
                if let untilSeq, record.seq > untilSeq { break }
                batch.append(record)
            }
            guard let last = batch.last else { break }
            try applier.load(batch)
            for target in targets where !failures.contains(where: { $0.location == target.schema }) {
                let outcome = try applier.apply(to: target.schema, definition: target.definition, eventsPerSecond: nil)
                guard case .failed(let seq, let reason) = outcome else { continue }
                logger.error("as-of build stopped for this schema: an event could not be applied",
                             metadata: ["schema": "\(target.schema)", "event.seq": "\(seq)", "error": "\(reason)"])
                failures.append(ProjectorError(code: .eventNotApplied, location: target.schema, seq: seq, reason: reason))
            }
            progress(BuildProgress(schema: prefix, checkpoint: last.seq, head: untilSeq ?? log.lastSeq, eventsPerSecond: 0))
            if let untilSeq, last.seq >= untilSeq { break }
        }
        return failures
    }

    /// Applies batches to every target until the reader reaches the log's
    /// end. With several appliers (connections), each loads the batch and
    /// applies a share of the targets, in parallel; shares are balanced by
    /// what each target cost in the previous batch.
    private func fill(
        _ appliers: [BatchApplier], shared: String?, reader: LogReader, targets: [BuildTarget],
        progress: (BuildProgress) -> Void
    ) throws {
        var batch: [EventRecord] = []
        batch.reserveCapacity(options.batchEventsMax)
        let start = ContinuousClock.now
        var applied = 0
        // Where the time goes, reported at the end: reading, and per worker
        // loading plus each projection.
        let times = StepTimes()
        defer {
            logger.info("rebuild time by step", metadata: Logger.Metadata(uniqueKeysWithValues: times.snapshot.map { ($0.key, "\(String(format: "%.2f", $0.value)) s") }))
        }
        var costs = [Double](repeating: 1, count: targets.count)
        while true {
            if log.mode == .readOnly { try log.refresh() }
            batch.removeAll(keepingCapacity: true)
            let t0 = ContinuousClock.now
            while batch.count < options.batchEventsMax, let record = try reader.next() { batch.append(record) }
            times.add("read", (ContinuousClock.now - t0).seconds)
            guard let last = batch.last else { return }
            applied += batch.count
            let rate = Double(applied) / max((ContinuousClock.now - start).seconds, 1e-6)
            let records = batch
            if shared != nil {
                // Load once: every connection copies its part, one indexes.
                let t = ContinuousClock.now
                try appliers[0].resetShared()
                let parts = appliers.count
                let failures = WorkerOutcomes(count: parts)
                let sendableAppliers = UncheckedBox(appliers)
                DispatchQueue.concurrentPerform(iterations: parts) { w in
                    let lower = records.count * w / parts, upper = records.count * (w + 1) / parts
                    do { try sendableAppliers.value[w].copyShared(records[lower..<upper]) } catch { failures.set(w, .failure(error)) }
                }
                for w in 0..<parts { if case .failure(let error)? = failures.peek(w) { throw error } }
                try appliers[0].indexShared()
                for applier in appliers { applier.adoptShared(records.first!.seq...last.seq) }
                times.add("load", (ContinuousClock.now - t).seconds)
            }
            let outcomes = ParallelApply(appliers: appliers, loadsEach: shared == nil, times: times)
                .run(records, targets: targets, costs: costs, eventsPerSecond: rate)
            for (i, target) in targets.enumerated() {
                let (outcome, took) = try outcomes.get(i).get()
                costs[i] = max(took, 0.001)
                if case .failed(let seq, let reason) = outcome {
                    throw ProjectorError(code: .eventNotApplied, location: target.definition.name, seq: seq, reason: reason)
                }
            }
            progress(BuildProgress(schema: targets.map(\.schema).joined(separator: ","), checkpoint: last.seq, head: log.lastSeq, eventsPerSecond: rate))
        }
    }

    /// Swaps the caught-up shadow schema in for the live one, in one
    /// transaction that holds the live target's row: the live projector's
    /// next batch waits for it and then continues from the new checkpoint.
    /// Readers see the old tables until the commit and the new ones after;
    /// never an empty or half-built table.
    private func swap(_ c: PostgresConnection, applier: BatchApplier, definition: ProjectionDefinition, shadow: String) throws {
        let live = definition.name
        let old = live + "__old"
        try c.execute("DROP SCHEMA IF EXISTS \(quoteIdentifier(old)) CASCADE")
        if log.mode == .readOnly { try log.refresh() }
        // Events appended since the shadow's last batch, applied under the lock.
        let checkpoint = try ProjectionStore.target(c, schema: shadow)?.checkpoint ?? 0
        let reader = log.reader(fromSeq: checkpoint + 1)
        var tail: [EventRecord] = []
        while let record = try reader.next() { tail.append(record) }
        try c.transaction { c in
            _ = try ProjectionStore.lock(c, schema: live)
            if !tail.isEmpty {
                try applier.load(tail)
                _ = try applier.applyLocked(c, schema: shadow, definition: definition, upTo: tail.last!.seq, only: nil, eventsPerSecond: nil)
                if let refresh = definition.refreshSQL(in: shadow) { try c.execute(refresh) }
            }
            let exists = try c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [live]).count > 0
            if exists { try c.execute("ALTER SCHEMA \(quoteIdentifier(live)) RENAME TO \(quoteIdentifier(old))") }
            try c.execute("ALTER SCHEMA \(quoteIdentifier(shadow)) RENAME TO \(quoteIdentifier(live))")
            try ProjectionStore.swapIn(c, shadow: shadow, live: live)
        }
        // Dropped after the commit, so the swap never waits on readers of the old tables.
        try c.execute("DROP SCHEMA IF EXISTS \(quoteIdentifier(old)) CASCADE")
    }

    /// Drops an as-of (or abandoned shadow) schema and its row.
    public static func drop(url: String, schema: String) throws {
        let c = try PostgresConnection(url: url)
        try ProjectionStore.prepare(c)
        try c.transaction { c in
            guard let target = try ProjectionStore.lock(c, schema: schema) else {
                throw ProjectorError(code: .schemaUnknown, location: schema, reason: "no such schema among the projector's targets")
            }
            guard target.role != .live else {
                throw ProjectorError(code: .schemaLive, location: schema, reason: "is a live projection; only as-of and shadow schemas can be dropped")
            }
            try ProjectionStore.remove(c, schema: schema)
        }
    }
}

/// Seconds spent per step, added from several threads.
final class StepTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: [String: Double] = [:]
    func add(_ key: String, _ value: Double) { lock.withLock { seconds[key, default: 0] += value } }
    var snapshot: [String: Double] { lock.withLock { seconds } }
}

/// One result slot per target, written by the worker that applied it.
final class WorkerOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<(BatchApplier.Outcome, Double), Error>?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<(BatchApplier.Outcome, Double), Error>) { lock.withLock { results[i] = r } }
    func setIfEmpty(_ i: Int, _ r: Result<(BatchApplier.Outcome, Double), Error>) { lock.withLock { if results[i] == nil { results[i] = r } } }
    func peek(_ i: Int) -> Result<(BatchApplier.Outcome, Double), Error>? { lock.withLock { results[i] } }
    func get(_ i: Int) -> Result<(BatchApplier.Outcome, Double), Error> {
        lock.withLock {
            guard let result = results[i] else { preconditionFailure("target \(i) was in no worker's share") }
            return result
        }
    }
}

/// Hands values to `concurrentPerform` workers, each touching only its own
/// element (the connections are not shared between threads).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
