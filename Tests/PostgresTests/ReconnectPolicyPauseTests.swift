import Foundation
import Postgres
import XCTest

/// `ReconnectPolicy.pause`: the one wait between retries in careerlog
/// (withReconnect, the projector, a node waiting for its database).
final class ReconnectPolicyPauseTests: XCTestCase {
    func testAPauseLastsItsDurationWhenNothingStopsIt() {
        let started = ContinuousClock.now
        XCTAssertTrue(ReconnectPolicy().pause(milliseconds: 120))
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - started, .milliseconds(120))
    }

    func testAStopEndsAPauseWithinASlice() {
        let stopAt = ContinuousClock.now + .milliseconds(100)
        let started = ContinuousClock.now
        let waitedAll = ReconnectPolicy().pause(milliseconds: 60_000, shouldStop: { ContinuousClock.now >= stopAt })
        XCTAssertFalse(waitedAll)
        // Bounded by the stop moment plus one slice, with room for a loaded machine.
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(10), "the pause did not end on the stop")
    }

    func testAStopAlreadyRequestedEndsAPauseAtOnce() {
        let started = ContinuousClock.now
        XCTAssertFalse(ReconnectPolicy().pause(milliseconds: 60_000, shouldStop: { true }))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
    }
}
