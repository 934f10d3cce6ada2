import Foundation

/// A private PostgreSQL cluster under careerlog's data directory: the
/// read-model store when no database URL is configured.
///
///     <data-dir>/postgres/              the cluster directory, 0700, owned by the server account
///         data/                         PGDATA; initdb builds it as data.initdb and renames it,
///                                       so a half-made cluster is never taken for a real one
///         socket/.s.PGSQL.5432          the only way in: the server listens on no TCP port
///         server.log                    the server's own log (appended)
///         cluster.lock                  held while starting or stopping, across processes
///
/// Authentication is `trust`: whoever can open the socket is let in, and the
/// socket directory is 0700, so that is the account running the server (and
/// root). The server outlives the careerlog process that started it (pg_ctl
/// detaches it); `stop()` or `careerlog db stop` ends it.
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

    /// Starts the server, creating the cluster and the `careerlog` database
    /// first when missing, and returns `url` once it accepts connections.
    /// Already running: just returns `url`. After a crash, the server
    /// recovers by itself; lock files left by a dead server are cleared first.
    @discardableResult
    public func start() throws(EmbeddedClusterError) -> String {
        try checkPath()
        let account = try ServerAccount.choose(dataDirectory: dataDirectory)
        try prepareDirectory(directory, for: account)
        return try withLock { () throws(EmbeddedClusterError) -> String in
            if case .running = status() {
                try ensureDatabase()
                return url
            }
            let installation = try PostgresInstallation.find(majorVersion: createdByMajorVersion())
            try account.checkCanWrite(directory)
            if status() == .notInitialized { try initialize(installation, account) }
            try prepareDirectory(socketDirectory, for: account)
            try removeStaleLockFiles()
            try startServer(installation, account)
            try ensureDatabase()
            return url
        }
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
        }
    }

    private func startServer(_ installation: PostgresInstallation, _ account: ServerAccount) throws(EmbeddedClusterError) {
        let arguments = ["start", "-D", dataDirectory, "-l", logFile, "-w", "-t", String(Self.startSecondsMax), "-s",
                         "-o", Self.serverOptions(socketDirectory: socketDirectory)]
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
