import CareerEvents
import EventGenerator
import EventLog
import Foundation
import Ingest
import TestSupport
import XCTest

/// `careerlog serve` as a child process, spoken to by `careerlog emit` and
/// by plain sockets.
final class ServeEmitTests: XCTestCase {
    func testEmitReportsStoredDuplicateAndRejectedLines() throws {
        let dir = makeTemporaryDirectory()
        let server = try ServeProcess(dataDirectory: dir)
        defer { server.stop() }
        let valid = generatedLines(5)
        let badSchema = valid[1].replacingOccurrences(of: #""data":{"#, with: #""data":{"no_such_field":1,"#)
        let file = dir + "/events.ndjson"
        let body = valid + ["", #"{"id":"#, badSchema, valid[0]]
        try (body.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)

        let first = try runCareerlog(["emit", "--socket", server.socketPath, file])
        XCTAssertEqual(first.status, 1, first.stderr)
        XCTAssertEqual(first.stdout, #"{"sent":8,"stored":5,"duplicates":1,"rejected":2}"# + "\n")
        let errors = first.stderr.split(separator: "\n")
        XCTAssertEqual(errors.count, 2, first.stderr)
        XCTAssertTrue(errors[0].hasPrefix("line 7: parse: "), first.stderr)
        XCTAssertTrue(errors[1].hasPrefix("line 8: schema: data"), first.stderr)

        // Again over TCP, valid lines only: all duplicates, exit 0.
        try (valid.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let second = try runCareerlog(["emit", "--connect", server.tcpAddress, file])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, #"{"sent":5,"stored":0,"duplicates":5,"rejected":0}"# + "\n")
        XCTAssertEqual(second.stderr, "")
    }

    func testEmitPipelinesAFileFromStdinAndTheLogVerifies() throws {
        let dir = makeTemporaryDirectory()
        let server = try ServeProcess(dataDirectory: dir)
        defer { server.stop() }
        let lines = generatedLines(20_000)
        let result = try runCareerlog(["emit", "--connect", server.tcpAddress, "--window", "500", "-"],
                                      input: Data((lines.joined(separator: "\n") + "\n").utf8))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, #"{"sent":20000,"stored":20000,"duplicates":0,"rejected":0}"# + "\n")
        XCTAssertEqual(server.stop(), 0)
        let summary = try EventLog.verify(directory: dir + "/log")
        XCTAssertEqual(summary.events, 20_000)
    }

    func testSIGTERMAnswersEveryLineReceivedThenExitsZero() throws {
        let dir = makeTemporaryDirectory()
        let server = try ServeProcess(dataDirectory: dir)
        defer { server.stop() }
        let lines = generatedLines(30_000)
        let socket = try IngestSocket(endpoint: .unix(path: server.socketPath))
        let payload = Array((lines.joined(separator: "\n") + "\n").utf8)
        Thread { try? socket.send(payload) }.start()
        var answers: [IngestAck] = []
        var buffer = ResponseLineBuffer()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { chunk.deallocate() }
        var signalled = false
        while true {
            let n = try socket.receive(into: chunk, timeoutMs: 20_000)
            if n == 0 { break }
            buffer.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            buffer.forEachLine { answers.append(IngestAck(line: $0)!) }
            if !signalled, !answers.isEmpty {
                kill(server.pid, SIGTERM)
                signalled = true
            }
        }
        XCTAssertEqual(server.waitForExit(), 0, server.stderr)
        XCTAssertTrue(signalled)
        // Answers for a prefix of the lines, in order, each stored.
        XCTAssertGreaterThan(answers.count, 0)
        for (i, answer) in answers.enumerated() {
            XCTAssertEqual(answer, .stored(id: eventID(lines[i]), seq: UInt64(i + 1)))
        }
        // Nothing stored without its answer having been sent.
        let log = try EventLog.open(directory: dir + "/log")
        XCTAssertEqual(log.lastSeq, UInt64(answers.count))
        try log.close()
        XCTAssertTrue(server.stderr.contains("stopping on signal"), server.stderr)
        XCTAssertTrue(server.stderr.contains("log closed"), server.stderr)
    }

    func testASecondServerOnTheSameLogIsRefused() throws {
        let dir = makeTemporaryDirectory()
        let server = try ServeProcess(dataDirectory: dir)
        defer { server.stop() }
        let second = try runCareerlog(["serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--no-socket", "--no-projector"])
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.stderr.contains("locked") || second.stderr.contains("LOCK"), second.stderr)
    }

    func testEmitWithoutAServerFailsClearly() throws {
        let dir = makeTemporaryDirectory()
        let result = try runCareerlog(["emit", "--socket", dir + "/nothing.sock", "-"], input: Data())
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("cannot connect to \(dir)/nothing.sock"), result.stderr)
    }
}

/// `count` valid events as NDJSON lines (no `\n`), distinct ids.
func generatedLines(_ count: Int, seed: UInt64 = 5) -> [String] {
    var generator = HistoryGenerator(options: GeneratorOptions(users: count / 150 + 1, seed: seed, months: 12))
    var lines: [String] = []
    lines.reserveCapacity(count)
    var line: [UInt8] = []
    while lines.count < count {
        line.removeAll(keepingCapacity: true)
        guard generator.nextLine(into: &line) else { break }
        if line.last == UInt8(ascii: "\n") { line.removeLast() }
        lines.append(String(decoding: line, as: UTF8.self))
    }
    return lines
}

/// The canonical `id` of an event line (as acks echo it).
func eventID(_ line: String) -> String {
    guard case .object(let object) = try? JSONParser.parse(line), case .string(let id)? = object["id"],
          let uuid = UUIDText.parse(id) else { fatalError("not an event line") }
    return UUIDText.string(uuid)
}

/// A `careerlog serve` child process: started, ready (its stdout line
/// read), stopped with SIGTERM or killed.
final class ServeProcess {
    let process = Process()
    let dataDirectory: String
    let socketPath: String
    private(set) var tcpAddress = ""
    /// The HTTP window's address from the ready line ("" with --no-http).
    private(set) var httpAddress = ""
    private let stderrPath: String
    private let stdoutPipe = Pipe()

    /// `projector`: also run the projector (and so the private PostgreSQL).
    init(
        dataDirectory: String, listen: String = "127.0.0.1:0", arguments: [String] = [], projector: Bool = false,
        environment extra: [String: String] = [:]
    ) throws {
        self.dataDirectory = dataDirectory
        socketPath = dataDirectory + "/ingest.sock"
        stderrPath = dataDirectory + "/serve-\(UUID().uuidString.prefix(6)).log"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: try careerlogBinary())
        // Ingest only: the read models (PostgreSQL) are not what these tests are about.
        process.arguments = ["serve", "--data-dir", dataDirectory, "--listen", listen, "--http", "127.0.0.1:0"]
            + (projector ? [] : ["--no-projector"]) + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CAREERLOG_SCHEMA_DIR"] = packageRoot + "/EventSchemas"
        environment["CAREERLOG_PROJECTIONS_DIR"] = packageRoot + "/Projections"
        environment.merge(extra) { _, new in new }
        process.environment = environment
        process.standardOutput = stdoutPipe
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let ready = try readReadyLine(timeoutMs: 30_000)
        guard case .object(let object) = try JSONParser.parse(ready) else { throw ServeProcessError(message: "bad ready line: \(ready)") }
        if case .string(let tcp)? = object["tcp"] { tcpAddress = tcp }
        if case .string(let http)? = object["http"] { httpAddress = http }
    }

    var pid: Int32 { process.processIdentifier }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    private func readReadyLine(timeoutMs: Int32) throws -> String {
        let fd = stdoutPipe.fileHandleForReading.fileDescriptor
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.last != UInt8(ascii: "\n") {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeoutMs) == 1, read(fd, &byte, 1) == 1 else {
                process.terminate()
                throw ServeProcessError(message: "serve did not get ready: \(stderr)")
            }
            bytes.append(byte)
        }
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }

    /// The exit status; fails the test if the process does not end in time.
    @discardableResult
    func waitForExit(timeoutSeconds: Double = 30, file: StaticString = #filePath, line: UInt = #line) -> Int32 {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning {
            if Date() > deadline {
                XCTFail("serve did not exit", file: file, line: line)
                kill(pid, SIGKILL)
                process.waitUntilExit()
                return -1
            }
            usleep(5_000)
        }
        return process.terminationStatus
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { kill(pid, SIGTERM) }
        return waitForExit()
    }

    func kill9() {
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }
}

struct ServeProcessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
