import Foundation
import XCTest

@testable import Projector

/// "As of" in an as-of build by time is the moment asked for (EVENT_CATALOG:
/// "the newest event time in the log, or the as-of moment asked for"); live
/// builds and as-of builds by seq keep the newest event time. The cases are
/// the boundaries where the two differ.
final class AnalyticsAsOfTests: XCTestCase {
    private static func d(_ day: Int, _ seconds: Int = 0) -> String { EventScript.day(day, seconds: seconds) }

    private func buildAsOf(_ build: AnalyticsBuild, into prefix: String, untilTime: String) throws {
        let builder = ProjectionBuilder(url: build.url, log: build.log, catalog: ProjectionCatalog(definitions: [build.definition]),
                                        logger: testLogger)
        XCTAssertEqual(try builder.buildAsOf(into: prefix, untilSeq: nil, untilTime: untilTime) { _ in }, [prefix + "_analytics"])
    }

    func testACohortWhoseLastWindowClosedBeforeTheMomentIsClosed() throws {
        // a1 enrolls on day 0 at 22:04:23: the window closes on day 365 at
        // 22:04:23 (2024 is a leap year: day 365 is 2024-12-31). The newest
        // event before T = day 365 22:04:24 is at 21:58:35, the next one a
        // day later.
        var s = EventScript()
        s.add("program.enrolled", "a1", Self.d(0, 79_463),
              #""program":"P1","cohort":"2024-01","target_industry":"Tech","target_role":"Engineer","baseline_salary":{"amount":100,"currency":"EUR"}"#)
        s.add("learning.progressed", "a2", Self.d(365, 79_115), #""activity_id":@act,"completion_percentage":50,"hours":1"#)
        s.add("learning.progressed", "a2", Self.d(366, 79_115), #""activity_id":@act,"completion_percentage":60,"hours":1"#)
        let build = try AnalyticsBuild(events: s.events, batchEventsMax: 1000)
        let moment = Self.d(365, 79_464)
        try buildAsOf(build, into: "t", untilTime: moment)
        XCTAssertEqual(try build.rows("SELECT as_of = $1::timestamptz FROM t_analytics.as_of_utc", [moment]), [["t"]])
        XCTAssertEqual(try build.rows("SELECT cohort, enrolled, placed_within_12_months, window_state FROM t_analytics.placement_rate_by_cohort"),
                       [["2024-01", "1", "0", "closed"]])
        // One second earlier the window is still running.
        try buildAsOf(build, into: "u", untilTime: Self.d(365, 79_462))
        XCTAssertEqual(try build.rows("SELECT window_state FROM u_analytics.placement_rate_by_cohort"), [["open"]])
        // The live build: as of its newest event.
        XCTAssertEqual(try build.rows("SELECT as_of = $1::timestamptz FROM analytics.as_of_utc", [Self.d(366, 79_115)]), [["t"]])
    }

    func testAMomentJustAfterMidnightHasNoStreakFromTheDayBefore() throws {
        // l1 logs hours on days 9 and 10 (at 23:30); T is day 11 at 00:00:30.
        // The as-of day is day 11 (2024-01-12), which has no hours: streak 0.
        var s = EventScript()
        s.add("learning.progressed", "l1", Self.d(9, 84_600), #""activity_id":@act,"completion_percentage":10,"hours":2"#)
        s.add("learning.progressed", "l1", Self.d(10, 84_600), #""activity_id":@act,"completion_percentage":20,"hours":2"#)
        s.add("learning.progressed", "l2", Self.d(12), #""activity_id":@act2,"completion_percentage":20,"hours":2"#)
        let l1 = s.text("l1")
        let build = try AnalyticsBuild(events: s.events, batchEventsMax: 1000)
        try buildAsOf(build, into: "m", untilTime: Self.d(11, 30))
        XCTAssertEqual(try build.rows("SELECT subject::text, as_of_day::text, streak_days FROM m_analytics.learning_streaks"),
                       [[l1, "2024-01-12", "0"]])
        // Just before midnight the same two days are a streak of 2.
        try buildAsOf(build, into: "n", untilTime: Self.d(10, 86_399))
        XCTAssertEqual(try build.rows("SELECT subject::text, as_of_day::text, streak_days FROM n_analytics.learning_streaks"),
                       [[l1, "2024-01-11", "2"]])
    }

    func testAnAsOfBuildBySeqKeepsTheNewestEventTime() throws {
        var s = EventScript()
        s.add("learning.progressed", "l1", Self.d(3), #""activity_id":@act,"completion_percentage":10,"hours":2"#)
        s.add("learning.progressed", "l1", Self.d(1), #""activity_id":@act,"completion_percentage":20,"hours":2"#)
        s.add("learning.progressed", "l1", Self.d(5), #""activity_id":@act,"completion_percentage":30,"hours":2"#)
        let build = try AnalyticsBuild(events: s.events, batchEventsMax: 1000)
        let builder = ProjectionBuilder(url: build.url, log: build.log, catalog: ProjectionCatalog(definitions: [build.definition]),
                                        logger: testLogger)
        _ = try builder.buildAsOf(into: "s", untilSeq: 2, untilTime: nil) { _ in }
        XCTAssertEqual(try build.rows("SELECT as_of = $1::timestamptz FROM s_analytics.as_of_utc", [Self.d(3)]), [["t"]])
    }
}
