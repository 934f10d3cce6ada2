import Foundation
import Logging
import Postgres
import Projector
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The private clusters this process started, so that it stops them when
/// its command ends: users of an embedded database expect it to live as
/// long as the program that started it. A cluster found running was
/// started by someone else (`db start`, a running `serve`) and is left alone.
public final class EmbeddedClusterLease: Sendable {
    /// The one lease of this process.
    public static let shared = EmbeddedClusterLease()

    /// False only in tests: a test process must not die of a signal.
    private let stopsOnInterrupt: Bool

    init(stopsOnInterrupt: Bool = true) {
        self.stopsOnInterrupt = stopsOnInterrupt
    }

    private struct Started {
        var cluster: EmbeddedCluster
        var keep: Bool
    }

    private let started = Mutex<[String: Started]>([:])

    /// What `db status` shows as the starter: the command line's command
    /// words (no option values, which may hold secrets) and the pid.
    public static var starter: String {
        let words = CommandLine.arguments.dropFirst().prefix { !$0.hasPrefix("-") }.prefix(2)
        return (["careerlog"] + words).joined(separator: " ") + " (pid \(getpid()))"
    }

    /// Starts `cluster` if it is not running and returns its URL; a start
    /// made here is remembered for `release`.
    public func acquire(_ cluster: EmbeddedCluster, keep: Bool) throws -> EmbeddedCluster.StartOutcome {
        if !keep && stopsOnInterrupt { releaseOnInterrupt() }
        // Held across the start (and by `release`), so an interrupt that
        // arrives meanwhile waits to learn whether this process started
        // the cluster.
        starting.lock()
        defer { starting.unlock() }
        let outcome = try cluster.start(startedBy: Self.starter)
        if outcome.startedNow {
            started.withLock { $0[cluster.directory] = Started(cluster: cluster, keep: keep) }
        }
        return outcome
    }

    private let starting = NSLock()

    private let interruptSources = Mutex<[any DispatchSourceSignal]>([])

    /// Ctrl-C or SIGTERM in the middle of a one-shot command would end the
    /// process before `release` and leave the cluster it started running.
    /// Where nobody else handles the signal (`serve`, `project` and
    /// `replay --follow` do, and release themselves), stop the clusters
    /// first, then die of the signal as before, so the shell still sees it.
    private func releaseOnInterrupt() {
        interruptSources.withLock { sources in
            guard sources.isEmpty else { return }
            for signalNumber in [SIGINT, SIGTERM] where Self.hasDefaultAction(signalNumber) {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { [self] in
                    starting.lock()  // kept until the process dies of the signal
                    stopStarted(report: { Self.writeToStandardError("note: \($0)\n") })
                    signal(signalNumber, SIG_DFL)
                    kill(getpid(), signalNumber)  // to the process: this dispatch thread blocks it
                }
                source.resume()
                sources.append(source)
            }
        }
    }

    private static func hasDefaultAction(_ signalNumber: Int32) -> Bool {
        var current = sigaction()
        sigaction(signalNumber, nil, &current)
        return current.__sigaction_handler.sa_handler == nil  // SIG_DFL is the null handler
    }

    /// Stops every cluster this process started (unless kept), telling
    /// `report` which happened. Called once the command's last database
    /// work is done (for `serve`, after the projector's last commit).
    public func release(report: (String) -> Void) {
        // Waits for an interrupt's release (which then ends the process),
        // so the command's own ending cannot exit half-way through it.
        starting.lock()
        defer { starting.unlock() }
        stopStarted(report: report)
    }

    private func stopStarted(report: (String) -> Void) {
        let clusters = started.withLock { all in
            defer { all.removeAll() }
            return Array(all.values)
        }
        for entry in clusters {
            let data = (entry.cluster.directory as NSString).deletingLastPathComponent
            if entry.keep {
                report("the private PostgreSQL in \(entry.cluster.directory) keeps running (--keep-db); stop it with `careerlog db stop --data-dir \(data)`")
                continue
            }
            do {
                try entry.cluster.stop()
                report("stopped the private PostgreSQL in \(entry.cluster.directory) that this command started (--keep-db or `careerlog db start` keep it running)")
            } catch {
                report("could not stop the private PostgreSQL in \(entry.cluster.directory) that this command started: \(error); stop it with `careerlog db stop --data-dir \(data)`")
            }
        }
    }

    /// One unbuffered write: the process is about to die of a signal.
    private static func writeToStandardError(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress!, $0.count - 1) }
    }
}

extension ProjectorConfiguration {
    /// The read models at `configuredURL`, else in the private cluster
    /// `cluster`, resolved on the projector's thread (starting the cluster
    /// when needed, so ingest never waits for it). A cluster started here
    /// is stopped once the projector has made its last commit (unless
    /// `keep`); one found running is left. `resolved` learns the URL, for
    /// the HTTP window, which reads figures there.
    public static func readModels(
        catalog: ProjectionCatalog, options: Projector.Options, configuredURL: String?, cluster: EmbeddedCluster,
        keep: Bool, resolved: ResolvedDatabaseURL, logger: Logger
    ) -> ProjectorConfiguration {
        ProjectorConfiguration(catalog: catalog, options: options, databaseURL: {
            if let configuredURL {
                resolved.value = configuredURL
                return configuredURL
            }
            let outcome = try EmbeddedClusterLease.shared.acquire(cluster, keep: keep)
            if outcome.startedNow {
                logger.info("started the private PostgreSQL; serve stops it when it stops\(keep ? " (not with --keep-db)" : "")",
                            metadata: ["postgres.directory": "\(cluster.directory)"])
            } else {
                logger.info("the private PostgreSQL was already running; serve leaves it running", metadata: ["postgres.directory": "\(cluster.directory)"])
            }
            resolved.value = outcome.url
            return outcome.url
        }, release: {
            EmbeddedClusterLease.shared.release(report: { logger.info("\($0)") })
        })
    }
}
