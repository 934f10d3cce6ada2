import CareerEvents
import EventGenerator
import EventLog
import Foundation
import Logging
import XCTest

@testable import Ingest

/// Shared by the server tests: a real server on a real log in a temporary
/// directory, real sockets, generated events.
enum ServerTestSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static let registry: SchemaRegistry = {
        try! SchemaRegistry(directory: packageRoot + "/EventSchemas")
    }()

    static let validate: EnvelopeValidator = { envelope throws(EventError) in try registry.validate(envelope) }

    static var logger: Logger {
        var logger = Logger(label: "ingest-tests", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = ProcessInfo.processInfo.environment["CAREERLOG_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }

    static func makeDirectory(_ name: String = #function) -> String {
        let clean = name.filter { $0.isLetter || $0.isNumber }.prefix(40)
        let path = "/tmp/cl-srv-\(clean)-\(UUID().uuidString.prefix(6))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `count` valid catalog events as lines (without `\n`), distinct ids.
    static func validLines(_ count: Int, seed: UInt64 = 7) -> [String] {
        var generator = HistoryGenerator(options: GeneratorOptions(users: max(1, count / 150 + 1), seed: seed, months: 12))
        var lines: [String] = []
        var line: [UInt8] = []
        while lines.count < count {
            line.removeAll(keepingCapacity: true)
            guard generator.nextLine(into: &line) else { fatalError("generator ran out") }
            if line.last == UInt8(ascii: "\n") { line.removeLast() }
            lines.append(String(decoding: line, as: UTF8.self))
        }
        return lines
    }

    /// The `id` of an event line.
    static func id(of line: String) -> String {
        guard case .object(let object) = try! JSONParser.parse(line), case .string(let id)? = object["id"] else {
            fatalError("not an event line: \(line)")
        }
        return id
    }

    /// `line` with one top-level or `data` member replaced.
    static func modified(_ line: String, _ change: (inout JSONObject) -> Void) -> String {
        guard case .object(var object) = try! JSONParser.parse(line) else { fatalError() }
        change(&object)
        return JSONValue.object(object).compactString
    }
}

/// A server with its own log, started in-process.
final class TestServer: @unchecked Sendable {
    let directory: String
    let log: EventLog
    let server: IngestServer
    var socketPath: String { directory + "/ingest.sock" }
    var tcp: IngestEndpoint { .tcp(host: "127.0.0.1", port: server.tcpPort!) }
    var unix: IngestEndpoint { .unix(path: socketPath) }
    private var stopped = false
    /// A directory this server made is removed when it stops.
    private let ownsDirectory: Bool

    init(
        directory: String? = nil, limits: IngestLimits = IngestLimits(), dedupeWindow: Int = 100_000,
        logLimits: LogLimits = LogLimits(), configure: (inout IngestServer.Configuration) -> Void = { _ in }
    ) throws {
        self.directory = directory ?? ServerTestSupport.makeDirectory()
        ownsDirectory = directory == nil
        log = try EventLog.open(directory: self.directory + "/log", limits: logLimits)
        var configuration = IngestServer.Configuration()
        configuration.tcpPort = 0
        configuration.unixSocketPath = self.directory + "/ingest.sock"
        configuration.limits = limits
        configure(&configuration)
        let window = try DedupeWindow.load(from: log, capacity: dedupeWindow)
        server = try IngestServer.start(
            log: log, window: window, validate: ServerTestSupport.validate, configuration: configuration,
            logger: ServerTestSupport.logger)
    }

    var appender: GroupCommitAppender { server.appenderForTesting }

    /// Shuts the server down and closes the log (if still open).
    func stop() {
        guard !stopped else { return }
        stopped = true
        server.shutdown()
        try? log.close()
        if ownsDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }

    deinit { stop() }

    func connect(_ endpoint: IngestEndpoint? = nil, receiveBufferBytes: Int? = nil) throws -> LineClient {
        LineClient(try IngestSocket(endpoint: endpoint ?? tcp, receiveBufferBytes: receiveBufferBytes))
    }

    /// All stored events, in seq order.
    func storedIDs() throws -> [String] {
        let reader = log.reader(fromSeq: 1)
        var ids: [String] = []
        while let record = try reader.next() { ids.append(UUIDText.string(record.event.id)) }
        return ids
    }
}

/// A blocking test client: sends lines, reads answer lines with a timeout.
final class LineClient: @unchecked Sendable {
    let socket: IngestSocket
    private var received = ResponseLineBuffer()
    private var ready: [String] = []
    private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

    init(_ socket: IngestSocket) {
        self.socket = socket
    }

    deinit {
        chunk.deallocate()
        socket.close()
    }

    func send(_ text: String) throws {
        try socket.send(text)
    }

    func send(lines: [String]) throws {
        try socket.send(lines.joined(separator: "\n") + "\n")
    }

    /// The next answer line; nil at end of stream. Fails after `timeoutMs`.
    func readLine(timeoutMs: Int32 = 10_000, file: StaticString = #filePath, line: UInt = #line) throws -> String? {
        while ready.isEmpty {
            let n = try socket.receive(into: chunk, timeoutMs: timeoutMs)
            if n == 0 { return nil }
            received.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            received.forEachLine { ready.append(String(decoding: $0, as: UTF8.self)) }
        }
        return ready.removeFirst()
    }

    /// The next answer, parsed; fails the test on end of stream.
    func readAck(timeoutMs: Int32 = 10_000, file: StaticString = #filePath, line: UInt = #line) throws -> IngestAck {
        guard let text = try readLine(timeoutMs: timeoutMs) else {
            XCTFail("the server closed the connection", file: file, line: line)
            throw IngestSocketError(message: "closed", errno: 0)
        }
        guard let ack = IngestAck(line: Array(text.utf8)) else {
            XCTFail("not an answer line: \(text)", file: file, line: line)
            throw IngestSocketError(message: "bad answer", errno: 0)
        }
        return ack
    }

    func readAcks(_ count: Int, timeoutMs: Int32 = 10_000) throws -> [IngestAck] {
        try (0..<count).map { _ in try readAck(timeoutMs: timeoutMs) }
    }

    /// True once the server has closed the connection (answers before the
    /// close are skipped), false if it stays open for `timeoutMs`.
    func waitForClose(timeoutMs: Int32) -> Bool {
        while true {
            do {
                if try readLine(timeoutMs: timeoutMs) == nil { return true }
            } catch let error as IngestSocketError where error.errno == ECONNRESET {
                return true
            } catch {
                return false
            }
        }
    }
}

/// Runs `body(0) ... body(count - 1)` each on its own thread, at once, and
/// waits for all (unlike `concurrentPerform`, which may run them in turn).
func runConcurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread {
            body(i)
            group.leave()
        }.start()
    }
    group.wait()
}
