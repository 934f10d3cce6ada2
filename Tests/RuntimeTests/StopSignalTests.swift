import Foundation
import TestSupport
import XCTest

@testable import Runtime

final class StopSignalTests: XCTestCase {
    func testTheFirstReasonIsKept() {
        let stop = StopSignal()
        XCTAssertFalse(stop.isRequested)
        XCTAssertNil(stop.reason)
        stop.request(.signal(SIGTERM))
        stop.request()
        XCTAssertTrue(stop.isRequested)
        XCTAssertEqual(stop.wait(), .signal(SIGTERM))
        XCTAssertEqual("\(stop.reason!)", "SIGTERM")
        XCTAssertEqual("\(StopSignal.Reason.signal(SIGINT))", "SIGINT")
        XCTAssertEqual("\(StopSignal.Reason.requested)", "request")
    }

    func testATrappedSignalBecomesTheStopReason() {
        let stop = StopSignal()
        // SIGUSR2: trapping it here cannot disturb the test runner.
        stop.trap([SIGUSR2])
        // The dispatch source is armed asynchronously after `resume()`; until
        // then the signal is ignored, so it is raised until it is seen.
        waitUntil("the stop is requested") {
            raise(SIGUSR2)
            return stop.isRequested
        }
        XCTAssertEqual(stop.reason, .signal(SIGUSR2))
    }

    func testARequestCutsASleepShort() {
        let stop = StopSignal()
        let started = ContinuousClock.now
        DispatchQueue.global().async { stop.request() }
        XCTAssertTrue(stop.sleep(for: .seconds(30)))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(10), "the sleep was not cut short")
    }

    func testASleepWithoutARequestLastsItsDuration() {
        let stop = StopSignal()
        let started = ContinuousClock.now
        XCTAssertFalse(stop.sleep(for: .milliseconds(100)))
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - started, .milliseconds(100))
    }
}
