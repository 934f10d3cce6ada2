import EventLog
import Foundation
import Telemetry
import XCTest

@testable import Ingest

/// The appender alone, on a real log, with plain threads as submitters.
final class GroupCommitAppenderTests: XCTestCase {
    private final class Waiter: AppendWaiter {
        let name: String
        init(_ name: String) { self.name = name }
    }

    /// Collects deliveries, with the log's durable end at each.
    private final class Deliveries: @unchecked Sendable {
        private let condition = NSCondition()
        private(set) var groups: [[(waiter: String, outcomes: [AppendOutcome], durableSeq: UInt64)]] = []
        var log: EventLog?

        func deliver(_ completions: [AppendCompletion]) {
            let durable = log?.lastSeq ?? 0
            condition.lock()
            groups.append(completions.map { (($0.waiter as! Waiter).name, $0.outcomes, durable) })
            condition.broadcast()
            condition.unlock()
        }

        func waitForOutcomes(_ count: Int, file: StaticString = #filePath, line: UInt = #line) {
            condition.lock()
            defer { condition.unlock() }
            let deadline = Date().addingTimeInterval(10)
            while groups.flatMap({ $0 }).reduce(0, { $0 + $1.outcomes.count }) < count {
                if !condition.wait(until: deadline) {
                    XCTFail("timed out waiting for \(count) outcomes", file: file, line: line)
                    return
                }
            }
        }

        func outcomes(of waiter: String) -> [AppendOutcome] {
            condition.lock()
            defer { condition.unlock() }
            return groups.flatMap { $0 }.filter { $0.waiter == waiter }.flatMap(\.outcomes)
        }
    }

    private var directory = ""
    private var log: EventLog!
    private var deliveries = Deliveries()

    override func setUpWithError() throws {
        directory = ServerTestSupport.makeDirectory(name)
        log = try EventLog.open(directory: directory + "/log")
        deliveries = Deliveries()
        deliveries.log = log
    }

    override func tearDown() {
        try? log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func makeAppender(limits: IngestLimits = IngestLimits(), metrics: CareerlogMetrics? = nil) -> GroupCommitAppender {
        let deliveries = self.deliveries
        let appender = GroupCommitAppender(
            log: log, window: DedupeWindow(capacity: 1000), limits: limits, logger: ServerTestSupport.logger, metrics: metrics,
            deliver: { deliveries.deliver($0) })
        appender.start()
        return appender
    }

    private func event(_ n: Int) -> LogEvent { Self.makeEvent(n) }

    private static func makeEvent(_ n: Int) -> LogEvent {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes[0] = UInt8(n >> 8)
        bytes[1] = UInt8(n & 0xFF)
        bytes[15] = 7
        let id = UUID(uuid: (bytes[0], bytes[1], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, bytes[15]))
        return LogEvent(id: id, subject: id, time: EventTime(seconds: 1_700_000_000), source: "test", type: "user.erased",
                        data: Array(#"{"reason":"test"}"#.utf8))
    }

    func testEverythingQueuedDuringASyncIsOneGroupWithOneSync() throws {
        let appender = makeAppender()
        defer { appender.stop() }
        appender.suspendForTesting()
        let a = Waiter("a"), b = Waiter("b")
        for i in 0..<10 {
            let events = (0..<10).map { event(i * 10 + $0) }
            XCTAssertEqual(appender.submit(events, waiter: i % 2 == 0 ? a : b), .accepted)
        }
        XCTAssertEqual(appender.queuedEventCount, 100)
        appender.resumeForTesting()
        deliveries.waitForOutcomes(100)
        XCTAssertEqual(appender.statistics.syncs, 1)
        XCTAssertEqual(deliveries.groups.count, 1)
        XCTAssertEqual(deliveries.groups[0].map(\.waiter), ["a", "b"], "one completion per waiter, in order")
        // a submitted events 0-9, 20-29, ...; b 10-19, 30-39, ...: seqs follow submission order.
        let expectedA = [0, 2, 4, 6, 8].flatMap { i in (0..<10).map { AppendOutcome.stored(seq: UInt64(i * 10 + $0 + 1)) } }
        XCTAssertEqual(deliveries.outcomes(of: "a"), expectedA)
        XCTAssertEqual(deliveries.groups[0][0].durableSeq, 100, "outcomes are released after the sync")
        XCTAssertEqual(log.lastSeq, 100)
    }

    func testTheQueueAndDedupeWindowGaugesFollowTheAppender() throws {
        let metrics = CareerlogMetrics()
        let appender = makeAppender(metrics: metrics)
        defer { appender.stop() }
        func gauge(_ name: String) -> Double? {
            let text = String(decoding: MetricsExposition.render(metrics, process: nil), as: UTF8.self)
            return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
        }
        appender.suspendForTesting()
        XCTAssertEqual(appender.submit((1...3).map(event), waiter: Waiter("a")), .accepted)
        XCTAssertEqual(appender.submit([event(4), event(1)], waiter: Waiter("b")), .accepted)
        XCTAssertEqual(gauge("careerlog_ingest_queue_events"), 5)
        XCTAssertEqual(gauge("careerlog_ingest_dedupe_window_ids"), 0)
        appender.resumeForTesting()
        deliveries.waitForOutcomes(5)
        XCTAssertEqual(gauge("careerlog_ingest_queue_events"), 0)
        XCTAssertEqual(gauge("careerlog_ingest_dedupe_window_ids"), 4, "event 1 came twice")
    }

    func testDuplicatesGetTheFirstSeqWithinAGroupAndAcrossGroups() throws {
        let appender = makeAppender()
        defer { appender.stop() }
        let w = Waiter("w")
        appender.suspendForTesting()
        XCTAssertEqual(appender.submit([event(1), event(2), event(1)], waiter: w), .accepted)
        XCTAssertEqual(appender.submit([event(2)], waiter: Waiter("other")), .accepted)
        appender.resumeForTesting()
        deliveries.waitForOutcomes(4)
        XCTAssertEqual(deliveries.outcomes(of: "w"), [.stored(seq: 1), .stored(seq: 2), .duplicate(seq: 1)])
        XCTAssertEqual(deliveries.outcomes(of: "other"), [.duplicate(seq: 2)])
        XCTAssertEqual(appender.submit([event(2), event(3)], waiter: w), .accepted)
        deliveries.waitForOutcomes(6)
        XCTAssertEqual(deliveries.outcomes(of: "w").suffix(2), [.duplicate(seq: 2), .stored(seq: 3)])
        XCTAssertEqual(log.lastSeq, 3)
        XCTAssertEqual(appender.statistics.duplicates, 3)
        for group in deliveries.groups {
            for completion in group {
                for case .duplicate(let seq) in completion.outcomes {
                    XCTAssertLessThanOrEqual(seq, completion.durableSeq, "a duplicate is answered only once its first copy is durable")
                }
            }
        }
    }

    func testAFullQueueRefusesWholeSubmissions() throws {
        var limits = IngestLimits()
        limits.appenderQueueEventsMax = 5
        let appender = makeAppender(limits: limits)
        defer { appender.stop() }
        let w = Waiter("w")
        appender.suspendForTesting()
        XCTAssertEqual(appender.submit([event(1), event(2), event(3)], waiter: w), .accepted)
        XCTAssertEqual(appender.submit([event(4), event(5), event(6)], waiter: w), .overloaded)
        XCTAssertEqual(appender.submit([event(7), event(8)], waiter: w), .accepted)
        XCTAssertEqual(appender.queuedEventCount, 5)
        appender.resumeForTesting()
        deliveries.waitForOutcomes(5)
        XCTAssertEqual(deliveries.outcomes(of: "w"), (1...5).map { AppendOutcome.stored(seq: UInt64($0)) })
    }

    func testALogErrorMakesEverythingUnavailable() throws {
        let appender = makeAppender()
        defer { appender.stop() }
        let w = Waiter("w")
        XCTAssertEqual(appender.submit([event(1)], waiter: w), .accepted)
        deliveries.waitForOutcomes(1)
        try log.close()
        XCTAssertEqual(appender.submit([event(2), event(1)], waiter: w), .accepted)
        deliveries.waitForOutcomes(3)
        // Event 1 is durable at seq 1 whatever happens to the log later: its
        // copy is truly a duplicate, and only event 2 is "not stored".
        XCTAssertEqual(deliveries.outcomes(of: "w"), [.stored(seq: 1), .unavailable, .duplicate(seq: 1)])
        XCTAssertTrue(appender.hasFailed)
        XCTAssertEqual(appender.submit([event(3)], waiter: w), .unavailable)
    }

    func testStopCommitsWhatIsQueuedAndRefusesTheRest() throws {
        let appender = makeAppender()
        let w = Waiter("w")
        appender.suspendForTesting()
        XCTAssertEqual(appender.submit([event(1), event(2)], waiter: w), .accepted)
        appender.stop()
        XCTAssertEqual(deliveries.outcomes(of: "w"), [.stored(seq: 1), .stored(seq: 2)])
        XCTAssertEqual(log.lastSeq, 2)
        XCTAssertEqual(appender.submit([event(3)], waiter: w), .unavailable)
    }

    func testConcurrentSubmittersGetDenseDistinctSeqs() throws {
        let appender = makeAppender()
        defer { appender.stop() }
        let threads = 8, submissions = 100, perSubmission = 5
        let waiters = (0..<threads).map { Waiter("t\($0)") }
        runConcurrently(threads) { t in
            for s in 0..<submissions {
                let base = (t * submissions + s) * perSubmission
                let events = (0..<perSubmission).map { Self.makeEvent(base + $0) }
                while appender.submit(events, waiter: waiters[t]) != .accepted {}
            }
        }
        let total = threads * submissions * perSubmission
        deliveries.waitForOutcomes(total)
        var seqs: [UInt64] = []
        for t in 0..<threads {
            let mine = deliveries.outcomes(of: "t\(t)").map { outcome -> UInt64 in
                guard case .stored(let seq) = outcome else { XCTFail("\(outcome)"); return 0 }
                return seq
            }
            XCTAssertEqual(mine, mine.sorted(), "one submitter's seqs follow its order")
            seqs += mine
        }
        XCTAssertEqual(seqs.sorted(), (1...UInt64(total)).map { $0 })
        XCTAssertEqual(log.lastSeq, UInt64(total))
        XCTAssertLessThanOrEqual(appender.statistics.syncs, UInt64(threads * submissions))
    }
}
