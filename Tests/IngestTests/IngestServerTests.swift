import CareerEvents
import EventLog
import Foundation
import TestSupport
import XCTest

@testable import Ingest

/// The server over real sockets and a real log, one behaviour per test.
final class IngestServerTests: XCTestCase {
    private typealias Support = ServerTestSupport

    func testAnswersEveryKindOfLineInOrderWithExactShapes() throws {
        var limits = IngestLimits()
        limits.lineBytesMax = 4096
        limits.jsonDepthMax = 16
        let server = try TestServer(limits: limits)
        defer { server.stop() }
        let good = Support.validLines(2)
        let idA = Support.id(of: good[0])
        let unknownType = Support.modified(good[1]) { $0["type"] = .string("no.such.type") }
        let badSchema = Support.modified(good[1]) { object in
            guard case .object(var data)? = object["data"] else { return }
            data["not_in_the_schema"] = .number(JSONNumber(1))
            object["data"] = .object(data)
        }
        let client = try server.connect()
        try client.send(lines: [
            good[0],                                  // 1 stored
            "",                                       // 2 blank: no answer
            #"{"id":"#,                               // 3 parse
            String(repeating: "x", count: 5000),      // 4 too_large (line)
            String(repeating: "[", count: 40) + String(repeating: "]", count: 40),  // 5 too_large (depth)
            unknownType,                              // 6 unknown_type
            badSchema,                                // 7 schema
            good[0],                                  // 8 duplicate of 1
        ])
        XCTAssertEqual(try client.readLine(), #"{"ok":true,"id":"\#(idA)","seq":1}"#)
        let parse = try XCTUnwrap(try client.readLine())
        XCTAssertTrue(parse.hasPrefix(#"{"ok":false,"id":null,"line":3,"error":"parse","message":"invalid JSON at byte "#), parse)
        XCTAssertEqual(try client.readLine(), #"{"ok":false,"id":null,"line":4,"error":"too_large","message":"line is 5000 bytes; the limit is 4096"}"#)
        guard case .rejected(nil, 5, "too_large", let depthMessage) = try client.readAck() else { return XCTFail("line 5") }
        XCTAssertTrue(depthMessage.contains("16"), depthMessage)
        guard case .rejected(let id6, 6, "unknown_type", _) = try client.readAck() else { return XCTFail("line 6") }
        XCTAssertEqual(id6, Support.id(of: good[1]))
        guard case .rejected(let id7, 7, "schema", let schemaMessage) = try client.readAck() else { return XCTFail("line 7") }
        XCTAssertEqual(id7, Support.id(of: good[1]))
        XCTAssertTrue(schemaMessage.hasPrefix("data"), schemaMessage)
        XCTAssertEqual(try client.readLine(), #"{"ok":true,"id":"\#(idA)","seq":1,"duplicate":true}"#)
        XCTAssertEqual(server.log.lastSeq, 1)
        XCTAssertEqual(try server.storedIDs(), [idA])
    }

    func testOverloadedWhenTheAppendQueueIsFullAndRetryLaterWorks() throws {
        var limits = IngestLimits()
        limits.appenderQueueEventsMax = 2
        let server = try TestServer(limits: limits)
        defer { server.stop() }
        let lines = Support.validLines(3)
        server.appender.suspendForTesting()
        let first = try server.connect()
        try first.send(lines: [lines[0], lines[1]])
        waitUntil("two events are queued") { server.appender.queuedEventCount == 2 }

        let second = try server.connect(server.unix)
        try second.send(lines: [lines[2]])
        XCTAssertEqual(try second.readAck(), .rejected(id: Support.id(of: lines[2]), line: 1, error: "overloaded",
                                                       message: "the server is busy (its append queue is full); the event was not stored, send it again later"))
        server.appender.resumeForTesting()
        XCTAssertEqual(try first.readAcks(2).map(\.seq), [1, 2])
        try second.send(lines: [lines[2]])
        XCTAssertEqual(try second.readAck(), .stored(id: Support.id(of: lines[2]), seq: 3))
    }

    func testUnavailableWhenTheLogCannotBeWritten() throws {
        let server = try TestServer()
        defer { server.stop() }
        let lines = Support.validLines(3)
        let client = try server.connect()
        try client.send(lines: [lines[0]])
        XCTAssertEqual(try client.readAck().seq, 1)
        try server.log.close()  // every later append fails, as after an I/O error
        try client.send(lines: [lines[1]])
        guard case .rejected(let id, 2, "unavailable", _) = try client.readAck() else { return XCTFail("line 2") }
        XCTAssertEqual(id, Support.id(of: lines[1]))
        XCTAssertTrue(server.appender.hasFailed)
        // The connection stays usable: other errors still get their answers.
        try client.send(lines: ["{", lines[2]])
        guard case .rejected(nil, 3, "parse", _) = try client.readAck() else { return XCTFail("line 3") }
        guard case .rejected(_, 4, "unavailable", _) = try client.readAck() else { return XCTFail("line 4") }
    }

    func testAcksStayInLineOrderAcrossManyInterleavedConnections() throws {
        let server = try TestServer()
        defer { server.stop() }
        let connections = 8, perConnection = 1500
        let all = Support.validLines(connections * perConnection, seed: 11)
        // Every 37th line is broken; lines are written in random pieces.
        let plans: [[String]] = (0..<connections).map { c in
            (0..<perConnection).map { i in i % 37 == 36 ? #"{"broken":"# : all[c * perConnection + i] }
        }
        nonisolated(unsafe) var answers = [[IngestAck]](repeating: [], count: connections)
        nonisolated(unsafe) var failures: [String] = []
        let lock = NSLock()
        runConcurrently(connections) { c in
            do {
                let client = try server.connect(c % 2 == 0 ? server.tcp : server.unix)
                let payload = Array((plans[c].joined(separator: "\n") + "\n").utf8)
                let sender = Thread {
                    var random = SystemRandomNumberGenerator()
                    var offset = 0
                    while offset < payload.count {
                        let piece = min(payload.count - offset, Int.random(in: 1...8192, using: &random))
                        try? payload[offset..<offset + piece].withUnsafeBytes { try client.socket.send($0) }
                        offset += piece
                    }
                }
                sender.start()
                let acks = try client.readAcks(perConnection)
                lock.lock()
                answers[c] = acks
                lock.unlock()
            } catch {
                lock.lock()
                failures.append("connection \(c): \(error)")
                lock.unlock()
            }
        }
        XCTAssertEqual(failures, [])
        var seqToID: [UInt64: String] = [:]
        for c in 0..<connections {
            XCTAssertEqual(answers[c].count, perConnection)
            var previousSeq: UInt64 = 0
            for (i, ack) in answers[c].enumerated() {
                switch ack {
                case .stored(let id, let seq):
                    XCTAssertEqual(id, Support.id(of: plans[c][i]), "connection \(c) line \(i + 1)")
                    XCTAssertGreaterThan(seq, previousSeq, "seqs of one connection grow with its lines")
                    previousSeq = seq
                    XCTAssertNil(seqToID.updateValue(id, forKey: seq), "seq \(seq) given twice")
                case .rejected(nil, let line, "parse", _):
                    XCTAssertEqual(line, i + 1)
                    XCTAssertEqual(i % 37, 36)
                default:
                    XCTFail("connection \(c) line \(i + 1): \(ack)")
                }
            }
        }
        let valid = connections * (perConnection - perConnection / 37)
        XCTAssertEqual(seqToID.count, valid)
        XCTAssertEqual(Set(seqToID.keys), Set((1...UInt64(valid))))
        XCTAssertEqual(server.log.lastSeq, UInt64(valid))
        let stored = try server.storedIDs()
        for (seq, id) in seqToID { XCTAssertEqual(stored[Int(seq) - 1], id) }
    }

    func testCopiesArrivingTogetherOnDifferentConnectionsAreStoredOnce() throws {
        let server = try TestServer()
        defer { server.stop() }
        let copies = 4, events = 500
        // Round 1 holds the appender so every copy lands in one group; round 2 races freely.
        for round in 0..<2 {
            let lines = Support.validLines(events, seed: UInt64(20 + round))
            let firstSeq = server.log.lastSeq + 1
            if round == 0 { server.appender.suspendForTesting() }
            let clients = try (0..<copies).map { c in try server.connect(c % 2 == 0 ? server.tcp : server.unix) }
            nonisolated(unsafe) var acks = [[IngestAck]](repeating: [], count: copies)
            nonisolated(unsafe) var durableWhenAcked = [[Bool]](repeating: [], count: copies)
            let lock = NSLock()
            runConcurrently(copies + 1) { c in
                if c == copies {
                    if round == 0 {
                        waitUntil("all copies are queued") { server.appender.queuedEventCount == copies * events }
                        server.appender.resumeForTesting()
                    }
                    return
                }
                try! clients[c].send(lines: lines)
                var mine: [IngestAck] = [], durable: [Bool] = []
                for _ in 0..<events {
                    let ack = try! clients[c].readAck()
                    // An ack, duplicate or not, implies its seq is durable.
                    durable.append((ack.seq ?? .max) <= server.log.lastSeq)
                    mine.append(ack)
                }
                lock.lock()
                acks[c] = mine
                durableWhenAcked[c] = durable
                lock.unlock()
            }
            for i in 0..<events {
                let answers = (0..<copies).map { acks[$0][i] }
                let seqs = Set(answers.compactMap(\.seq))
                XCTAssertEqual(seqs.count, 1, "round \(round) event \(i): \(answers)")
                XCTAssertEqual(answers.filter { if case .stored = $0 { true } else { false } }.count, 1, "round \(round) event \(i): \(answers)")
                XCTAssertEqual(answers.filter { if case .duplicate = $0 { true } else { false } }.count, copies - 1)
                XCTAssertTrue((0..<copies).allSatisfy { durableWhenAcked[$0][i] }, "round \(round) event \(i) acked before durable")
            }
            XCTAssertEqual(server.log.lastSeq, firstSeq - 1 + UInt64(events))
            let stored = try server.storedIDs()
            XCTAssertEqual(Set(stored).count, stored.count, "an id stored twice")
            XCTAssertEqual(Array(stored.suffix(events)).sorted(), lines.map(Support.id(of:)).sorted())
        }
    }

    func testDedupeSurvivesARestart() throws {
        let directory = ServerTestSupport.makeDirectory()
        let lines = Support.validLines(250, seed: 3)
        var firstSeqs: [String: UInt64] = [:]
        do {
            let server = try TestServer(directory: directory)
            let client = try server.connect()
            try client.send(lines: Array(lines.prefix(200)))
            for ack in try client.readAcks(200) {
                guard case .stored(let id, let seq) = ack else { return XCTFail("\(ack)") }
                firstSeqs[id] = seq
            }
            server.stop()
        }
        let server = try TestServer(directory: directory)
        defer { server.stop() }
        let client = try server.connect(server.unix)
        try client.send(lines: lines)
        let acks = try client.readAcks(250)
        for (i, ack) in acks.enumerated() {
            let id = Support.id(of: lines[i])
            if i < 200 {
                XCTAssertEqual(ack, .duplicate(id: id, seq: firstSeqs[id]!))
            } else {
                XCTAssertEqual(ack, .stored(id: id, seq: UInt64(i + 1)))
            }
        }
        XCTAssertEqual(server.log.lastSeq, 250)
    }

    func testAnOverlongLineIsAnsweredAndTheConnectionGoesOn() throws {
        let server = try TestServer()  // default limit: 1 MiB
        defer { server.stop() }
        let lines = Support.validLines(2)
        let client = try server.connect()
        let limit = IngestLimits().lineBytesMax
        try client.send(String(repeating: "a", count: limit + 1) + "\n")
        try client.send(String(repeating: "b", count: limit) + "\r\n")  // at the limit: read, and not JSON
        try client.send(lines[0] + "\r\n")
        XCTAssertEqual(try client.readAck(), .rejected(id: nil, line: 1, error: "too_large", message: "line is \(limit + 1) bytes; the limit is \(limit)"))
        guard case .rejected(nil, 2, "parse", _) = try client.readAck() else { return XCTFail("line 2") }
        XCTAssertEqual(try client.readAck(), .stored(id: Support.id(of: lines[0]), seq: 1))
    }

    func testAStreamWithoutNewlinesKeepsMemoryBounded() throws {
        let server = try TestServer()
        defer { server.stop() }
        let lines = Support.validLines(1)
        let client = try server.connect(server.unix)
        let chunk = [UInt8](repeating: UInt8(ascii: "z"), count: 1 << 20)
        let streamMiB = 256
        let before = residentBytes()
        var peak = before
        for i in 0..<streamMiB {
            try client.socket.send(chunk)
            if i % 16 == 0 { peak = max(peak, residentBytes()) }
        }
        try client.send("\n" + lines[0] + "\n")
        XCTAssertEqual(try client.readAck(), .rejected(id: nil, line: 1, error: "too_large",
                                                       message: "line is \(streamMiB << 20) bytes; the limit is \(1 << 20)"))
        XCTAssertEqual(try client.readAck(), .stored(id: Support.id(of: lines[0]), seq: 1))
        peak = max(peak, residentBytes())
        // Unbounded buffering would grow by the whole stream (256 MiB).
        XCTAssertLessThan(peak - before, 48 << 20, "resident memory grew by \((peak - before) >> 20) MiB")
    }

    private func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func testBlankLinesAreCountedButNotAnswered() throws {
        let server = try TestServer()
        defer { server.stop() }
        let lines = Support.validLines(1)
        let client = try server.connect()
        try client.send("\n \t\r\n" + lines[0] + "\r\n\r\n{\n")
        XCTAssertEqual(try client.readAck(), .stored(id: Support.id(of: lines[0]), seq: 1))
        guard case .rejected(nil, 5, "parse", _) = try client.readAck() else { return XCTFail("line 5") }
    }

    func testTooManyConnectionsGetOneLineAndAreClosed() throws {
        var limits = IngestLimits()
        limits.connectionsMax = 3
        let server = try TestServer(limits: limits)
        defer { server.stop() }
        let lines = Support.validLines(5)
        var clients = try (0..<3).map { i in try server.connect(i == 0 ? server.unix : server.tcp) }
        for (i, client) in clients.enumerated() {
            try client.send(lines: [lines[i]])
            XCTAssertEqual(try client.readAck().seq, UInt64(i + 1))
        }
        let extra = try server.connect()
        XCTAssertEqual(try extra.readAck(), .rejected(id: nil, line: 0, error: "overloaded",
                                                      message: "too many connections (the limit is 3); try again later"))
        XCTAssertNil(try extra.readLine())
        clients.removeFirst()
        waitUntil("a closed connection frees its slot") { server.server.connectionCount == 2 }
        let next = try server.connect()
        try next.send(lines: [lines[3]])
        XCTAssertEqual(try next.readAck().seq, 4)
    }

    func testIdleConnectionsAreClosedAndBusyOnesKept() throws {
        var limits = IngestLimits()
        limits.idleTimeoutMs = 500
        let server = try TestServer(limits: limits)
        defer { server.stop() }
        let start = ContinuousClock.now  // no connection exists before this
        let idle = try (0..<20).map { i in try server.connect(i % 2 == 0 ? server.tcp : server.unix) }
        let busy = try server.connect()
        waitUntil("every connection is registered") { server.server.connectionCount == 21 }
        // The busy one sends a blank line every 50 ms; the idle ones nothing.
        while server.server.connectionCount > 1 {
            try busy.send("\n")
            usleep(50_000)
            if ContinuousClock.now - start > .seconds(10) { break }
        }
        XCTAssertEqual(server.server.connectionCount, 1)
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - start, .milliseconds(500), "closed before the idle timeout")
        for client in idle { XCTAssertTrue(client.waitForClose(timeoutMs: 2000)) }
        let lines = Support.validLines(1)
        try busy.send(lines: lines)
        XCTAssertEqual(try busy.readAck().seq, 1)
    }

    func testAClientThatDoesNotReadItsAnswersIsClosed() throws {
        var limits = IngestLimits()
        limits.slowClientTimeoutMs = 300
        limits.rejectedLinesInARowMax = 10_000_000
        limits.writeBufferHighBytes = 16 << 10
        limits.writeBufferLowBytes = 4 << 10
        let server = try TestServer(limits: limits)
        defer { server.stop() }
        let client = try server.connect(receiveBufferBytes: 4096)
        waitUntil("the connection is registered") { server.server.connectionCount == 1 }
        // 2 bytes in, ~100 bytes of answer out: the answers pile up.
        let sender = Thread {
            let burst = Array(String(repeating: "{\n", count: 50_000).utf8)
            for _ in 0..<100 { do { try client.socket.send(burst) } catch { return } }
        }
        sender.start()
        waitUntil("the slow client is disconnected", timeout: .seconds(20)) { server.server.connectionCount == 0 }
    }

    func testRejectedLinesInARowCloseTheConnectionWithAFinalLine() throws {
        var limits = IngestLimits()
        limits.rejectedLinesInARowMax = 5
        let server = try TestServer(limits: limits)
        defer { server.stop() }
        let lines = Support.validLines(3)
        // A good line resets the count: 5 bad, 1 good, 5 bad stays open.
        let patient = try server.connect()
        try patient.send(lines: Array(repeating: "{", count: 5) + [lines[0]] + Array(repeating: "{", count: 5) + [lines[1]])
        let patientAcks = try patient.readAcks(12)
        XCTAssertEqual(patientAcks[5].seq, 1)
        XCTAssertEqual(patientAcks[11].seq, 2)

        let flood = try server.connect()
        try flood.send(lines: [lines[2]] + Array(repeating: "{", count: 20))
        XCTAssertEqual(try flood.readAck().seq, 3)
        for line in 2...7 {
            guard case .rejected(nil, line, "parse", _) = try flood.readAck() else { return XCTFail("line \(line)") }
        }
        // Not `overloaded` ("busy, send again"): resending the same lines would not help.
        XCTAssertEqual(try flood.readAck(), .rejected(id: nil, line: 0, error: "too_many_rejected",
                                                      message: "closing the connection: 6 rejected lines in a row (the limit is 5)"))
        XCTAssertNil(try flood.readLine())
    }

    func testHalfClosedClientGetsEveryAnswerThenEndOfStream() throws {
        let server = try TestServer()
        defer { server.stop() }
        let lines = Support.validLines(300)
        let client = try server.connect(server.unix)
        // The last line has no newline: it still counts.
        try client.send(lines.joined(separator: "\n"))
        client.socket.shutdownSending()
        XCTAssertEqual(try client.readAcks(300).map(\.seq), (1...300).map { UInt64($0) })
        XCTAssertNil(try client.readLine())
    }

    func testShutdownAnswersEveryLineReceivedThenCloses() throws {
        let server = try TestServer()
        let lines = Support.validLines(50)
        let client = try server.connect()
        server.appender.suspendForTesting()
        try client.send(lines: lines)
        waitUntil("all 50 events are queued") { server.appender.queuedEventCount == 50 }
        let stopped = DispatchSemaphore(value: 0)
        Thread { server.server.shutdown(); stopped.signal() }.start()
        waitUntil("the listener is closed") { (try? IngestSocket(endpoint: server.tcp)) == nil }
        server.appender.resumeForTesting()
        XCTAssertEqual(try client.readAcks(50).map(\.seq), (1...50).map { UInt64($0) })
        XCTAssertNil(try client.readLine())
        XCTAssertEqual(stopped.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(server.log.lastSeq, 50)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.socketPath))
        server.stop()
    }

    func testUnixSocketReplacesAStaleFileAndHasMode0660() throws {
        let directory = ServerTestSupport.makeDirectory()
        let path = directory + "/ingest.sock"
        // A socket file left behind by a process that died.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        close(fd)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))

        let server = try TestServer(directory: directory)
        defer { server.stop() }
        var info = stat()
        XCTAssertEqual(lstat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
        let lines = Support.validLines(1)
        let client = try server.connect(server.unix)
        try client.send(lines: lines)
        XCTAssertEqual(try client.readAck().seq, 1)
    }

    func testAPathThatIsNotASocketStopsStartUp() throws {
        let directory = ServerTestSupport.makeDirectory()
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/ingest.sock", contents: Data("keep me".utf8)))
        XCTAssertThrowsError(try TestServer(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("is not a socket"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: directory + "/ingest.sock", encoding: .utf8), "keep me")
    }
}
