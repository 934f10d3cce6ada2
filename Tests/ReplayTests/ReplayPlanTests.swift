import CareerEvents
import EventLog
import Foundation
import StoredEventCodec
import Replay
import TestSupport
import XCTest

/// The planner: where a replay starts, which frames it skips unread, where
/// it stops, and that none of it changes what matches.
final class ReplayPlanTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try Fixture.write(name)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func run(_ filter: ReplayFilter) throws -> ReplayResult { try replay(directory, filter) }

    func testFullReplayReadsEveryFrame() throws {
        XCTAssertEqual(try run(ReplayFilter()), ReplayResult(seqs: Array(1...12), framesRead: 5))
    }

    /// `--type` and `--source` use the frames' (source, type) tables: only
    /// the events that match are decoded (frames without a matching pair
    /// are passed over, other records stepped over), and what matches is
    /// exactly what filtering every event would give.
    func testTypeAndSourceFiltersDecodeOnlyWhatCanMatch() throws {
        let forge = Fixture.forge, hub = Fixture.hub
        let cases: [(ReplayFilter, [UInt64])] = [
            (try ReplayFilter(types: ["placement.recorded"]), [5]),
            (try ReplayFilter(types: ["application.*"]), [1, 2, 4, 7, 8, 11]),
            (try ReplayFilter(sources: [hub]), [3, 6, 7, 11]),
            (try ReplayFilter(types: ["skill.*"], sources: [forge]), [10]),
            (try ReplayFilter(types: ["nothing.like.this"]), []),
            (try ReplayFilter(fromSeq: 6, types: ["application.*"]), [7, 8, 11]),
        ]
        for (filter, expected) in cases {
            let log = try EventLog.open(directory: directory, mode: .readOnly)
            let scan = ReplayScan(log: log, filter: filter)
            var seqs: [UInt64] = []
            while let record = try scan.next() { seqs.append(record.seq) }
            XCTAssertEqual(seqs, expected, "\(filter)")
            XCTAssertEqual(scan.eventsRead, UInt64(expected.count), "events decoded for \(filter)")
        }
    }

    func testSinceSkipsFramesWhoseEventTimesAreAllEarlier() throws {
        // Frames 1-3 hold nothing at or after April: only frames 4 and 5 are read.
        XCTAssertEqual(try run(ReplayFilter(since: "2025-04-01")), ReplayResult(seqs: [9, 10, 11, 12], framesRead: 2))
        XCTAssertEqual(try run(ReplayFilter(since: "2025-05-02")), ReplayResult(seqs: [12], framesRead: 1))
        XCTAssertEqual(try run(ReplayFilter(since: "2026-01-01")), ReplayResult(seqs: [], framesRead: 0))
    }

    func testUntilSkipsFramesWhoseEventTimesAreAllLater() throws {
        // Frame 2 must be read: it holds the late 2024 event.
        XCTAssertEqual(try run(ReplayFilter(until: "2025-02-01")), ReplayResult(seqs: [1, 2, 3, 6], framesRead: 2))
        XCTAssertEqual(try run(ReplayFilter(until: "2025-01-01")), ReplayResult(seqs: [6], framesRead: 1))
        XCTAssertEqual(try run(ReplayFilter(since: "2025-03-01", until: "2025-03-02")), ReplayResult(seqs: [7], framesRead: 1))
    }

    func testAnEmptyWindowReadsNothing() throws {
        let filter = try ReplayFilter(since: "2025-03-01", until: "2025-03-01")
        XCTAssertEqual(try run(filter), ReplayResult(seqs: [], framesRead: 0))
        let log = try EventLog.open(directory: directory, mode: .readOnly)
        XCTAssertTrue(ReplayPlan.make(filter, log: log).readsNothing)
        XCTAssertEqual(try run(ReplayFilter(fromSeq: 9, toSeq: 3)), ReplayResult(seqs: [], framesRead: 0))
    }

    func testSeqStartSeeksAndToSeqStopsEarly() throws {
        XCTAssertEqual(try run(ReplayFilter(fromSeq: 11)), ReplayResult(seqs: [11, 12], framesRead: 1))
        XCTAssertEqual(try run(ReplayFilter(toSeq: 2)), ReplayResult(seqs: [1, 2], framesRead: 1))
        // Seq 8 ends frame 3: frame 4 is not read.
        XCTAssertEqual(try run(ReplayFilter(fromSeq: 4, toSeq: 8)), ReplayResult(seqs: [4, 5, 6, 7, 8], framesRead: 2))
        // Frames 1 and 2 are skipped by time; frame 3 (seq 7) shows the end was passed.
        XCTAssertEqual(try run(ReplayFilter(toSeq: 6, since: "2025-03-01")), ReplayResult(seqs: [], framesRead: 1))
    }

    func testRecordedSinceStartsThroughTheIndexAndRecordedUntilStops() throws {
        // The bisection lands on the last frame whose first event is older
        // (frame 3: a frame may straddle the time), then frames 4 and 5.
        XCTAssertEqual(try run(ReplayFilter(recordedSince: "2025-04-10")), ReplayResult(seqs: [9, 10, 11, 12], framesRead: 3))
        XCTAssertEqual(try run(ReplayFilter(recordedSince: "2025-04-10T00:00:00.000001Z")), ReplayResult(seqs: [11, 12], framesRead: 2))
        XCTAssertEqual(try run(ReplayFilter(recordedUntil: "2025-02-10")), ReplayResult(seqs: [1, 2, 3], framesRead: 2))
    }

    func testPlannerTakesTheFurtherOfFromSeqAndRecordedSince() throws {
        let log = try EventLog.open(directory: directory, mode: .readOnly)
        let byRecorded = ReplayPlan.make(try ReplayFilter(fromSeq: 2, recordedSince: "2025-03-10"), log: log)
        XCTAssertEqual(byRecorded.start, .recorded(us("2025-03-10")))
        let bySeq = ReplayPlan.make(try ReplayFilter(fromSeq: 11, recordedSince: "2025-03-10"), log: log)
        XCTAssertEqual(bySeq.start, .seq(11))
        XCTAssertEqual(try run(ReplayFilter(fromSeq: 11, recordedSince: "2025-03-10")), ReplayResult(seqs: [11, 12], framesRead: 1))

        let plan = ReplayPlan.make(try ReplayFilter(toSeq: 7, since: "2025-01-01", until: "2025-02-01", recordedUntil: "2025-05-01"), log: log)
        XCTAssertEqual(plan.start, .seq(1))
        XCTAssertEqual(plan.eventTimeFrames, us("2025-01-01")...(us("2025-02-01") - 1))
        XCTAssertEqual(plan.stopAfterSeq, 7)
        XCTAssertEqual(plan.stopAtRecorded, us("2025-05-01"))
        XCTAssertFalse(plan.readsNothing)
    }

    /// On a bigger log of many segments, every plan returns exactly what a
    /// brute-force filter over a full read returns.
    func testPlansAgreeWithABruteForceFilterAcrossSegments() throws {
        let big = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: big) }
        let all = try writeShuffledLog(big, events: 3_000)
        let log = try EventLog.open(directory: big, mode: .readOnly)
        XCTAssertGreaterThan(try log.statistics().segments, 3)
        var random = SplitMix(seed: 7)
        for _ in 0..<200 {
            let filter = randomFilter(&random, all: all)
            let scan = ReplayScan(log: log, filter: filter)
            var got: [UInt64] = []
            while let record = try scan.next() { got.append(record.seq) }
            let expected = all.filter { bruteForce(filter, $0) }.map(\.seq)
            XCTAssertEqual(got, expected, "filter \(filter), \(scan.plan)")
        }
    }

    // MARK: - Helpers

    /// Events whose times wander (late events), several types, subjects and
    /// sources, one frame per append of 1...40 events, small segments.
    private func writeShuffledLog(_ directory: String, events: Int) throws -> [EventRecord] {
        let clock = TestClock()
        var limits = LogLimits(segmentBytesMax: 16 << 10)
        limits.frameTargetBytes = 2 << 10
        let log = try EventLog.open(directory: directory, limits: limits, clock: { clock.now.load(ordering: .relaxed) })
        var random = SplitMix(seed: 3)
        var written = 0
        var recorded = us("2025-01-01")
        while written < events {
            let count = min(events - written, 1 + Int(random.next() % 40))
            recorded += Int64(random.next() % 3_600_000_000)
            clock.now.store(recorded, ordering: .relaxed)
            try log.append((0..<count).map { _ in
                // Mostly near the recorded time, sometimes days late.
                let lateness = random.next() % 10 == 0 ? Int64(random.next() % 864_000) : Int64(random.next() % 3600)
                let seconds = recorded / 1_000_000 - lateness
                let type = ["application.sent", "application.advanced", "skill.assessed", "goal.set"][Int(random.next() % 4)]
                return LogEvent(id: random.uuid(), subject: Subject.all[Int(random.next() % 3)],
                                time: EventTime(seconds: seconds, nanoseconds: UInt32(random.next() % 1000) * 1000, fractionDigits: 6),
                                source: random.next() % 2 == 0 ? Fixture.forge : Fixture.hub, type: type, data: Array("{}".utf8))
            })
            try log.sync()
            written += count
        }
        try log.close()
        let reader = try EventLog.open(directory: directory, mode: .readOnly).reader()
        var all: [EventRecord] = []
        while let record = try reader.next() { all.append(record) }
        XCTAssertEqual(all.count, events)
        return all
    }

    private func randomFilter(_ random: inout SplitMix, all: [EventRecord]) -> ReplayFilter {
        var filter = ReplayFilter()
        func pick() -> EventRecord { all[Int(random.next() % UInt64(all.count))] }
        if random.next() % 3 == 0 { filter.fromSeq = pick().seq }
        if random.next() % 3 == 0 { filter.toSeq = pick().seq }
        if random.next() % 2 == 0 { filter.eventTime.since = pick().event.time.microseconds }
        if random.next() % 2 == 0 { filter.eventTime.until = pick().event.time.microseconds + Int64(random.next() % 100_000_000_000) }
        if random.next() % 3 == 0 { filter.recorded.since = pick().recorded + Int64(random.next() % 3) - 1 }
        if random.next() % 3 == 0 { filter.recorded.until = pick().recorded + Int64(random.next() % 3) - 1 }
        if random.next() % 3 == 0 { filter.types = [try! TypeGlob(["application.*", "skill.assessed", "*.set"][Int(random.next() % 3)])] }
        if random.next() % 4 == 0 { filter.subjects = [Subject.all[Int(random.next() % 3)]] }
        if random.next() % 4 == 0 { filter.sources = [Fixture.hub] }
        return filter
    }

    private func bruteForce(_ filter: ReplayFilter, _ record: EventRecord) -> Bool {
        record.seq >= filter.fromSeq && record.seq <= (filter.toSeq ?? .max)
            && filter.eventTime.contains(record.event.time.microseconds) && filter.recorded.contains(record.recorded)
            && (filter.types.isEmpty || filter.types.contains { $0.matches(record.event.type) })
            && (filter.subjects.isEmpty || filter.subjects.contains(record.event.subject))
            && (filter.sources.isEmpty || filter.sources.contains(record.event.source))
    }
}

extension Subject {
    static let all = [a, b, c]
}

/// SplitMix64: deterministic, so a failure reproduces.
