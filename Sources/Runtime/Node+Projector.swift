import EventLog
import Foundation
import Logging
import Postgres
import Projector
import Telemetry

/// The read models a node keeps current, and how it finds their database.
public struct ProjectorConfiguration: Sendable {
    /// The projections to keep current.
    public var catalog: ProjectionCatalog
    /// Batching, refresh, rebuild-on-start, and the reconnect policy used
    /// both while resolving the database and while running.
    public var options: Projector.Options
    /// The read models' PostgreSQL URL. Called on the projector's thread
    /// (never on ingest's), retried per `options.reconnectPolicy` until it
    /// answers or the node stops; it may take long, e.g. to start the
    /// embedded cluster on first use.
    public var databaseURL: @Sendable () throws -> String
    /// Called once the projector has stopped (after its last commit) while
    /// the node drains, before the log closes: the place to stop a database
    /// the node started (`careerlog serve` and its private cluster).
    public var release: (@Sendable () -> Void)?

    public init(catalog: ProjectionCatalog, options: Projector.Options = Projector.Options(),
                databaseURL: @escaping @Sendable () throws -> String, release: (@Sendable () -> Void)? = nil) {
        self.catalog = catalog
        self.options = options
        self.databaseURL = databaseURL
        self.release = release
    }
}

extension Node {
    /// Runs the projector on a thread of its own, reading the log in this
    /// process (it sees events once they are durable). `projectorDone` is
    /// left when the thread ends.
    func startProjector(_ projector: ProjectorConfiguration, log: EventLog, projectorDone: DispatchGroup, logger: Logger) {
        var logger = logger
        logger[metadataKey: "component"] = "projector"
        let stop = projectorStop
        let options = Self.recordingBatches(projector.options, into: configuration.metrics)
        projectorDone.enter()
        let thread = Thread { [logger] in
            defer { projectorDone.leave() }
            guard let url = Self.resolveDatabase(projector, stop: stop, logger: logger) else { return }
            logger.info("projector started", metadata: ["projections": "\(projector.catalog.definitions.map(\.name).joined(separator: ","))"])
            Projector(url: url, log: log, catalog: projector.catalog, logger: logger, options: options)
                .run(shouldStop: { stop.isRequested })
        }
        thread.name = "careerlog-projector"
        thread.start()
    }

    /// `options` with the projector's batches recorded into `metrics`
    /// (events applied, batch apply time, per projection), unless the
    /// caller already watches batches or there are no metrics.
    static func recordingBatches(_ options: Projector.Options, into metrics: CareerlogMetrics?) -> Projector.Options {
        guard let metrics, options.batchApplied == nil else { return options }
        var options = options
        options.batchApplied = { projection, events, duration in
            // A lookup under a short lock, once per projection per batch.
            let handles = metrics.projection(projection)
            handles.eventsApplied.increment(by: events)
            let (seconds, attoseconds) = duration.components
            handles.batchApplySeconds.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
        return options
    }

    /// The database URL, retried with the reconnect policy while it fails;
    /// nil when the node stops first.
    static func resolveDatabase(_ projector: ProjectorConfiguration, stop: StopSignal, logger: Logger) -> String? {
        let policy = projector.options.reconnectPolicy
        var random = SystemRandomNumberGenerator()
        var failures = 0
        while !stop.isRequested {
            do {
                return try projector.databaseURL()
            } catch {
                failures += 1
                guard failures < policy.attemptsMax else {
                    logger.critical("PostgreSQL for the read models is not available; giving up, the read models stay as they are until a restart",
                                    metadata: ["error": "\(error)", "postgres.failures": "\(failures)"])
                    return nil
                }
                let delayMs = policy.delayMs(afterFailures: failures, using: &random)
                logger.error("PostgreSQL for the read models is not available; retrying", metadata: [
                    "error": "\(error)", "postgres.failures": "\(failures)", "postgres.retry_ms": "\(delayMs)",
                ])
                // The stop signal wakes this sleep at once: a SIGTERM does not wait out the delay.
                if stop.sleep(for: .milliseconds(delayMs)) { return nil }
            }
        }
        return nil
    }
}
