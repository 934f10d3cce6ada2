import EventLog
import Logging
import Projector

#if canImport(Glibc)
import Glibc
#endif

/// `careerlog project`: the projector alone, without ingest, tailing a log
/// that another process may append to, until SIGINT or SIGTERM.
public enum StandaloneProjector {
    /// Traps SIGINT and SIGTERM, opens the log read-only, then resolves
    /// `url` (which may start the private cluster) and `catalog`, in that
    /// order, and projects until a signal asks it to stop.
    public static func run(
        logDirectory: String, url: () throws -> String, catalog: () throws -> ProjectionCatalog, options: Projector.Options, logger: Logger
    ) throws {
        // Trapped before the cluster is acquired: the signals are this
        // command's to handle (a graceful stop), not the one-shot release's,
        // whose SIG_IGN the trap would otherwise find and a SIGTERM be lost.
        let stop = StopSignal()
        stop.trap([SIGINT, SIGTERM])
        let log = try EventLog.open(directory: logDirectory, mode: .readOnly)
        let projector = Projector(url: try url(), log: log, catalog: try catalog(), logger: logger, options: options)
        logger.info("projector started", metadata: ["log.last_seq": "\(log.lastSeq)"])
        projector.run(shouldStop: { stop.isRequested })
        logger.info("projector stopped")
    }
}
