import CareerEvents
import EventLog
import Foundation
import Ingest
import TestSupport
import XCTest

/// Clients stream events to a real `careerlog serve` that is SIGKILLed at
/// random moments. After every kill: each acknowledged event is in the log,
/// at the seq its ack named, exactly once; the log verifies; and events
/// sent again after a restart are answered as duplicates with their seqs.
/// CAREERLOG_SERVER_CRASH_ITERATIONS sets the number of kills.
final class ServerCrashTests: XCTestCase {
    /// What the clients learned, shared by their threads.
    private final class Ledger: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var acknowledged: [String: UInt64] = [:]
        private(set) var conflicts: [String] = []
        private(set) var duplicatesSeen = 0
        /// Answers of any kind, so a round can wait for its first.
        private var answers = 0
        var answerCount: Int { lock.withLock { answers } }

        func record(_ ack: IngestAck, sentID: String) {
            lock.lock()
            defer { lock.unlock() }
            answers += 1
            switch ack {
            case .stored(let id, let seq), .storedRedacted(let id, let seq), .duplicate(let id, let seq):
                if id != sentID { conflicts.append("ack for \(id) where \(sentID) was sent") }
                if case .duplicate = ack { duplicatesSeen += 1 }
                if let known = acknowledged[id], known != seq {
                    conflicts.append("\(id) acknowledged at seq \(known) and at seq \(seq)")
                }
                acknowledged[id] = seq
            case .rejected(_, _, let error, let message):
                conflicts.append("rejected \(sentID): \(error): \(message)")
            }
        }

        var snapshot: [String: UInt64] {
            lock.lock()
            defer { lock.unlock() }
            return acknowledged
        }
    }

    func testSIGKILLWhileClientsSendLosesNoAcknowledgedEvent() throws {
        let iterations = sizeParameter("CAREERLOG_SERVER_CRASH_ITERATIONS", default: 3)
        let clients = 3
        let dir = makeTemporaryDirectory()
        let pool = generatedLines(max(60_000, iterations * 15_000), seed: 9)
        let poolIDs = pool.map(eventID)
        let ledger = Ledger()
        var next = 0  // pool[..<next] has been sent at least once
        var random = SystemRandomNumberGenerator()

        for iteration in 0..<iterations {
            let server = try ServeProcess(dataDirectory: dir, arguments: ["--no-tcp"])
            // Each round resends what was sent but not acknowledged, a few
            // acknowledged events (must come back as duplicates), then new ones.
            let acknowledged = ledger.snapshot
            let unacknowledged = (0..<next).filter { acknowledged[poolIDs[$0]] == nil }.map { pool[$0] }
            let again = (0..<next).filter { acknowledged[poolIDs[$0]] != nil }.shuffled(using: &random).prefix(200).map { pool[$0] }
            let fresh = pool[next..<min(pool.count, next + 15_000)]
            next += fresh.count
            // Acknowledged ones first: every round after the first then
            // checks duplicates, however little the server gets done
            // before the kill on a loaded machine.
            let plan = again + unacknowledged + Array(fresh)
            let shares = (0..<clients).map { c in stride(from: c, to: plan.count, by: clients).map { plan[$0] } }

            let answersBefore = ledger.answerCount
            let done = DispatchGroup()
            let socketPath = server.socketPath
            for share in shares {
                done.enter()
                Thread {
                    Self.stream(share, to: socketPath, ledger: ledger)
                    done.leave()
                }.start()
            }
            // The kill lands at a random moment after the round's first answer.
            waitUntil("the round's first answer", timeout: .seconds(60)) { ledger.answerCount > answersBefore }
            usleep(UInt32.random(in: 100_000...800_000, using: &random))
            server.kill9()
            XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "clients did not notice the kill")

            try checkLog(dir, against: ledger.snapshot, iteration: iteration)
        }
        XCTAssertEqual(ledger.conflicts, [])
        XCTAssertGreaterThan(ledger.snapshot.count, 0, "nothing was ever acknowledged")
        XCTAssertGreaterThan(ledger.duplicatesSeen, 0, "no acknowledged event was sent again")

        // A last restart: acknowledged events are duplicates with their seqs.
        let server = try ServeProcess(dataDirectory: dir, arguments: ["--no-tcp"])
        defer { server.stop() }
        let sample = Set(ledger.snapshot.keys.prefix(300))
        let lines = pool.indices.filter { sample.contains(poolIDs[$0]) }.map { pool[$0] }
        let socket = try IngestSocket(endpoint: .unix(path: server.socketPath))
        try socket.send(lines.joined(separator: "\n") + "\n")
        socket.shutdownSending()
        let answers = try Self.readAll(socket)
        XCTAssertEqual(answers.count, lines.count)
        for (answer, line) in zip(answers, lines) {
            XCTAssertEqual(answer, .duplicate(id: eventID(line), seq: ledger.snapshot[eventID(line)]!))
        }
    }

    /// After a kill: open (recovering the torn tail), compare, verify.
    private func checkLog(_ dir: String, against acknowledged: [String: UInt64], iteration: Int) throws {
        let log = try EventLog.open(directory: dir + "/log")
        var seqOf: [String: UInt64] = [:]
        var expected: UInt64 = 1
        let reader = log.reader()
        while let record = try reader.next() {
            XCTAssertEqual(record.seq, expected)
            expected += 1
            let id = UUIDText.string(record.event.id)
            XCTAssertNil(seqOf.updateValue(record.seq, forKey: id), "iteration \(iteration): \(id) stored twice")
        }
        for (id, seq) in acknowledged {
            XCTAssertEqual(seqOf[id], seq, "iteration \(iteration): acknowledged \(id) at seq \(seq) is not in the log there")
        }
        try log.close()
        let summary = try EventLog.verify(directory: dir + "/log")
        XCTAssertEqual(summary.events, expected - 1)
        print("server crash iteration \(iteration): \(summary.events) events in the log, \(acknowledged.count) acknowledged")
    }

    /// Sends `lines` on one connection while reading answers, until all are
    /// answered or the server dies.
    private static func stream(_ lines: [String], to path: String, ledger: Ledger) {
        guard let socket = try? IngestSocket(endpoint: .unix(path: path)) else { return }
        let payload = Array((lines.joined(separator: "\n") + "\n").utf8)
        Thread { try? socket.send(payload) }.start()
        var buffer = ResponseLineBuffer()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { chunk.deallocate() }
        var answered = 0
        while answered < lines.count {
            guard let n = try? socket.receive(into: chunk, timeoutMs: 30_000), n > 0 else { break }
            buffer.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            buffer.forEachLine { line in
                guard let ack = IngestAck(line: line) else { return }
                ledger.record(ack, sentID: eventID(lines[answered]))
                answered += 1
            }
        }
        socket.close()
    }

    private static func readAll(_ socket: IngestSocket) throws -> [IngestAck] {
        var answers: [IngestAck] = []
        var buffer = ResponseLineBuffer()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = try socket.receive(into: chunk, timeoutMs: 30_000)
            if n == 0 { return answers }
            buffer.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            buffer.forEachLine { answers.append(IngestAck(line: $0)!) }
        }
    }
}
