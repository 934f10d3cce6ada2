import ArgumentParser
import Foundation
import Postgres
import Synchronization

/// Where the read models live: `--database-url`, else `$DATABASE_URL`, else
/// the private cluster in `<data-dir>/postgres`, started when needed and
/// stopped again when the command ends (unless `--keep-db`, or it was
/// already running).
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "PostgreSQL URL or libpq connection string for the read models (default: $DATABASE_URL, else a private cluster in <data-dir>/postgres, started when needed).",
        valueName: "url"))
    var databaseURL: String?

    @Flag(name: .customLong("keep-db"), help: "Leave the private cluster running when this command started it (by default it is stopped when the command ends).")
    var keepDatabase = false

    /// The URL given by option or environment; nil means the embedded cluster.
    var configuredURL: String? { configuredDatabaseURL(databaseURL) }

    /// The URL to connect to. Without a configured one, starts the private
    /// cluster of `data` if it is not running (creating it on first use);
    /// one this process started is stopped when the command ends.
    func connectionURL(data: DataDirectoryOptions) throws -> String {
        if let configuredURL { return configuredURL }
        return try EmbeddedClusterLease.shared.acquire(data.embeddedCluster, keep: keepDatabase).url
    }
}

/// `--database-url`, else `$DATABASE_URL`; nil when neither is set.
func configuredDatabaseURL(_ option: String?) -> String? {
    if let option, !option.isEmpty { return option }
    if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty { return env }
    return nil
}

extension DataDirectoryOptions {
    /// The private PostgreSQL cluster in `<data-dir>/postgres`.
    var embeddedCluster: EmbeddedCluster { EmbeddedCluster(directory: path + "/postgres") }
}

/// The private clusters this process started, so that it stops them when
/// its command ends: users of an embedded database expect it to live as
/// long as the program that started it. A cluster found running was
/// started by someone else (`db start`, a running `serve`) and is left alone.
final class EmbeddedClusterLease: Sendable {
    static let shared = EmbeddedClusterLease()

    private struct Started {
        var cluster: EmbeddedCluster
        var keep: Bool
    }

    private let started = Mutex<[String: Started]>([:])

    /// What `db status` shows as the starter: the command line's command
    /// words (no option values, which may hold secrets) and the pid.
    static var starter: String {
        let words = CommandLine.arguments.dropFirst().prefix { !$0.hasPrefix("-") }.prefix(2)
        return (["careerlog"] + words).joined(separator: " ") + " (pid \(getpid()))"
    }

    /// Starts `cluster` if it is not running and returns its URL; a start
    /// made here is remembered for `release`.
    func acquire(_ cluster: EmbeddedCluster, keep: Bool) throws -> EmbeddedCluster.StartOutcome {
        if !keep { releaseOnInterrupt() }
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
                    stopStarted(report: { printError("note: \($0)") })
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
    func release(report: (String) -> Void) {
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
}
