import Foundation
import Logging
import NIOConcurrencyHelpers
import XCTest
@testable import Window

#if canImport(Glibc)
import Glibc
#endif

/// A window on a free loopback port, stopped by the test's teardown.
func startWindow(routes: WindowRoutes, limits: WindowLimits = WindowLimits(), readToken: String? = nil,
                 file: StaticString = #filePath, line: UInt = #line) throws -> WindowServer {
    var configuration = WindowServer.Configuration()
    configuration.port = 0
    configuration.limits = limits
    configuration.readToken = readToken
    var logger = Logger(label: "window-test")
    logger.logLevel = .critical
    return try WindowServer.start(configuration: configuration, routes: routes, logger: logger)
}

/// A blocking TCP client on raw sockets: the tests need to send half a
/// request, or too much, which no HTTP client library does.
final class RawClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw NSError(domain: "RawClient", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "connect failed: \(errno)"])
        }
        setTimeout(seconds: 20)
    }

    deinit { close(fd) }

    func setTimeout(seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends all of `text`; false when the server closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Reads until the peer closes (or the receive timeout passes).
    func readToEnd() -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads one response with a Content-Length body.
    func readResponse() -> HTTPResult? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let result = HTTPResult(parsing: data) { return result }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return nil }
            data.append(contentsOf: buffer[0..<n])
        }
    }

    /// True when the server has closed the connection (recv returns 0).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }
}

/// A parsed HTTP/1.1 response.
struct HTTPResult {
    var status: Int
    var headers: [String: String]
    var body: String

    init?(parsing bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<split.lowerBound].split(separator: "\r\n")
        guard let first = lines.first, let code = Int(first.split(separator: " ")[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let bodyBytes = Array(text[split.upperBound...].utf8)
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard bodyBytes.count >= length else { return nil }
        status = code
        self.headers = headers
        body = String(decoding: bodyBytes.prefix(length), as: UTF8.self)
    }
}

/// GET through a fresh connection.
func get(_ port: Int, _ target: String, headers: [String: String] = [:]) throws -> HTTPResult {
    let client = try RawClient(port: port)
    let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
    client.send("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(extra)Connection: close\r\n\r\n")
    guard let response = client.readResponse() else { throw NSError(domain: "get", code: 1, userInfo: [NSLocalizedDescriptionKey: "no response to \(target)"]) }
    return response
}

/// The package root and the helpers folder, from this file's path.
enum Paths {
    static let helpers = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Helpers")
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Screenshots and other artefacts: under .build/, never committed.
    static let artefacts = packageRoot.appendingPathComponent(".build/window-artefacts")
}

/// Runs a command to completion with `input` on stdin.
func runProcess(_ arguments: [String], input: Data = Data()) throws -> (status: Int32, stdout: Data, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(input)
    try stdin.fileHandleForWriting.close()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, out, String(decoding: err, as: UTF8.self))
}

/// A value the test changes while the server serves it.
final class Served: Sendable {
    private let box: NIOLockedValueBox<String>
    init(_ value: String) { box = NIOLockedValueBox(value) }
    var value: String {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }
}
