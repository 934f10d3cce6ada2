import Replay
import XCTest

final class TypeGlobTests: XCTestCase {
    private func matches(_ pattern: String, _ name: String) -> Bool {
        try! TypeGlob(pattern).matches(name)
    }

    func testExactNamesMatchOnlyThemselves() {
        XCTAssertTrue(matches("user.registered", "user.registered"))
        XCTAssertFalse(matches("user.registered", "user.registered2"))
        XCTAssertFalse(matches("user.registered", "user.register"))
        XCTAssertFalse(matches("user.registered", "User.registered"))
        XCTAssertFalse(try TypeGlob("user.registered").isGlob)
    }

    func testStarMatchesAnyRunIncludingDots() {
        XCTAssertTrue(matches("application.*", "application.sent"))
        XCTAssertTrue(matches("application.*", "application.advanced"))
        XCTAssertTrue(matches("application.*", "application."))
        XCTAssertFalse(matches("application.*", "applications.sent"))
        XCTAssertFalse(matches("application.*", "application"))
        XCTAssertTrue(matches("*.sent", "application.sent"))
        XCTAssertFalse(matches("*.sent", "application.sent.v2"))
        XCTAssertTrue(matches("*", "mentorship.session_held"))
        XCTAssertTrue(matches("mentor*", "mentorship.session_held"))
        XCTAssertTrue(matches("*ship*held", "mentorship.session_held"))
        XCTAssertTrue(matches("a*b*c", "abc"))
        XCTAssertTrue(matches("a*b*c", "aXXbYYc"))
        XCTAssertFalse(matches("a*b*c", "acb"))
        XCTAssertTrue(try TypeGlob("application.*").isGlob)
    }

    func testQuestionMarkMatchesExactlyOneCharacter() {
        XCTAssertTrue(matches("skill.assesse?", "skill.assessed"))
        XCTAssertFalse(matches("skill.assesse?", "skill.assesse"))
        XCTAssertTrue(matches("goal.?et", "goal.set"))
        XCTAssertTrue(matches("??.*", "cv.parsed"))
        XCTAssertFalse(matches("??.*", "goal.set"))
        XCTAssertTrue(try TypeGlob("goal.?et").isGlob)
    }

    func testManyStarsStayFast() {
        // Exponential matchers take ages here; this one backtracks linearly.
        let name = String(repeating: "a", count: 200)
        let start = ContinuousClock.now
        XCTAssertFalse(matches("*a*a*a*a*a*a*a*a*b", name))
        XCTAssertTrue(matches("*a*a*a*a*a*a*a*a*", name))
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(1))
    }

    func testEmptyPatternIsRejected() {
        XCTAssertThrowsError(try TypeGlob(""))
    }
}
