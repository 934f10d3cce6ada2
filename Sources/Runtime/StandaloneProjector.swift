import EventLog
import Logging
import Projector

#if canImport(Glibc)
import Glibc
#endif

/// `careerlog project`: the projector alone, without ingest, tailing a log
/// that another process may append to, until SIGINT or SIGTERM.
public enum StandaloneProjector {
    /// Opens the log read-only, then resolves `url` (which may start the
    /// private cluster), and projects until a signal asks it to stop.
    public static func run(logDirectory: String, url: () throws -> String, catalog: ProjectionCatalog, options: Projector.Options, logger: Logger) throws {
        let log = try EventLog.open(directory: logDirectory, mode: .readOnly)
        let projector = Projector(url: try url(), log: log, catalog: catalog, logger: logger, options: options)
        let stop = StopSignal()
        stop.trap([SIGINT, SIGTERM])
        logger.info("projector started", metadata: ["log.last_seq": "\(log.lastSeq)"])
        projector.run(shouldStop: { stop.isRequested })
        logger.info("projector stopped")
    }
}
