import Foundation

/// Runs a helper program (initdb, pg_ctl) to completion, with a deadline.
///
/// Output goes to an anonymous temporary file rather than a pipe: `pg_ctl
/// start` leaves a server running, and nothing it spawns can then hold a pipe
/// open and make us wait for an end-of-file that never comes. Foundation's
/// `Process` closes every other descriptor in the child, so the server never
/// inherits our sockets or log files.
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
    static let pollMs = 20

    /// What this is, for messages: "initdb", "pg_ctl start".
    var label: String
    var executable: String
    var arguments: [String]
    var directory: String

    func run(timeoutSeconds: Int) throws(EmbeddedClusterError) -> Outcome {
        guard let file = tmpfile() else { throw failure("cannot create a temporary file: \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        let output = FileHandle(fileDescriptor: fileno(file), closeOnDealloc: false)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = Self.environment()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch { throw failure("cannot run: \(error)") }
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                process.waitUntilExit()
                throw failure("did not finish within \(timeoutSeconds) s and was stopped")
            }
            usleep(useconds_t(Self.pollMs * 1_000))
        }
        return Outcome(status: process.terminationStatus, output: Self.readTail(fileno(file)))
    }

    /// Our environment minus libpq's `PG*` variables (a stray PGPORT or
    /// PGDATA must not redirect the private cluster), in the C locale so
    /// messages are in English and initdb sees no locale surprises.
    private static func environment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["LC_ALL"] = "C"
        return environment
    }

    private static func readTail(_ fd: Int32) -> String {
        let size = lseek(fd, 0, SEEK_END)
        let start = max(0, Int(size) - outputBytesMax)
        var bytes = [UInt8](repeating: 0, count: Int(size) - start)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        return String(decoding: bytes.prefix(max(0, count)), as: UTF8.self).trimmingTrailingWhitespace()
    }

    private func failure(_ reason: String) -> EmbeddedClusterError {
        EmbeddedClusterError(code: .command, message: "\(label): \(reason)")
    }
}
