import CareerEvents
import EventLog
import Foundation
import Replay
import Synchronization
import TestSupport
import XCTest

/// The read loop behind `replay` and `replay --follow`, in-process.
final class ReplaySessionTests: XCTestCase {
    func testPumpReadsToTheEndAndFlushesOnce() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scan = ReplayScan(log: try EventLog.open(directory: directory, mode: .readOnly), filter: try ReplayFilter(types: ["application.*"]))
        var seqs: [UInt64] = []
        var idles = 0
        try ReplaySession(scan: scan, follow: false).pump(idle: { idles += 1 }) { seqs.append($0.seq) }
        XCTAssertEqual(seqs, [1, 2, 4, 7, 8, 11])
        XCTAssertEqual(idles, 2, "once when the log ran dry, once at the end")
    }

    func testAnInterruptStopsBeforeTheNextEvent() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scan = ReplayScan(log: try EventLog.open(directory: directory, mode: .readOnly), filter: ReplayFilter())
        var seqs: [UInt64] = []
        var idles = 0
        let session = ReplaySession(scan: scan, follow: true, interrupted: { seqs.count == 3 }, outputClosed: { false })
        try session.pump(idle: { idles += 1 }) { seqs.append($0.seq) }
        XCTAssertEqual(seqs, [1, 2, 3])
        XCTAssertEqual(idles, 1)
    }

    /// While this process appends through another handle, a follow sees
    /// every event, in order, and ends once interrupted.
    func testFollowSeesEventsAppendedLater() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = FollowState()
        let reader = Thread { [state] in
            do {
                let scan = ReplayScan(log: try EventLog.open(directory: directory, mode: .readOnly), filter: ReplayFilter())
                let session = ReplaySession(scan: scan, follow: true, interrupted: { state.stop.load(ordering: .relaxed) }, outputClosed: { false })
                try session.pump(idle: {}) { record in state.seqs.withLock { $0.append(record.seq) } }
            } catch {
                state.error.withLock { $0 = "\(error)" }
            }
            state.done.store(true, ordering: .relaxed)
        }
        reader.start()

        let writer = try EventLog.open(directory: directory)
        for n in 13...40 {
            try writer.append([LogEvent(id: Fixture.eventID(UInt64(n)), subject: Subject.a, time: EventTime(seconds: 1_735_689_600),
                                        source: Fixture.forge, type: "skill.assessed", data: Array("{}".utf8))])
            try writer.sync()
        }
        try writer.close()
        waitUntil("the follow prints all 40 events", timeout: .seconds(30)) { state.seqs.withLock { $0.count } == 40 }
        state.stop.store(true, ordering: .relaxed)
        waitUntil("the follow ends when interrupted", timeout: .seconds(10)) { state.done.load(ordering: .relaxed) }
        XCTAssertEqual(state.seqs.withLock { $0 }, Array(1...40))
        XCTAssertNil(state.error.withLock { $0 })
    }

    func testProgressLine() {
        XCTAssertEqual(ReplayProgress.line(position: 51, lastSeq: 200, matched: 7), "replay: at seq 50 of 200 (25%), 7 matched")
        XCTAssertEqual(ReplayProgress.line(position: 1, lastSeq: 0, matched: 0), "replay: at seq 0 of 0 (100%), 0 matched")
    }
}

private final class FollowState: Sendable {
    let stop = Atomic<Bool>(false)
    let done = Atomic<Bool>(false)
    let seqs = Mutex<[UInt64]>([])
    let error = Mutex<String?>(nil)
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
