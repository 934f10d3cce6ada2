#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream (a file, a pipe) into lines, with memory bounded by
/// `lineBytesMax` plus one read chunk, whatever the input.
///
/// `\n` ends a line; a `\r` before it is dropped. A line longer than
/// `lineBytesMax` is reported as `.tooLarge` and its bytes are discarded as
/// they arrive, never buffered. A last line without `\n` still counts.
public struct LineReader {
    public enum Line {
        /// A line's bytes (without `\r\n`), valid until the next call.
        case line(number: Int, bytes: UnsafeRawBufferPointer)
        /// A line past the limit; `bytes` is its full length.
        case tooLarge(number: Int, bytes: Int)
    }

    private let fd: Int32
    public let lineBytesMax: Int
    private let chunkBytes: Int
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var scanned = 0
    private var lineNumber = 0
    private var atEOF = false

    public init(fd: Int32, lineBytesMax: Int, chunkBytes: Int = 256 << 10) {
        precondition(lineBytesMax > 0 && chunkBytes > 0)
        self.fd = fd
        self.lineBytesMax = lineBytesMax
        self.chunkBytes = chunkBytes
        // One maximal line (plus its "\r\n") and one chunk.
        self.buffer = .allocate(byteCount: lineBytesMax + 2 + chunkBytes, alignment: 16)
    }

    /// Frees the buffer; the reader must not be used afterwards.
    public mutating func close() {
        buffer.deallocate()
        buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }

    public struct ReadError: Error, CustomStringConvertible {
        public var errno: Int32
        public var description: String { "read failed: \(String(cString: strerror(errno)))" }
    }

    /// The next line, or nil at the end of the input.
    public mutating func next() throws(ReadError) -> Line? {
        while true {
            if let newline = findNewline() {
                lineNumber += 1
                var lineEnd = newline
                if lineEnd > start, buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                let line = UnsafeRawBufferPointer(rebasing: buffer[start..<lineEnd])
                start = newline + 1
                scanned = start
                if line.count > lineBytesMax { return .tooLarge(number: lineNumber, bytes: line.count) }
                return .line(number: lineNumber, bytes: line)
            }
            if end - start > lineBytesMax + 1 {
                lineNumber += 1
                return .tooLarge(number: lineNumber, bytes: try discardRestOfLine())
            }
            if atEOF {
                guard start < end else { return nil }
                lineNumber += 1
                var lineEnd = end
                if buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                let line = UnsafeRawBufferPointer(rebasing: buffer[start..<lineEnd])
                start = end
                if line.count > lineBytesMax { return .tooLarge(number: lineNumber, bytes: line.count) }
                return .line(number: lineNumber, bytes: line)
            }
            try fill()
        }
    }

    private mutating func findNewline() -> Int? {
        guard scanned < end else { return nil }
        let base = buffer.baseAddress!
        if let hit = memchr(base + scanned, 0x0A, end - scanned) {
            return base.distance(to: UnsafeMutableRawPointer(hit))
        }
        scanned = end
        return nil
    }

    /// Reads more input after compacting what is buffered to the front.
    private mutating func fill() throws(ReadError) {
        if start > 0 {
            let count = end - start
            if count > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: count) }
            scanned -= start
            end = count
            start = 0
        }
        let room = buffer.count - end
        precondition(room > 0, "a full buffer always holds a newline or an overlong line")
        while true {
            let n = read(fd, buffer.baseAddress! + end, min(room, chunkBytes))
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(errno: errno)
            }
            if n == 0 { atEOF = true } else { end += n }
            return
        }
    }

    /// Drops the rest of an overlong line, reading chunk by chunk; returns
    /// the line's length.
    private mutating func discardRestOfLine() throws(ReadError) -> Int {
        var length = end - start
        start = 0
        end = 0
        scanned = 0
        while true {
            if let newline = findNewline() {
                length += newline
                start = newline + 1
                scanned = start
                return length
            }
            length += end
            start = 0
            end = 0
            scanned = 0
            if atEOF { return length }
            try fill()
        }
    }
}
