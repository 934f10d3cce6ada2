import EventLog
import Foundation
import Ingest
import Logging
import TestSupport
import XCTest

@testable import Runtime

/// `Node.serve`, what `careerlog serve` runs: the node and its HTTP window
/// started together, one ready line, the drain on a stop request.
final class NodeServeTests: XCTestCase {
    /// Runs `Node.serve` on a thread; `ready` gets the ready line, `ended` the outcome.
    final class Serving: @unchecked Sendable {
        private let lock = NSLock()
        private var line: String?
        private var outcome: Result<Void, any Error>?
        let stop = StopSignal()

        init(_ configuration: Node.Configuration, window: NodeWindowConfiguration?) {
            let thread = Thread { [self] in
                let result = Result { try Node.serve(configuration, window: window, logger: Logger(label: "test"), stopSignal: stop) { line in
                    self.lock.withLock { self.line = line }
                } }
                lock.withLock { outcome = result }
            }
            thread.start()
        }

        var readyLine: String? { lock.withLock { line } }
        var ended: Result<Void, any Error>? { lock.withLock { outcome } }
    }

    func window(_ dir: String) -> NodeWindowConfiguration {
        var window = NodeWindowConfiguration(dataDirectory: dir)
        window.server.port = 0
        return window
    }

    func testServePrintsOneReadyLineWithEveryAddressAndDrainsOnStop() throws {
        let dir = makeTemporaryDirectory()
        let serving = Serving(NodeTests.configuration(dir), window: window(dir))
        waitUntil("serve printed its ready line") { serving.readyLine != nil || serving.ended != nil }
        let line = try XCTUnwrap(serving.readyLine, "serve ended before it was ready: \(String(describing: serving.ended))")
        let pattern = #"^\{"tcp":"127\.0\.0\.1:([0-9]+)","socket":"\#(dir)/ingest\.sock","last_seq":0,"http":"127\.0\.0\.1:([0-9]+)"\}\n$"#
        let match = try XCTUnwrap(line.wholeMatch(of: try Regex(pattern)), "unexpected ready line \(line)")
        let tcpPort = try XCTUnwrap(Int(try XCTUnwrap(match.output[1].substring)))
        let httpPort = try XCTUnwrap(Int(try XCTUnwrap(match.output[2].substring)))
        XCTAssertNotEqual(tcpPort, 0)
        XCTAssertNotEqual(httpPort, 0)

        let lines = generatedLines(5)
        XCTAssertEqual(try exchange(lines, with: .tcp(host: "127.0.0.1", port: tcpPort)),
                       (0..<5).map { .stored(id: eventID(lines[$0]), seq: UInt64($0 + 1)) })
        XCTAssertEqual(try httpStatusLine(port: httpPort, path: "/healthz"), "HTTP/1.1 200 OK")
        guard case .summary(let status, let ready)? = NodeStatusClient.fetch(hostPort: "127.0.0.1:\(httpPort)", json: true, token: nil) else {
            return XCTFail("no status from the node's window")
        }
        XCTAssertTrue(ready, status)
        XCTAssertTrue(status.contains(#""ready":true"#), status)
        XCTAssertTrue(status.contains(#""head_seq":5"#), status)

        XCTAssertNil(serving.ended, "serve returned before a stop was requested")
        serving.stop.request()
        waitUntil("serve returned after the stop") { serving.ended != nil }
        XCTAssertNoThrow(try serving.ended?.get())
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/ingest.sock"), "the socket outlived serve")
        XCTAssertThrowsError(try IngestSocket(endpoint: .tcp(host: "127.0.0.1", port: httpPort)), "the HTTP window outlived serve")
        guard case .noAnswer? = NodeStatusClient.fetch(hostPort: "127.0.0.1:\(httpPort)", json: true, token: nil) else {
            return XCTFail("a status came from a stopped node")
        }
        XCTAssertEqual(try EventLog.verify(directory: dir + "/log").events, 5)
    }

    func testAWindowThatCannotStartDrainsTheNodeAndSaysSo() throws {
        let dir = makeTemporaryDirectory()
        var broken = window(dir)
        broken.chartLibraryPath = dir + "/no-such-chart.js"
        let serving = Serving(NodeTests.configuration(dir), window: broken)
        waitUntil("serve ended") { serving.ended != nil }
        XCTAssertNil(serving.readyLine, "a ready line was printed for a window that never listened")
        XCTAssertThrowsError(try serving.ended?.get()) { error in
            XCTAssertEqual((error as? NodeError)?.code, .windowNotStarted, "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/ingest.sock"), "the node was not drained")
        // The log was closed (its lock released): it opens again for writing.
        try EventLog.open(directory: dir + "/log").close()
    }

    /// The first line of the answer to `GET path`.
    func httpStatusLine(port: Int, path: String) throws -> String {
        let socket = try IngestSocket(endpoint: .tcp(host: "127.0.0.1", port: port))
        defer { socket.close() }
        try socket.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        var answer: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { chunk.deallocate() }
        while !answer.contains(UInt8(ascii: "\r")) {
            let n = try socket.receive(into: chunk, timeoutMs: 10_000)
            if n == 0 { break }
            answer.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: answer.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
    }
}
