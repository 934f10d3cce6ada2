import Foundation

/// Runs a helper program (initdb, pg_ctl) to completion, with a deadline.
///
/// `pg_ctl start` leaves a server running that inherits whatever the
/// program inherited. So this uses `posix_spawn` and `waitpid` directly, not
/// Foundation's `Process` (which notices the exit through a socket the child
/// inherits, and the server would keep that socket open forever): the child
/// gets /dev/null as stdin, an anonymous temporary file as stdout and stderr
/// (never a pipe whose end-of-file the server could hold back), and none of
/// our other descriptors.
struct ChildProcess {
    struct Outcome {
        var status: Int32
        /// Combined stdout and stderr, at most `outputBytesMax` (the end).
        var output: String
    }

    /// Keep at most this much output, in bytes: enough for any initdb or
    /// pg_ctl message, bounded whatever the program prints.
    static let outputBytesMax = 64 << 10
    /// How often to check whether the child has exited, in milliseconds.
    static let pollMs = 10

    /// What this is, for messages: "initdb", "pg_ctl start".
    var label: String
    var executable: String
    var arguments: [String]
    var directory: String

    func run(timeoutSeconds: Int) throws(EmbeddedClusterError) -> Outcome {
        guard let file = tmpfile() else { throw failure("cannot create a temporary file: \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        let pid = try spawn(output: fileno(file))
        let status = try wait(pid, timeoutSeconds: timeoutSeconds)
        return Outcome(status: status, output: Self.readTail(fileno(file)))
    }

    private func spawn(output: Int32) throws(EmbeddedClusterError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        for fd in Self.inheritedDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        _ = Self.addChdir?(&actions, directory)

        // Default dispositions and no blocked signals: the server must not
        // inherit our ignored SIGPIPE or a thread's signal mask.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = Self.environment().map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let error = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard error == 0 else { throw failure("cannot run \(executable): \(String(cString: strerror(error)))") }
        return pid
    }

    /// Waits for the child's exit status; past the deadline, kills it.
    private func wait(_ pid: pid_t, timeoutSeconds: Int) throws(EmbeddedClusterError) -> Int32 {
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if done < 0 && errno != EINTR { throw failure("waitpid: \(String(cString: strerror(errno)))") }
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                throw failure("did not finish within \(timeoutSeconds) s and was killed")
            }
            usleep(useconds_t(Self.pollMs * 1_000))
        }
        // Exit code when it exited (WIFEXITED); 128 + signal when a signal ended it.
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// Our open descriptors that would survive exec (no FD_CLOEXEC), from
    /// /proc/self/fd. One opened by another thread after this look is missed,
    /// which is why our own files and sockets are opened close-on-exec.
    private static func inheritedDescriptors() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap(Int32.init).filter { fd in
            let flags = fcntl(fd, F_GETFD)
            return flags >= 0 && flags & FD_CLOEXEC == 0
        }
    }

    /// glibc's posix_spawn_file_actions_addchdir_np (2.29+), which the Glibc
    /// module does not import. Without it the child keeps our directory; the
    /// helpers then only warn when that directory is closed to them.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    /// Our environment minus libpq's `PG*` variables (a stray PGPORT or
    /// PGDATA must not redirect the private cluster), in the C locale so
    /// messages are in English and initdb sees no locale surprises.
    private static func environment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["LC_ALL"] = "C"
        return environment
    }

    private static func readTail(_ fd: Int32) -> String {
        let size = Int(lseek(fd, 0, SEEK_END))
        let start = max(0, size - outputBytesMax)
        var bytes = [UInt8](repeating: 0, count: size - start)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        return String(decoding: bytes.prefix(max(0, count)), as: UTF8.self).trimmingTrailingWhitespace()
    }

    private func failure(_ reason: String) -> EmbeddedClusterError {
        EmbeddedClusterError(code: .command, message: "\(label): \(reason)")
    }
}
