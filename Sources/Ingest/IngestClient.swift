import CareerEvents
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where an ingest server listens.
public enum IngestEndpoint: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// `HOST:PORT` (`[v6]:PORT` for an IPv6 literal); nil if malformed.
    public init?(hostPort text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              port >= 0, port <= 65535 else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self = .tcp(host: host, port: port)
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return path
        }
    }
}

/// A failed socket call, with what was attempted.
public struct IngestSocketError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var errno: Int32
    public var description: String { "\(message): \(String(cString: strerror(errno)))" }
}

/// A plain blocking client socket to an ingest server: what `careerlog emit`,
/// the benchmark and the tests speak through. Not thread-safe, except that
/// one thread may send while another receives.
public final class IngestSocket: @unchecked Sendable {
    public let fd: Int32
    private var closed = false

    public init(endpoint: IngestEndpoint, receiveBufferBytes: Int? = nil) throws(IngestSocketError) {
        switch endpoint {
        case .unix(let path):
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let capacity = MemoryLayout.size(ofValue: address.sun_path)
            guard path.utf8.count < capacity else {
                throw IngestSocketError(message: "socket path is longer than \(capacity - 1) bytes: \(path)", errno: ENAMETOOLONG)
            }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: path.utf8)
                raw[path.utf8.count] = 0
            }
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw IngestSocketError(message: "socket", errno: errno) }
            if let receiveBufferBytes { Self.setReceiveBuffer(fd, receiveBufferBytes) }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else {
                let error = errno
                Glibc.close(fd)
                throw IngestSocketError(message: "cannot connect to \(path)", errno: error)
            }
            self.fd = fd
        case .tcp(let host, let port):
            self.fd = try Self.connectTCP(host: host, port: port, receiveBufferBytes: receiveBufferBytes)
        }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Takes over a descriptor that is already connected (the caller's end
    /// of an `IngestTLSBridge`, duplicated): this socket closes it.
    public init(connectedDescriptor fd: Int32) {
        self.fd = fd
    }

    deinit { close() }

    private static func setReceiveBuffer(_ fd: Int32, _ bytes: Int) {
        var value = Int32(bytes)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func connectTCP(host: String, port: Int, receiveBufferBytes: Int?) throws(IngestSocketError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw IngestSocketError(message: "cannot resolve \(host): \(String(cString: gai_strerror(status)))", errno: 0)
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            if fd < 0 { lastError = errno; continue }
            if let receiveBufferBytes { setReceiveBuffer(fd, receiveBufferBytes) }
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            lastError = errno
            Glibc.close(fd)
        }
        throw IngestSocketError(message: "cannot connect to \(IngestEndpoint.tcp(host: host, port: port))", errno: lastError)
    }

    /// Writes all of `bytes`.
    public func send(_ bytes: UnsafeRawBufferPointer) throws(IngestSocketError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw IngestSocketError(message: "send failed", errno: errno)
            }
            done += n
        }
    }

    public func send(_ bytes: [UInt8]) throws(IngestSocketError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(IngestSocketError) in try send(raw) } }
        try result.get()
    }

    public func send(_ text: String) throws(IngestSocketError) {
        try send(Array(text.utf8))
    }

    /// Reads what is available into `buffer` (blocking for at least one
    /// byte, up to `timeoutMs` if given); 0 at end of stream. Throws on
    /// error or timeout.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, timeoutMs: Int32 = -1) throws(IngestSocketError) -> Int {
        while true {
            if timeoutMs >= 0 {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, timeoutMs)
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw IngestSocketError(message: "poll failed", errno: errno)
                }
                if ready == 0 { throw IngestSocketError(message: "no answer within \(timeoutMs) ms", errno: ETIMEDOUT) }
            }
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n < 0 {
                if errno == EINTR { continue }
                throw IngestSocketError(message: "receive failed", errno: errno)
            }
            return n
        }
    }

    /// No more lines from this side: the server answers what it has and
    /// then closes.
    public func shutdownSending() {
        shutdown(fd, Int32(SHUT_WR))
    }

    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}

/// Splits received bytes into lines (the server's answers).
public struct ResponseLineBuffer {
    private var bytes: [UInt8] = []
    private var start = 0

    public init() {}

    public mutating func append(_ chunk: UnsafeRawBufferPointer) {
        if start > 0, start == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1 << 16, start * 2 > bytes.count {
            bytes.removeFirst(start)
            start = 0
        }
        bytes.append(contentsOf: chunk)
    }

    /// Calls `body` with each complete line (without `\n`).
    public mutating func forEachLine(_ body: (ArraySlice<UInt8>) throws -> Void) rethrows {
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = bytes[start..<newline]
            start = newline + 1
            try body(line)
        }
    }

    /// Bytes after the last complete line.
    public var pendingBytes: Int { bytes.count - start }
}

/// One answer line from the server, parsed.
public enum IngestAck: Sendable, Equatable {
    case stored(id: String, seq: UInt64)
    /// Stored with its PII as `null` (`"redacted":true`): the subject is erased.
    case storedRedacted(id: String, seq: UInt64)
    case duplicate(id: String, seq: UInt64)
    case rejected(id: String?, line: Int, error: String, message: String)

    /// Parses an answer line; nil if it is not one.
    public init?(line: some Collection<UInt8>) {
        guard case .object(let object)? = try? JSONParser.parse(Array(line)),
              case .bool(let ok)? = object["ok"] else { return nil }
        if ok {
            guard case .string(let id)? = object["id"], case .number(let seqNumber)? = object["seq"],
                  let seq = seqNumber.int64.flatMap({ UInt64(exactly: $0) }) else { return nil }
            if case .bool(true)? = object["duplicate"] {
                self = .duplicate(id: id, seq: seq)
            } else if case .bool(true)? = object["redacted"] {
                self = .storedRedacted(id: id, seq: seq)
            } else {
                self = .stored(id: id, seq: seq)
            }
        } else {
            guard case .number(let lineNumber)? = object["line"], let line = lineNumber.int64,
                  case .string(let error)? = object["error"], case .string(let message)? = object["message"] else { return nil }
            var id: String?
            if case .string(let text)? = object["id"] { id = text }
            self = .rejected(id: id, line: Int(line), error: error, message: message)
        }
    }

    public var seq: UInt64? {
        switch self {
        case .stored(_, let seq), .storedRedacted(_, let seq), .duplicate(_, let seq): return seq
        case .rejected: return nil
        }
    }
}
