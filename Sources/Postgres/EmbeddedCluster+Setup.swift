import Foundation

extension EmbeddedCluster {
    /// The server's settings. They go on pg_ctl's command line at every start
    /// (overriding postgresql.conf), so they live here with their reasons and
    /// a newer careerlog brings newer settings to an existing cluster.
    static func serverSettings(socketDirectory: String, logDirectory: String) -> KeyValuePairs<String, String> {
        [
            // Unix socket only: no TCP listener, no port clash, nothing exposed to the network.
            "listen_addresses": "",
            "port": String(port),
            // Double quotes keep a path with spaces one entry of this list setting.
            "unix_socket_directories": "\"\(socketDirectory)\"",
            // With trust authentication, the socket's permissions are the access control.
            "unix_socket_permissions": "0700",
            // Durability stays on: a projection's rows and checkpoint commit together,
            // and exactly-once rests on that commit surviving a crash.
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            // Modest: the same machine runs the log, ingest and the projector.
            "shared_buffers": "128MB",
            // Projector workers, CLI commands and a few psql sessions.
            "max_connections": "50",
            // No replicas; minimal WAL lets a rebuild's COPY into tables created in
            // the same transaction skip writing the rows to WAL.
            "wal_level": "minimal",
            "max_wal_senders": "0",
            // Fewer forced checkpoints during bulk rebuilds.
            "max_wal_size": "2GB",
            // Read models compare and print timestamps the same way everywhere.
            "timezone": "UTC",
            "log_timezone": "UTC",
            // A bounded log: the collector writes one file per hour of the day and
            // truncates it when that hour comes round again, so at most 24 files of
            // an hour each; size-driven rotation is off since it would append to
            // the same name.
            "logging_collector": "on",
            "log_directory": logDirectory,
            "log_filename": "server-%H.log",
            "log_truncate_on_rotation": "on",
            "log_rotation_age": "60",
            "log_rotation_size": "0",
        ]
    }

    /// The `-o` argument of pg_ctl, which hands it to the server through
    /// /bin/sh: every `-c name=value` is single-quoted for the shell.
    static func serverOptions(socketDirectory: String, logDirectory: String) -> String {
        serverSettings(socketDirectory: socketDirectory, logDirectory: logDirectory)
            .map { "-c " + shellQuoted("\($0.key)=\($0.value)") }
            .joined(separator: " ")
    }

    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// `postgresql://careerlog@/<database>?host=<socket dir>&port=5432`
    public func url(database: String) -> String {
        "postgresql://\(Self.userName)@/\(database)?host=\(Self.percentEncoded(socketDirectory))&port=\(Self.port)"
    }

    /// Percent-encodes all but unreserved URL characters and `/`.
    static func percentEncoded(_ text: String) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/".utf8)
        return text.utf8.map { unreserved.contains($0) ? String(UnicodeScalar($0)) : String(format: "%%%02X", $0) }.joined()
    }

    /// Longest Unix socket path Linux accepts, in bytes (sun_path holds 108 with the NUL).
    static let socketPathBytesMax = 107

    /// Rejects directories the server cannot use: pg_ctl passes the data
    /// directory to /bin/sh inside double quotes, and the socket path must fit
    /// in a socket address.
    func checkPath() throws(EmbeddedClusterError) {
        if let bad = directory.first(where: { "\"$`\\\n".contains($0) }) {
            throw EmbeddedClusterError(code: .directory, message: "the cluster directory \(directory) contains \(bad.debugDescription), which pg_ctl cannot pass on: choose another --data-dir")
        }
        let socketPathBytes = socketDirectory.utf8.count + "/.s.PGSQL.\(Self.port)".utf8.count
        guard socketPathBytes <= Self.socketPathBytesMax else {
            throw EmbeddedClusterError(code: .directory, message: """
                the server's socket path would be \(socketPathBytes) bytes, over the \(Self.socketPathBytesMax) Unix allows: \
                choose a shorter --data-dir than \(directory)
                """)
        }
    }

    /// Creates `path` (mode 0700, parents as needed) and gives it to `account`.
    func prepareDirectory(_ path: String, for account: ServerAccount) throws(EmbeddedClusterError) {
        do {
            let parent = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw EmbeddedClusterError(code: .directory, message: "cannot create \(path): \(error.localizedDescription)")
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw EmbeddedClusterError(code: .directory, message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        try account.own(path)
    }

    /// Runs initdb into a staging directory and renames it into place, so an
    /// interrupted initdb leaves nothing that looks like a cluster.
    func initialize(_ installation: PostgresInstallation, _ account: ServerAccount) throws(EmbeddedClusterError) {
        let staging = directory + "/data.initdb"
        try? FileManager.default.removeItem(atPath: staging)
        let arguments = ["-D", staging, "-U", Self.userName, "--auth=trust", "--encoding=UTF8", "--no-locale",
                         // Checksums make a damaged page an error instead of silently wrong rows.
                         "--data-checksums"]
        let initdb = try account.command(label: "initdb", installation.initdb, arguments, directory: directory)
        let outcome = try initdb.run(timeoutSeconds: Self.initdbSecondsMax)
        guard outcome.status == 0 else {
            throw EmbeddedClusterError(code: .command, message: "initdb failed (exit status \(outcome.status)) in \(staging):\n\(outcome.output)")
        }
        guard rename(staging, dataDirectory) == 0 else {
            throw EmbeddedClusterError(code: .directory, message: "cannot rename \(staging) to \(dataDirectory): \(String(cString: strerror(errno)))")
        }
    }

    /// Serializes start and stop across threads and processes; closing the
    /// descriptor releases the lock, also when the process dies.
    func withLock<T>(_ body: () throws(EmbeddedClusterError) -> T) throws(EmbeddedClusterError) -> T {
        let path = directory + "/cluster.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw EmbeddedClusterError(code: .directory, message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw EmbeddedClusterError(code: .directory, message: "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
        return try body()
    }

    /// After a crash the lock files still name the dead postmaster. PostgreSQL
    /// clears them itself when that process is gone, but not when it lingers
    /// as a zombie (under an init that does not reap, as in some containers):
    /// it takes it for a live server and refuses to start. So clear them here
    /// once `status()` has found the process dead or a zombie. The server's
    /// shared-memory check still stops it if any old backend is alive.
    func removeStaleLockFiles() throws(EmbeddedClusterError) {
        guard postmasterPID() != nil, status() == .stopped else { return }
        for path in [dataDirectory + "/postmaster.pid", socketDirectory + "/.s.PGSQL.\(Self.port).lock"] {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw EmbeddedClusterError(code: .directory, message: "cannot remove the stale lock file \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The major version in PG_VERSION, nil before initdb.
    func createdByMajorVersion() -> Int? {
        Self.readSmallFile(dataDirectory + "/PG_VERSION").flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// The first line of postmaster.pid, nil when there is none.
    func postmasterPID() -> Int32? {
        guard let text = Self.readSmallFile(dataDirectory + "/postmaster.pid"), let line = text.split(separator: "\n").first else { return nil }
        return Int32(line.trimmingCharacters(in: .whitespaces))
    }

    /// True when `pid` is a running (not zombie) process named postgres, so a
    /// dead server's pid reused by another program is not taken for it.
    /// `/proc/<pid>/stat` reads "pid (name) state ...".
    static func isLivePostgres(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = readSmallFile("/proc/\(pid)/stat"), let open = stat.firstIndex(of: "("),
              let close = stat.lastIndex(of: ")")
        else { return true }
        let name = stat[stat.index(after: open)..<close]
        let state = stat[stat.index(after: close)...].first(where: { $0 != " " })
        return name.hasPrefix("postgres") && state != "Z" && state != "X"
    }

    /// The newest server log's last lines, for error messages: the
    /// collector's newest file, or server.log when the server failed before
    /// its collector started.
    func logTail() -> String? {
        /// Read at most this much of the log's end, in bytes.
        let tailBytesMax = 8 << 10
        /// Show at most this many lines.
        let tailLinesMax = 20
        guard let text = Self.readSmallFile(newestLogFile(), fromEndBytes: tailBytesMax) else { return nil }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(tailLinesMax).joined(separator: "\n")
            .trimmingTrailingWhitespace()
    }

    /// The most recently written of server.log and the collector's files.
    func newestLogFile() -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: logDirectory)) ?? []
        let candidates = [logFile] + names.filter { $0.hasSuffix(".log") }.map { logDirectory + "/" + $0 }
        func modified(_ path: String) -> Int {
            var info = stat()
            return stat(path, &info) == 0 ? info.st_mtim.tv_sec : -1
        }
        return candidates.max { modified($0) < modified($1) } ?? logFile
    }

    /// A file's text, or with `fromEndBytes` its end; nil when it cannot be
    /// read. Reads until end-of-file, since /proc files report size 0.
    static func readSmallFile(_ path: String, fromEndBytes: Int = 64 << 10) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        lseek(fd, max(0, size - off_t(fromEndBytes)), SEEK_SET)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < fromEndBytes {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
