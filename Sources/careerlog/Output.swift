#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to a file descriptor (stdout by default), for commands
/// that print many lines. A closed pipe (`| head`) ends the command quietly.
final class OutputBuffer {
    private var bytes: [UInt8] = []
    private let fd: Int32
    private let flushBytes: Int

    init(fd: Int32 = 1, flushBytes: Int = 1 << 20) {
        self.fd = fd
        self.flushBytes = flushBytes
        bytes.reserveCapacity(flushBytes + (64 << 10))
        signal(SIGPIPE, SIG_IGN)
    }

    /// Lets a caller append to the buffer directly; flushes when full.
    func withBuffer(_ body: (inout [UInt8]) -> Void) throws(OutputClosed) {
        body(&bytes)
        if bytes.count >= flushBytes { try flush() }
    }

    func write(_ text: String) throws(OutputClosed) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= flushBytes { try flush() }
    }

    func flush() throws(OutputClosed) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                bytes.removeAll()
                throw OutputClosed()
            }
            done += n
        }
        bytes.removeAll(keepingCapacity: true)
    }

    struct OutputClosed: Error {}
}

/// Writes one line to stderr, unbuffered.
func printError(_ text: String) {
    var line = text
    line.append("\n")
    _ = line.utf8CString.withUnsafeBufferPointer { Glibc.write(2, $0.baseAddress!, $0.count - 1) }
}

/// True when `fd` is a terminal (progress lines go only there).
func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
