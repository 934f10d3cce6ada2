import CareerEvents
import EventLog
import Foundation
import Ingest
import Logging
import TestSupport
import XCTest

@testable import Runtime

/// A node in this process, spoken to over real sockets, on a real data
/// directory; ingest only (the projector has its own tests below).
final class NodeTests: XCTestCase {
    static let registry = try! SchemaRegistry(directory: packageRoot + "/EventSchemas")

    func configuration(_ dir: String, tcp: Bool = true, socket: Bool = true) -> Node.Configuration {
        Self.configuration(dir, tcp: tcp, socket: socket)
    }

    /// An ingest-only node on `dir`, with free ports.
    static func configuration(_ dir: String, tcp: Bool = true, socket: Bool = true) -> Node.Configuration {
        var ingest = IngestServer.Configuration()
        ingest.tcpHost = tcp ? "127.0.0.1" : nil
        ingest.tcpPort = 0
        ingest.unixSocketPath = socket ? dir + "/ingest.sock" : nil
        ingest.eventLoopThreads = 2
        let registry = Self.registry
        return Node.Configuration(
            logDirectory: dir + "/log", dedupeWindowEvents: 1_000, ingest: ingest,
            validate: { envelope throws(EventError) in try registry.validate(envelope) })
    }

    func testRestartOnTheSameDataDirectoryKeepsEventsAndDedupe() throws {
        let dir = makeTemporaryDirectory()
        let lines = generatedLines(50)
        let first = Node(configuration: configuration(dir), logger: Logger(label: "test"))
        let ready = try first.start()
        XCTAssertEqual(ready.socketPath, dir + "/ingest.sock")
        XCTAssertEqual(ready.lastSeq, 0)
        guard case .tcp(let host, let port)? = ready.tcp else { return XCTFail("no TCP address in \(ready)") }
        XCTAssertEqual(host, "127.0.0.1")
        XCTAssertNotEqual(port, 0, "port 0 must be resolved to the bound port")
        XCTAssertEqual(ready.jsonLine, #"{"tcp":"127.0.0.1:\#(port)","socket":"\#(dir)/ingest.sock","last_seq":0}"#)

        let stored = try exchange(Array(lines[..<40]), with: .unix(path: dir + "/ingest.sock"))
        XCTAssertEqual(stored, (0..<40).map { .stored(id: eventID(lines[$0]), seq: UInt64($0 + 1)) })
        first.stop()
        try first.waitUntilStopped()
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/ingest.sock"), "the socket outlived the node")

        let second = Node(configuration: configuration(dir), logger: Logger(label: "test"))
        let again = try second.start()
        XCTAssertEqual(again.lastSeq, 40)
        guard case .tcp(let host2, let port2)? = again.tcp else { return XCTFail("no TCP address") }
        // Three already stored (duplicates, with their first seqs), then ten new ones.
        let answers = try exchange(Array(lines[0..<3] + lines[40..<50]), with: .tcp(host: host2, port: port2))
        XCTAssertEqual(answers, (0..<3).map { .duplicate(id: eventID(lines[$0]), seq: UInt64($0 + 1)) }
            + (40..<50).map { .stored(id: eventID(lines[$0]), seq: UInt64($0 + 1)) })
        second.stop()
        try second.waitUntilStopped()

        let log = try EventLog.open(directory: dir + "/log", mode: .readOnly)
        XCTAssertEqual(log.lastSeq, 50)
        XCTAssertEqual(try EventLog.verify(directory: dir + "/log").events, 50)
    }

    /// A clean stop saves the dedupe window; the next start loads it from
    /// there (not the log) and finds the same duplicates; a damaged
    /// snapshot is refused with a warning and the log is read instead.
    func testACleanStopSavesTheDedupeWindowForTheNextStart() throws {
        let dir = makeTemporaryDirectory()
        let lines = generatedLines(30)
        let first = Node(configuration: configuration(dir), logger: Logger(label: "test"))
        _ = try first.start()
        _ = try exchange(Array(lines[..<20]), with: .unix(path: dir + "/ingest.sock"))
        first.stop()
        try first.waitUntilStopped()
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/dedupe.snapshot"))

        for damaged in [false, true] {
            if damaged {
                var bytes = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/dedupe.snapshot"))
                bytes[bytes.count / 2] ^= 0x01
                try bytes.write(to: URL(fileURLWithPath: dir + "/dedupe.snapshot"))
            }
            let recorded = RecordingLogHandler()
            let node = Node(configuration: configuration(dir), logger: .recording(into: recorded))
            _ = try node.start()
            let answers = try exchange(Array(lines[0..<2]), with: .unix(path: dir + "/ingest.sock"))
            XCTAssertEqual(answers, (0..<2).map { .duplicate(id: eventID(lines[$0]), seq: UInt64($0 + 1)) })
            XCTAssertEqual(recorded.contains("dedupe window loaded from the snapshot"), !damaged, "\(recorded.messages)")
            XCTAssertEqual(recorded.contains("dedupe window loaded from the log"), damaged, "\(recorded.messages)")
            XCTAssertEqual(recorded.contains("dedupe snapshot not used"), damaged, "\(recorded.messages)")
            node.stop()
            try node.waitUntilStopped()
            XCTAssertTrue(recorded.contains("dedupe snapshot saved"), "\(recorded.messages)")
        }
    }

    func testStopAnswersEveryLineReceivedBeforeTheLogCloses() throws {
        let dir = makeTemporaryDirectory()
        let lines = generatedLines(20_000)
        let logs = RecordingLogHandler()
        let node = Node(configuration: configuration(dir, tcp: false), logger: .recording(into: logs))
        _ = try node.start()
        let socket = try IngestSocket(endpoint: .unix(path: dir + "/ingest.sock"))
        defer { socket.close() }
        let payload = Array((lines.map { $0 + "\n" }.joined()).utf8)
        Thread { try? socket.send(payload) }.start()
        let reader = AnswerReader(socket)
        let firstAnswers = try reader.read(atLeast: 1)
        XCTAssertFalse(firstAnswers.isEmpty)
        node.stop()
        // The drain runs in the first waiter; every waiter returns once it is over.
        Thread { try? node.waitUntilStopped() }.start()
        // Read until the server closes: every answer for a prefix of the lines, in order.
        let answers = firstAnswers + (try reader.read(atLeast: lines.count))
        XCTAssertTrue(reader.closed, "the drain did not close the connection")
        XCTAssertLessThan(answers.count, lines.count, "the stop came after every line was answered: nothing was drained")
        try node.waitUntilStopped()
        for (i, answer) in answers.enumerated() {
            XCTAssertEqual(answer, .stored(id: eventID(lines[i]), seq: UInt64(i + 1)))
        }
        // Nothing stored without its answer, and the drain ran in order.
        let log = try EventLog.open(directory: dir + "/log", mode: .readOnly)
        XCTAssertEqual(log.lastSeq, UInt64(answers.count))
        let order = ["stopping on request", "ingest server stopping", "log closed"].map { text in
            logs.messages.firstIndex { $0.contains(text) } ?? -1
        }
        XCTAssertEqual(order, order.sorted(), logs.messages.joined(separator: "\n"))
        XCTAssertFalse(order.contains(-1), logs.messages.joined(separator: "\n"))
    }

    func testAServerThatCannotListenLeavesTheLogClosed() throws {
        let dir = makeTemporaryDirectory()
        let other = makeTemporaryDirectory()
        let holder = Node(configuration: configuration(other, socket: false), logger: Logger(label: "test"))
        guard case .tcp(_, let takenPort)? = try holder.start().tcp else { return XCTFail("no TCP address") }
        defer { holder.stop(); try? holder.waitUntilStopped() }

        var busy = configuration(dir, socket: false)
        busy.ingest.tcpPort = takenPort
        let node = Node(configuration: busy, logger: Logger(label: "test"))
        XCTAssertThrowsError(try node.start()) { error in
            XCTAssertEqual((error as? NodeError)?.code, .ingestNotStarted, "\(error)")
        }
        // The log was closed (its lock released): it opens again for writing.
        let log = try EventLog.open(directory: dir + "/log")
        try log.close()
        // A node whose start failed is stopped: waiting returns at once, without a stop request.
        try node.waitUntilStopped()
        XCTAssertFalse(node.stopSignal.isRequested)
    }

    func testBackgroundRecompressionRunsUnlessTurnedOff() throws {
        let dir = makeTemporaryDirectory()
        var off = configuration(dir, tcp: false)
        off.recompressSealedSegments = false
        let quiet = Node(configuration: off, logger: Logger(label: "test"))
        _ = try quiet.start()
        XCTAssertNil(quiet.backgroundRecompressor, "serve --no-recompress starts no recompressor")
        quiet.stop()
        try quiet.waitUntilStopped()

        let node = Node(configuration: configuration(dir, tcp: false), logger: Logger(label: "test"))
        _ = try node.start()
        XCTAssertNotNil(node.backgroundRecompressor, "by default the node recompresses sealed segments")
        node.stop()
        try node.waitUntilStopped()
    }

    func testASecondStartIsRefused() throws {
        let dir = makeTemporaryDirectory()
        let node = Node(configuration: configuration(dir, tcp: false), logger: Logger(label: "test"))
        _ = try node.start()
        XCTAssertThrowsError(try node.start()) { error in
            XCTAssertEqual((error as? NodeError)?.code, .alreadyStarted, "\(error)")
        }
        node.stop()
        try node.waitUntilStopped()
    }
}

/// The canonical `id` of an event line (as acks echo it).
func eventID(_ line: String) -> String {
    guard case .object(let object) = try? JSONParser.parse(line), case .string(let id)? = object["id"],
          let uuid = UUIDText.parse(id) else { fatalError("not an event line") }
    return UUIDText.string(uuid)
}
