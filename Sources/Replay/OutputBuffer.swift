#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to a file descriptor (stdout by default), for commands
/// that print many lines (replays, dumps, generated histories, analytics).
/// A closed pipe (`| head`) throws `OutputClosed`: the command ends quietly.
public final class OutputBuffer {
    private var bytes: [UInt8] = []
    private let fd: Int32
    /// Bytes buffered before a write: large writes, few system calls.
    private let flushBytes: Int

    public init(fd: Int32 = 1, flushBytes: Int = 1 << 20) {
        self.fd = fd
        self.flushBytes = flushBytes
        bytes.reserveCapacity(flushBytes + (64 << 10))
        signal(SIGPIPE, SIG_IGN)
    }

    /// Lets a caller append to the buffer directly; flushes when full.
    public func withBuffer(_ body: (inout [UInt8]) -> Void) throws(OutputClosed) {
        body(&bytes)
        if bytes.count >= flushBytes { try flush() }
    }

    public func write(_ text: String) throws(OutputClosed) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= flushBytes { try flush() }
    }

    public func flush() throws(OutputClosed) {
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

    /// The reader of the output went away.
    public struct OutputClosed: Error {
        public init() {}
    }
}
