import Foundation

/// A private PostgreSQL cluster under careerlog's data directory: the
/// read-model store when no database URL is configured.
///
///     <data-dir>/postgres/              the cluster directory, 0700, owned by the server account
///         data/                         PGDATA; initdb builds it as data.initdb and renames it,
///                                       so a half-made cluster is never taken for a real one
///         socket/.s.PGSQL.5432          the only way in: the server listens on no TCP port
///         server.log                    what the server writes before its log collector runs (appended)
///         log/server-HH.log             the server's log: one file per hour of the day, each
///                                       truncated when its hour comes round again, so at most 24
///         cluster.lock                  held while starting or stopping, across processes
///         started-by                    who started the running server (a line of text),
///                                       written by `start`, removed by `stop`
///
/// Authentication is `trust`: whoever can open the socket is let in, and the
/// socket directory is 0700, so that is the account running the server (and
/// root). pg_ctl detaches the server: it runs until `stop()`; careerlog's
/// commands stop the server they started when they end (see `careerlog db`).
///
/// When careerlog runs as root the cluster is run by an unprivileged account
/// instead (see `ServerAccount`), since PostgreSQL refuses to run as root.
public struct EmbeddedCluster: Sendable {
    /// The superuser initdb creates, and the user in `url`.
    public static let userName = "careerlog"
    /// The database `start()` creates and `url` names.
    public static let databaseName = "careerlog"
    /// Names the socket file only: nothing listens on TCP, so it cannot clash
    /// with another server on the machine.
    public static let port = 5432

    /// initdb's time limit, in seconds: it syncs every file it writes, which
    /// takes several seconds on slow disks.
    static let initdbSecondsMax = 300
    /// pg_ctl start's time limit, in seconds: after a crash the server first
    /// replays its WAL (up to max_wal_size), which can take minutes.
    static let startSecondsMax = 300
    /// pg_ctl stop's time limit, in seconds: a fast shutdown still writes a checkpoint.
    static let stopSecondsMax = 120
    /// How long to retry connecting once pg_ctl reports the server up, in seconds.
    static let readySecondsMax = 30

    /// The cluster directory, absolute.
    public let directory: String
    public var dataDirectory: String { directory + "/data" }
    public var socketDirectory: String { directory + "/socket" }
    public var logFile: String { directory + "/server.log" }
    /// Where the server's log collector writes (`log/server-HH.log`).
    public var logDirectory: String { directory + "/log" }
    /// Who started the running server, as `start(startedBy:)` recorded it.
    var startedByFile: String { directory + "/started-by" }

    /// `directory` is usually `<data-dir>/postgres`; a relative path is taken
    /// from the current directory.
    public init(directory: String) {
        let absolute = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        self.directory = URL(fileURLWithPath: absolute).standardizedFileURL.path
    }

    /// The connection URL of the `careerlog` database, for this layer and for
    /// `psql`; valid whether or not the server is running.
    public var url: String { url(database: Self.databaseName) }

    public enum Status: Sendable, Equatable {
        /// No cluster yet: `start()` creates one.
        case notInitialized
        case stopped
        case running(pid: Int32)
    }

    /// Whether the server runs, from its `postmaster.pid`. A server killed
    /// without a clean shutdown counts as stopped, even while it lingers as an
    /// unreaped zombie.
    public func status() -> Status {
        guard Self.readSmallFile(dataDirectory + "/PG_VERSION") != nil else { return .notInitialized }
        guard let pid = postmasterPID(), Self.isLivePostgres(pid) else { return .stopped }
        return .running(pid: pid)
    }

    /// Starts the server (see `start(startedBy:)`) and returns `url`.
    @discardableResult
    public func start() throws(EmbeddedClusterError) -> String {
        try start(startedBy: "careerlog (pid \(getpid()))").url
    }

    /// What `start(startedBy:)` did.
    public struct StartOutcome: Sendable, Equatable {
        /// The `careerlog` database's URL.
        public var url: String
        /// True when this call started the server; false when it was running.
        public var startedNow: Bool
    }

    /// Who started the running server (what `start(startedBy:)` was given),
    /// nil when not recorded (not running, or started by other means).
    public var startedBy: String? {
        guard case .running = status(), let text = Self.readSmallFile(startedByFile, fromEndBytes: 1024) else { return nil }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return line.isEmpty ? nil : line
    }

    /// Starts the server, creating the cluster and the `careerlog` database
    /// first when missing, and returns once it accepts connections. Records
    /// `startedBy` (e.g. "careerlog serve (pid 42)") for `startedBy` and
    /// `careerlog db status` when this call starts it. Already running: only
    /// makes sure the database exists. After a crash, the server recovers by
    /// itself; lock files left by a dead server are cleared first.
    public func start(startedBy: String) throws(EmbeddedClusterError) -> StartOutcome {
        try checkPath()
        let account = try ServerAccount.choose(dataDirectory: dataDirectory)
        try prepareDirectory(directory, for: account)
        return try withLock { () throws(EmbeddedClusterError) -> StartOutcome in
            if case .running = status() {
                try ensureDatabase()
                return StartOutcome(url: url, startedNow: false)
            }
            let installation = try PostgresInstallation.find(majorVersion: createdByMajorVersion())
            try account.checkCanWrite(directory)
            if status() == .notInitialized { try initialize(installation, account) }
            try prepareDirectory(socketDirectory, for: account)
            try removeStaleLockFiles()
            try prepareDirectory(logDirectory, for: account)
            // Recorded first: whoever sees the server running sees who started it.
            recordStartedBy(startedBy)
            do throws(EmbeddedClusterError) {
                try startServer(installation, account)
            } catch {
                unlink(startedByFile)
                throw error
            }
            try ensureDatabase()
            return StartOutcome(url: url, startedNow: true)
        }
    }

    /// Best effort: the record only informs `db status`.
    private func recordStartedBy(_ text: String) {
        let line = text.replacingOccurrences(of: "\n", with: " ") + "\n"
        try? line.write(toFile: startedByFile, atomically: true, encoding: .utf8)
    }

    /// Stops the server (fast shutdown: open transactions are rolled back,
    /// committed ones are kept). Not running: does nothing.
    public func stop() throws(EmbeddedClusterError) {
        guard case .running = status() else { return }
        let account = try ServerAccount.choose(dataDirectory: dataDirectory)
        try withLock { () throws(EmbeddedClusterError) in
            guard case .running = status() else { return }
            let installation = try PostgresInstallation.find(majorVersion: createdByMajorVersion())
            let arguments = ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", String(Self.stopSecondsMax), "-s"]
            let pgCtl = try account.command(label: "pg_ctl stop", installation.pgCtl, arguments, directory: directory)
            let outcome = try pgCtl.run(timeoutSeconds: Self.stopSecondsMax + 10)
            guard outcome.status == 0 else {
                throw EmbeddedClusterError(code: .command, message: "pg_ctl could not stop the server in \(dataDirectory): \(outcome.output)",
                                           serverLogTail: logTail())
            }
            unlink(startedByFile)
        }
    }

    private func startServer(_ installation: PostgresInstallation, _ account: ServerAccount) throws(EmbeddedClusterError) {
        let arguments = ["start", "-D", dataDirectory, "-l", logFile, "-w", "-t", String(Self.startSecondsMax), "-s",
                         "-o", Self.serverOptions(socketDirectory: socketDirectory, logDirectory: logDirectory)]
        let pgCtl = try account.command(label: "pg_ctl start", installation.pgCtl, arguments, directory: directory)
        let outcome = try pgCtl.run(timeoutSeconds: Self.startSecondsMax + 10)
        guard outcome.status == 0 else {
            throw EmbeddedClusterError(code: .command, message: "pg_ctl could not start the server in \(dataDirectory): \(outcome.output)",
                                       serverLogTail: logTail())
        }
    }

    /// Waits until the server takes connections, then creates the `careerlog`
    /// database if it is missing.
    private func ensureDatabase() throws(EmbeddedClusterError) {
        let connection = try connectWhenReady(database: "postgres")
        do {
            if try connection.query("SELECT 1 FROM pg_database WHERE datname = $1", [Self.databaseName]).isEmpty {
                try connection.execute("CREATE DATABASE \(Self.databaseName)")
            }
        } catch {
            throw EmbeddedClusterError(code: .notReady, message: "cannot create the \(Self.databaseName) database: \(error)", serverLogTail: logTail())
        }
    }

    /// Connects, retrying while the server is still coming up (it refuses
    /// connections with 57P03 during recovery) for up to `readySecondsMax`.
    private func connectWhenReady(database: String) throws(EmbeddedClusterError) -> PostgresConnection {
        let deadline = ContinuousClock.now + .seconds(Self.readySecondsMax)
        while true {
            do {
                return try PostgresConnection(url: url(database: database))
            } catch where error.isConnectionFailure && ContinuousClock.now < deadline {
                usleep(100_000)
            } catch {
                throw EmbeddedClusterError(code: .notReady, message: "the server in \(dataDirectory) does not accept connections: \(error)",
                                           serverLogTail: logTail())
            }
        }
    }
}
