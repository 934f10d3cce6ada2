import CareerEvents
import EventLog
import Foundation
import Ingest
import TestSupport
import XCTest

/// Issue 11's crash test: a real `careerlog serve` is killed with SIGKILL
/// while events of new subjects and erasures stream in, at random moments
/// and exactly at the two moments sealing adds (the server's
/// `CAREERLOG_TEST_CRASH_AT`): after new keys are synced but before the
/// records sealed with them are appended, and after an erasure is appended
/// but before its key is destroyed. After every kill each acknowledged
/// event is in the log at its seq and each acknowledged erasure holds (its
/// subject's PII reads back as null even with the master key); at the end,
/// after one more start (which re-applies erasures), every stored event of
/// a subject never erased decrypts to exactly what was sent.
final class PrivacyCrashTests: XCTestCase {
    private final class Ledger: @unchecked Sendable {
        private let lock = NSLock()
        private var acknowledged: [String: UInt64] = [:]
        private(set) var conflicts: [String] = []

        func record(_ ack: IngestAck, sentID: String) {
            lock.lock()
            defer { lock.unlock() }
            switch ack {
            case .stored(let id, let seq), .storedRedacted(let id, let seq), .duplicate(let id, let seq):
                if id != sentID { conflicts.append("ack for \(id) where \(sentID) was sent") }
                if let known = acknowledged[id], known != seq { conflicts.append("\(id) acknowledged at \(known) and \(seq)") }
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

    /// One round: a crash point the server passes (nil: a kill at a random moment).
    private struct Round {
        var crashAt: String?
    }

    func testKillsAroundKeyWritesAndErasuresLoseNoEventAndLeakNoErasedPII() throws {
        let rounds = sizeParameter("CAREERLOG_PRIVACY_CRASH_ROUNDS", default: 2)
        let perRound = 4_000
        var random = SystemRandomNumberGenerator()
        var plan: [Round] = []
        for _ in 0..<rounds {
            plan.append(Round(crashAt: "keys-durable:\(Int.random(in: 1...3, using: &random))"))
            plan.append(Round(crashAt: "erasure-durable:\(Int.random(in: 1...2, using: &random))"))
            plan.append(Round(crashAt: nil))
        }
        let dir = makeTemporaryDirectory()
        let pool = try Self.poolWithErasures(plan.count * perRound, seed: 23)
        let poolIDs = pool.map(eventID)
        let poolEvents = try pool.map { try XCTUnwrap(JSONParser.parse($0).objectValue) }
        let erasuresInPool = poolEvents.filter { $0["type"] == "user.erased" }.count
        XCTAssertGreaterThanOrEqual(erasuresInPool, plan.count, "the pool should hold erasures to crash around")
        let ledger = Ledger()
        var next = 0
        var crashPointsHit: [String: Int] = [:]

        for (number, round) in plan.enumerated() {
            let server = try ServeProcess(dataDirectory: dir, arguments: ["--no-tcp"],
                                          environment: round.crashAt.map { ["CAREERLOG_TEST_CRASH_AT": $0] } ?? [:])
            let acknowledged = ledger.snapshot
            let unacknowledged = (0..<next).filter { acknowledged[poolIDs[$0]] == nil }.map { pool[$0] }
            let fresh = pool[next..<min(pool.count, next + perRound)]
            next += fresh.count
            let lines = unacknowledged + Array(fresh)
            let shares = [stride(from: 0, to: lines.count, by: 2).map { lines[$0] }, stride(from: 1, to: lines.count, by: 2).map { lines[$0] }]
            let done = DispatchGroup()
            for share in shares {
                done.enter()
                let socketPath = server.socketPath
                Thread {
                    Self.stream(share, to: socketPath, ledger: ledger)
                    done.leave()
                }.start()
            }
            if round.crashAt == nil { usleep(UInt32.random(in: 100_000...600_000, using: &random)) }
            // A crash point ends the server by itself; the clients see it.
            XCTAssertEqual(done.wait(timeout: .now() + 120), .success, "round \(number): the clients did not finish")
            if round.crashAt != nil {
                // Foundation notices a child's end a moment after its sockets close.
                let deadline = Date().addingTimeInterval(10)
                while server.process.isRunning && Date() < deadline { usleep(10_000) }
            }
            if let point = round.crashAt, !server.process.isRunning, server.process.terminationReason == .uncaughtSignal,
               server.process.terminationStatus == SIGKILL {
                crashPointsHit[String(point.prefix { $0 != ":" }), default: 0] += 1
            }
            if server.process.isRunning { server.kill9() }
            try checkAcknowledgedAreStored(dir, ledger.snapshot, round: number)
            try checkAcknowledgedErasuresHold(dir, ledger.snapshot, poolEvents: poolEvents, poolIDs: poolIDs, round: number)
        }
        XCTAssertEqual(ledger.conflicts, [])
        XCTAssertGreaterThan(crashPointsHit["keys-durable"] ?? 0, 0, "no round stopped between a key's sync and its records' append")
        XCTAssertGreaterThan(crashPointsHit["erasure-durable"] ?? 0, 0, "no round stopped between an erasure's append and its key's destruction")

        // One clean start and stop: erasures left half-done are re-applied.
        let server = try ServeProcess(dataDirectory: dir, arguments: ["--no-tcp"])
        XCTAssertEqual(server.stop(), 0, server.stderr)
        try checkEveryEventDecryptsUnlessErased(dir, poolEvents: poolEvents, poolIDs: poolIDs)
    }

    /// Every acknowledged event is in the log at the seq its answer named.
    private func checkAcknowledgedAreStored(_ dir: String, _ acknowledged: [String: UInt64], round: Int) throws {
        let log = try EventLog.open(directory: dir + "/log", mode: .readOnly)
        defer { try? log.close() }
        var seqOf: [String: UInt64] = [:]
        let reader = log.reader()
        while let record = try reader.next() { seqOf[UUIDText.string(record.event.id)] = record.seq }
        for (id, seq) in acknowledged where seqOf[id] != seq {
            XCTFail("round \(round): acknowledged \(id) at seq \(seq) is at \(seqOf[id].map(String.init) ?? "nowhere")")
        }
    }

    /// The events `replay --include-pii` shows, by id (the server is stopped).
    private func replayWithPII(_ dir: String) throws -> [String: (object: JSONObject, line: Substring)] {
        let replay = try runCareerlog(["replay", "--data-dir", dir, "--include-pii"])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        var byID: [String: (JSONObject, Substring)] = [:]
        for line in replay.stdout.split(separator: "\n") {
            let object = try XCTUnwrap(JSONParser.parse(String(line)).objectValue)
            byID[try XCTUnwrap(object["id"]?.stringValue)] = (object, line)
        }
        return byID
    }

    /// Right after a kill, before any restart: a subject whose erasure was
    /// acknowledged shows no PII value, even with the master key.
    private func checkAcknowledgedErasuresHold(_ dir: String, _ acknowledged: [String: UInt64], poolEvents: [JSONObject],
                                               poolIDs: [String], round: Int) throws {
        let erased = Set(poolEvents.indices.filter { poolEvents[$0]["type"] == "user.erased" && acknowledged[poolIDs[$0]] != nil }
            .map { poolEvents[$0]["subject"]!.stringValue! })
        for (_, (object, _)) in try replayWithPII(dir) where erased.contains(object["subject"]!.stringValue!) {
            let values = PrivacyTests.piiValues(type: object["type"]!.stringValue!, version: 1, data: object["data"]!.objectValue!)
            XCTAssertEqual(values, [], "round \(round): PII of an acknowledged erasure's subject is readable")
        }
    }

    /// After the last start: subjects erased in the log show no PII; every
    /// other stored event's data is exactly what was sent.
    private func checkEveryEventDecryptsUnlessErased(_ dir: String, poolEvents: [JSONObject], poolIDs: [String]) throws {
        let stored = try replayWithPII(dir)
        let erased = Set(poolEvents.indices.filter { poolEvents[$0]["type"] == "user.erased" && stored[poolIDs[$0]] != nil }
            .map { poolEvents[$0]["subject"]!.stringValue! })
        XCTAssertGreaterThan(erased.count, 0)
        var decrypted = 0
        for (index, event) in poolEvents.enumerated() {
            guard let (object, _) = stored[poolIDs[index]] else { continue }
            let subject = event["subject"]!.stringValue!
            if erased.contains(subject) {
                let values = PrivacyTests.piiValues(type: object["type"]!.stringValue!, version: 1, data: object["data"]!.objectValue!)
                XCTAssertEqual(values, [], "an erased subject's PII is readable after the restart")
            } else {
                XCTAssertEqual(object["data"]?.compactString, event["data"]?.compactString, "event \(poolIDs[index]) does not read back as sent")
                XCTAssertNil(object["redacted"])
                if !PrivacyTests.piiValues(type: event["type"]!.stringValue!, version: 1, data: event["data"]!.objectValue!).isEmpty { decrypted += 1 }
            }
        }
        XCTAssertGreaterThan(decrypted, 100, "few events with PII were checked")
    }

    /// Generated events with many more erasures than a history has (one
    /// learner in 200): every 8th registered subject is erased right after
    /// its third event, and its later events still come (stored with their
    /// PII as null).
    static func poolWithErasures(_ count: Int, seed: UInt64) throws -> [String] {
        var eventsSeen: [String: Int] = [:]
        var registered = 0
        var erase: Set<String> = []
        var pool: [String] = []
        for line in generatedLines(count, seed: seed) {
            pool.append(line)
            let event = try XCTUnwrap(JSONParser.parse(line).objectValue)
            let subject = event["subject"]!.stringValue!
            if event["type"] == "user.registered" {
                registered += 1
                if registered % 8 == 0 { erase.insert(subject) }
            }
            eventsSeen[subject, default: 0] += 1
            guard erase.contains(subject), eventsSeen[subject] == 3 else { continue }
            var erasure = JSONObject()
            erasure["id"] = .string(UUID().uuidString.lowercased())
            erasure["source"] = event["source"]
            erasure["type"] = "user.erased"
            erasure["subject"] = event["subject"]
            erasure["time"] = event["time"]
            erasure["data"] = .object(JSONObject([("reason", .string("user request"))]))
            pool.append(JSONValue.object(erasure).compactString)
        }
        return pool
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
            guard let n = try? socket.receive(into: chunk, timeoutMs: 60_000), n > 0 else { break }
            buffer.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            buffer.forEachLine { line in
                guard let ack = IngestAck(line: line) else { return }
                ledger.record(ack, sentID: eventID(lines[answered]))
                answered += 1
            }
        }
        socket.close()
    }
}
