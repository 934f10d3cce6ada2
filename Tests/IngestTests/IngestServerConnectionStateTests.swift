import CareerEvents
import EventLog
import Foundation
import NIOCore
import XCTest

@testable import Ingest

/// The connection's protocol logic without any I/O: feed it what happened,
/// check the actions it asks for and the answers it writes.
final class IngestServerConnectionStateTests: XCTestCase {
    private func event(_ n: UInt8) -> LogEvent {
        LogEvent(id: UUID(uuid: (n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)), subject: UUID(uuid: (9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9)),
                 time: EventTime(seconds: 1_700_000_000), source: "test", type: "user.erased", data: Array("{}".utf8))
    }

    private func idText(_ n: UInt8) -> String { UUIDText.string(event(n).id) }

    private var parseError: EventError { EventError(code: .parse, reason: "invalid JSON at byte 0: nope") }

    /// Runs actions until none is left: submissions are accepted and
    /// recorded, answers are written to text.
    private func drain(_ state: inout IngestConnectionState, submitted: inout [[LogEvent]], refuse: IngestErrorCode? = nil) -> (written: [String], others: [IngestConnectionState.Action]) {
        var written: [String] = []
        var others: [IngestConnectionState.Action] = []
        while let action = state.nextAction() {
            switch action {
            case .submit(let events):
                submitted.append(events)
                state.submitted(refuse.map { .refused($0, message: "refused") } ?? .accepted, count: events.count)
            case .writeResponses:
                var buffer = ByteBufferAllocator().buffer(capacity: 256)
                _ = state.takeResponses(into: &buffer)
                written += buffer.readString(length: buffer.readableBytes)!.split(separator: "\n").map(String.init)
            case .read, .close:
                others.append(action)
            }
        }
        return (written, others)
    }

    func testAnswersLeaveInLineOrderWhateverOrderTheyAreDecidedIn() {
        var state = IngestConnectionState(limits: IngestLimits())
        var submitted: [[LogEvent]] = []
        state.lineReceived(.event(event(1)))
        state.lineReceived(.rejected(parseError))
        state.lineReceived(.blank)
        state.lineReceived(.event(event(2)))
        // The rejection is decided first but waits behind line 1.
        XCTAssertEqual(drain(&state, submitted: &submitted).written, [])
        XCTAssertEqual(submitted, [[event(1), event(2)]])
        state.appended([.stored(seq: 7)])
        XCTAssertEqual(drain(&state, submitted: &submitted).written, [
            #"{"ok":true,"id":"\#(idText(1))","seq":7}"#,
            #"{"ok":false,"id":null,"line":2,"error":"parse","message":"invalid JSON at byte 0: nope"}"#,
        ])
        state.appended([.duplicate(seq: 3)])
        XCTAssertEqual(drain(&state, submitted: &submitted).written, [#"{"ok":true,"id":"\#(idText(2))","seq":3,"duplicate":true}"#])
        XCTAssertTrue(state.isQuiet)
    }

    func testReadingPausesAtTheUnacknowledgedLimitAndResumes() {
        var limits = IngestLimits()
        limits.unacknowledgedLinesMax = 2
        var state = IngestConnectionState(limits: limits)
        var submitted: [[LogEvent]] = []
        XCTAssertTrue(state.readRequested())
        state.lineReceived(.event(event(1)))
        state.lineReceived(.event(event(2)))
        _ = drain(&state, submitted: &submitted)
        XCTAssertFalse(state.readRequested(), "two lines unanswered: hold the read")
        state.appended([.stored(seq: 1)])
        let (written, others) = drain(&state, submitted: &submitted)
        XCTAssertEqual(written.count, 1)
        XCTAssertEqual(others, [.read], "the held read goes ahead once an answer is written")
        XCTAssertNil(state.nextAction())
    }

    func testReadingPausesWhileAnswersCannotBeWritten() {
        var state = IngestConnectionState(limits: IngestLimits())
        var submitted: [[LogEvent]] = []
        state.writabilityChanged(false)
        XCTAssertFalse(state.readRequested())
        XCTAssertEqual(drain(&state, submitted: &submitted).others, [])
        state.writabilityChanged(true)
        XCTAssertEqual(drain(&state, submitted: &submitted).others, [.read])
    }

    func testARefusedSubmissionIsAnsweredForEachOfItsLines() {
        var state = IngestConnectionState(limits: IngestLimits())
        var submitted: [[LogEvent]] = []
        state.lineReceived(.event(event(1)))
        _ = drain(&state, submitted: &submitted)
        state.lineReceived(.event(event(2)))
        state.lineReceived(.rejected(parseError))
        state.lineReceived(.event(event(3)))
        let written = drain(&state, submitted: &submitted, refuse: .overloaded).written
        XCTAssertEqual(written, [], "line 1 is still awaited")
        state.appended([.stored(seq: 1)])
        let lines = drain(&state, submitted: &submitted).written
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[1], #"{"ok":false,"id":"\#(idText(2))","line":2,"error":"overloaded","message":"refused"}"#)
        XCTAssertEqual(lines[3], #"{"ok":false,"id":"\#(idText(3))","line":4,"error":"overloaded","message":"refused"}"#)
        XCTAssertEqual(state.awaitingCount, 0)
    }

    func testUnavailableOutcomesNameTheLine() {
        var state = IngestConnectionState(limits: IngestLimits())
        var submitted: [[LogEvent]] = []
        state.lineReceived(.blank)
        state.lineReceived(.event(event(1)))
        _ = drain(&state, submitted: &submitted)
        state.appended([.unavailable])
        let lines = drain(&state, submitted: &submitted).written
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].hasPrefix(#"{"ok":false,"id":"\#(idText(1))","line":2,"error":"unavailable","message":"#), lines[0])
    }

    func testEndOfInputClosesOnceEverythingIsAnswered() {
        var state = IngestConnectionState(limits: IngestLimits())
        var submitted: [[LogEvent]] = []
        state.lineReceived(.event(event(1)))
        state.inputClosed()
        XCTAssertEqual(drain(&state, submitted: &submitted).others, [], "line 1 is not answered yet")
        state.appended([.stored(seq: 1)])
        let (written, others) = drain(&state, submitted: &submitted)
        XCTAssertEqual(written.count, 1)
        XCTAssertEqual(others, [.close(.finished, finalLine: nil)])
        XCTAssertTrue(state.isClosed)
    }

    func testDrainStopsReadingAndClosesWhenAnswered() {
        var state = IngestConnectionState(limits: IngestLimits())
        var submitted: [[LogEvent]] = []
        state.lineReceived(.event(event(1)))
        _ = drain(&state, submitted: &submitted)
        state.drain()
        XCTAssertFalse(state.readRequested())
        state.appended([.stored(seq: 1)])
        XCTAssertEqual(drain(&state, submitted: &submitted).others, [.close(.drained, finalLine: nil)])
    }

    func testTooManyRejectedLinesInARowEndWithAFinalLine() {
        var limits = IngestLimits()
        limits.rejectedLinesInARowMax = 2
        var state = IngestConnectionState(limits: limits)
        var submitted: [[LogEvent]] = []
        state.lineReceived(.rejected(parseError))
        state.lineReceived(.event(event(1)))  // resets the count
        state.lineReceived(.rejected(parseError))
        state.lineReceived(.tooLarge(bytes: 5_000_000))
        state.lineReceived(.rejected(parseError))  // the third in a row
        state.lineReceived(.event(event(2)))  // not read any more
        XCTAssertEqual(drain(&state, submitted: &submitted).written.count, 1, "line 1 can go at once")
        XCTAssertEqual(submitted, [[event(1)]])
        state.appended([.stored(seq: 1)])
        let (written, others) = drain(&state, submitted: &submitted)
        XCTAssertEqual(written.count, 4, "lines 2 to 5; line 6 was not read")
        XCTAssertEqual(written[2], #"{"ok":false,"id":null,"line":4,"error":"too_large","message":"line is 5000000 bytes; the limit is 1048576"}"#)
        XCTAssertEqual(others, [.close(.rejectedLines, finalLine: IngestRejection(
            id: nil, line: 0, code: .tooManyRejected, message: "closing the connection: 3 rejected lines in a row (the limit is 2)"))])
    }

    func testIdleTimeoutClosesOnlyAQuietConnection() {
        var state = IngestConnectionState(limits: IngestLimits())
        var submitted: [[LogEvent]] = []
        state.lineReceived(.event(event(1)))
        _ = drain(&state, submitted: &submitted)
        XCTAssertNil(state.idleTimeout(), "an answer is pending")
        state.appended([.stored(seq: 1)])
        _ = drain(&state, submitted: &submitted)
        XCTAssertEqual(state.idleTimeout(), .close(.idle, finalLine: IngestRejection(
            id: nil, line: 0, code: .idleTimeout, message: "closing the connection: nothing received for 300000 ms")))
    }

    func testALineDeadlineAnswersWhatWasReadThenTheLineThenCloses() {
        var state = IngestConnectionState(limits: IngestLimits())
        var submitted: [[LogEvent]] = []
        state.lineReceived(.event(event(1)))
        _ = drain(&state, submitted: &submitted)
        state.lineDeadlinePassed()
        XCTAssertFalse(state.mayRead)
        XCTAssertEqual(drain(&state, submitted: &submitted).others, [], "line 1 is still awaited")
        state.appended([.stored(seq: 1)])
        let (written, others) = drain(&state, submitted: &submitted)
        XCTAssertEqual(written.count, 1)
        XCTAssertEqual(others, [.close(.lineTimeout, finalLine: IngestRejection(
            id: nil, line: 2, code: .lineTimeout, message: "closing the connection: line 2 did not end within 60000 ms of its first byte"))])
    }

    func testAShedLineIsAnsweredOverloadedAndDoesNotCountAsRejected() {
        var limits = IngestLimits()
        limits.rejectedLinesInARowMax = 1
        var state = IngestConnectionState(limits: limits)
        var submitted: [[LogEvent]] = []
        state.lineReceived(.shed(bytes: 900_000))
        state.lineReceived(.shed(bytes: 900_000))
        let (written, others) = drain(&state, submitted: &submitted)
        XCTAssertEqual(written.first, #"{"ok":false,"id":null,"line":1,"error":"overloaded","message":"the server's buffers for unfinished lines are full; this line (900000 bytes) was not read whole and not stored, send it again later"}"#)
        XCTAssertEqual(written.count, 2)
        XCTAssertEqual(others, [], "the connection stays open")
    }

    func testSlowClientTimeoutClosesOnlyWhileNotWritable() {
        var state = IngestConnectionState(limits: IngestLimits())
        XCTAssertNil(state.slowClientTimeout())
        state.writabilityChanged(false)
        XCTAssertEqual(state.slowClientTimeout(), .close(.slowClient, finalLine: nil))
    }
}
