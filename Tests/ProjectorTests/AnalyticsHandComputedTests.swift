import CareerEvents
import EventLog
import Foundation
import Postgres
import XCTest

@testable import Projector

/// Every analytic on a small history written by hand, with the expected
/// figures worked out by hand from EventSchemas/README.md's definitions (the
/// working is in the comments). Each edge case the issue lists appears here.
///
/// The history is built twice, one event per batch and all in one batch;
/// every figure is checked on both, and the two builds must agree row for row.
final class AnalyticsHandComputedTests: XCTestCase {
    /// Day n = 2024-01-01T00:00:00Z + n days (2024 is a leap year: day 31 is
    /// Feb 1, day 60 Mar 1, day 366 2025-01-01, day 400 2025-02-04).
    static func d(_ day: Int, _ seconds: Int = 0) -> String { EventScript.day(day, seconds: seconds) }

    /// as-of = the newest event: l2's learning at 2025-02-04T12:00:00Z = day 400.5.
    static let asOf = "2025-02-04T12:00:00Z"

    static func history() -> EventScript {
        var s = EventScript()
        func d(_ day: Int, _ seconds: Int = 0) -> String { Self.d(day, seconds) }
        func enroll(_ who: String, _ time: String, _ program: String, _ cohort: String, _ industry: String, _ amount: Int, _ currency: String) {
            s.add("program.enrolled", who, time, #""program":"\#(program)","cohort":"\#(cohort)","target_industry":"\#(industry)","target_role":"Engineer","baseline_salary":{"amount":\#(amount),"currency":"\#(currency)"}"#)
        }
        func place(_ who: String, _ time: String, _ amount: Int, _ currency: String, application: String? = nil) {
            let app = application.map { #""application_id":@\#($0),"# } ?? ""
            s.add("placement.recorded", who, time, #"\#(app)"company":"Acme","role":"Engineer","salary":{"amount":\#(amount),"currency":"\#(currency)"},"employment_type":"full-time","start_date":"2024-06-01""#)
        }
        func start(_ mentee: String, _ mentorship: String, _ mentor: String, _ time: String) {
            s.add("mentorship.started", mentee, time, #""mentorship_id":@\#(mentorship),"mentor_id":@\#(mentor)"#)
        }
        func session(_ mentee: String, _ mentorship: String, _ time: String, _ minutes: Int, rating: Int? = nil) {
            let r = rating.map { #","mentee_rating":\#($0)"# } ?? ""
            s.add("mentorship.session_held", mentee, time, #""mentorship_id":@\#(mentorship),"duration_minutes":\#(minutes)\#(r)"#)
        }
        func send(_ who: String, _ app: String, _ time: String) {
            s.add("application.sent", who, time, #""application_id":@\#(app),"company":"Acme","position":"Engineer""#)
        }
        func advance(_ who: String, _ app: String, _ stage: String, _ time: String) {
            s.add("application.advanced", who, time, #""application_id":@\#(app),"stage":"\#(stage)""#)
        }
        func progress(_ who: String, _ time: String, _ hours: String) {
            s.add("learning.progressed", who, time, #""activity_id":@act-\#(who),"completion_percentage":50,"hours":\#(hours)"#)
        }
        func task(_ who: String, _ time: String, hours: String?) {
            let h = hours.map { #","actual_hours":\#($0)"# } ?? ""
            s.add("task.completed", who, time, #""roadmap_id":@rm-\#(who),"task_id":@\#(UUID().uuidString.prefix(8))\#(h)"#)
        }
        func complete(_ who: String, _ time: String, hours: String?) {
            let h = hours.map { #","hours":\#($0)"# } ?? ""
            s.add("learning.completed", who, time, #""activity_id":@act-\#(who)\#(h)"#)
        }

        // Mentors: m1 registers twice (listed once), m2, m4; m3 and m5 never register.
        for mentor in ["m1", "m2", "m4", "m1"] {
            s.add("mentor.registered", mentor, d(-30), #""expertise":["Swift"],"industry":"Tech""#)
        }

        // Enrollments. a7's and a8's second enrollments must be ignored: their
        // groups (P2/2024-02/Finance, P9/2024-09/Mining) would show otherwise.
        enroll("a1", d(0), "P1", "2024-01", "Tech", 50000, "EUR")
        enroll("a2", d(0), "P1", "2024-01", "Tech", 40000, "USD")
        enroll("a3", d(0), "P2", "2024-01", "Tech", 0, "EUR")            // baseline 0: no uplift
        enroll("a4", d(0), "P1", "2024-01", "Finance", 50000, "USD")     // placed in EUR: no uplift
        enroll("a5", d(0), "P1", "2024-01", "Tech", 40000, "EUR")
        enroll("a6", d(0), "P1", "2024-01", "Tech", 35000, "EUR")        // erased, never placed
        enroll("a7", d(20), "P2", "2024-02", "Finance", 99999, "EUR")    // logged first, but later in time
        enroll("a7", d(5), "P1", "2024-01", "Tech", 30000, "EUR")        // a7's enrollment
        enroll("a8", d(1), "P1", "2024-01", "Health", 20000, "EUR")      // same time: the lower seq wins
        enroll("a8", d(1), "P9", "2024-09", "Mining", 10, "EUR")
        enroll("b1", d(40), "P2", "2024-02", "Finance", 60000, "EUR")
        enroll("b2", d(45), "P2", "2024-02", "Finance", 30000, "EUR")
        enroll("c1", d(35, 43_200), "P3", "2024-03", "Health", 45000, "EUR")  // window closes exactly at as-of

        // Placements.
        place("a1", d(100), 60000, "EUR", application: "app1")
        place("a2", d(-10), 45000, "USD")                  // before enrollment: ignored
        place("a2", d(365), 50000, "USD")                  // exactly 365 days: within 12 months
        place("a3", d(200), 30000, "EUR")
        place("a4", d(50), 55000, "EUR")
        place("a5", d(365, 1), 44000, "EUR")               // 365 days + 1 s: not within 12 months
        place("a5", d(380), 90000, "EUR")                  // a second placement: ignored
        place("a7", d(30), 36000, "EUR")
        place("b1", d(100), 70000, "EUR", application: "app7")
        place("c1", d(35, 43_200), 45000, "EUR")           // at the enrollment instant: 0 days, uplift 0
        place("z1", d(60), 80000, "EUR", application: "app-never")  // never enrolled

        // Erasure: a6 stays in every analytic.
        s.add("user.erased", "a6", d(10), #""reason":"request""#)

        // Mentorships.
        start("a1", "ms1", "m1", d(10))     // a1 mentored (10 < placement 100)
        start("a2", "ms2", "m1", d(-5))     // before enrollment: a2 not mentored by it
        start("a3", "ms3", "m2", d(250))    // after placement (200): a3 not mentored by it
        start("a1", "ms4", "m2", d(20))     // a1 is a mentee of two mentors
        start("b2", "ms5", "m3", d(300))    // b2 never placed: 300 < 45 + 365, mentored
        start("a6", "ms6", "m3", d(365))    // = enrollment + 365 days: not mentored
        start("a5", "ms7", "m5", d(3))      // re-sent start, logged first but later in time
        start("a5", "ms7", "m1", d(2))      // ms7's first start: ms7 belongs to m1
        start("a7", "ms8", "m2", d(5))      // at the enrollment instant: mentored

        // Sessions.
        session("a1", "ms1", d(11), 60, rating: 5)
        session("a1", "ms1", d(12), 30, rating: 4)
        session("a2", "ms2", d(-4), 90)
        session("a5", "ms7", d(4), 45, rating: 3)
        session("a3", "ms3", d(251), 120, rating: 2)
        session("a1", "ms4", d(21), 30, rating: 4)
        session("a7", "ms8", d(6), 60)
        session("a4", "ms-never", d(15), 600, rating: 1)   // never started: ignored

        // Applications.
        send("a1", "app1", d(10))                          // 2024-01-11
        advance("a1", "app1", "interview", d(20))
        advance("a1", "app1", "interview", d(21))          // repeated: counts once
        advance("a1", "app1", "offer", d(30))
        send("a2", "app2", d(12))                          // 2024-01-13
        advance("a2", "app2", "offer", d(25))              // offer without interview
        send("a3", "app3", "2024-01-31T23:30:00-02:00")    // = 2024-02-01T01:30Z: February
        send("a4", "app4", d(40))                          // re-sent, logged first
        send("a4", "app4", d(20))                          // first send: 2024-01-21
        advance("a5", "app5", "offer", d(50))              // stages logged out of order,
        advance("a5", "app5", "interview", d(45))          // before the send
        send("a5", "app5", d(40))                          // 2024-02-10
        advance("a6", "app6", "interview", d(35))          // earlier in time than the send
        send("a6", "app6", d(38))                          // 2024-02-08
        advance("z1", "app-never", "interview", d(50))     // never sent: ignored
        advance("z1", "app-never", "offer", d(55))
        send("b1", "app7", d(60))                          // 2024-03-01, placed without an offer
        send("b2", "app8", d(61))                          // 2024-03-02
        advance("b2", "app8", "rejected", d(70))

        // Learning (as-of day 2025-02-04).
        complete("l1", "2025-01-15T09:00:00Z", hours: "3")
        task("l1", "2025-01-15T10:00:00Z", hours: "2.5")
        progress("l1", "2025-01-31T23:00:00-05:00", "1.25")     // = 2025-02-01T04:00Z: February
        complete("l1", "2025-02-02T08:00:00Z", hours: nil)      // no hours: Feb 2 not active
        task("l1", "2025-02-02T09:00:00Z", hours: "0")
        progress("l1", "2025-02-03T23:59:59Z", "1.5")
        progress("l1", "2025-02-04T10:00:00Z", "2")
        for day in [27, 29, 30, 31] { progress("l2", "2025-01-\(day)T12:00:00Z", "1") }
        for day in 1...3 { progress("l2", "2025-02-0\(day)T12:00:00Z", "1") }
        progress("l3", "2024-12-30T12:00:00Z", "0.5")
        for day in 1...31 { progress("l3", String(format: "2025-01-%02dT08:00:00Z", day), "0.5") }
        for day in 1...4 { progress("l3", "2025-02-0\(day)T08:00:00Z", "0.5") }
        task("l4", "2025-02-04T00:00:00Z", hours: "1")
        progress("l5", "2024-06-15T12:00:00Z", "10")
        progress("a6", "2025-02-04T11:00:00Z", "2")             // erased: still counted
        progress("l2", Self.asOf, "1")                          // the newest event: as-of
        return s
    }

    /// One build per batch size, shared by the tests of this class.
    nonisolated(unsafe) static var builds: [Int: AnalyticsBuild] = [:]
    nonisolated(unsafe) static var script = history()
    static let batchSizes = [1, 1000]

    override func setUpWithError() throws {
        for size in Self.batchSizes where Self.builds[size] == nil {
            Self.builds[size] = try AnalyticsBuild(events: Self.script.events, batchEventsMax: size)
        }
    }

    private func eachBuild(_ body: (AnalyticsBuild, String) throws -> Void) rethrows {
        for size in Self.batchSizes { try body(Self.builds[size]!, "batches of \(size)") }
    }

    private func id(_ name: String) -> String { Self.script.text(name) }

    // MARK: As of, and batch invariance

    func testAsOfIsTheNewestEventTimeOfAnyType() throws {
        try eachBuild { build, label in
            let row = try build.rows("SELECT as_of = $1::timestamptz, day::text FROM analytics.as_of_utc", [Self.asOf])
            XCTAssertEqual(row.map { $0.map { $0 ?? "NULL" } }, [["t", "2025-02-04"]], label)
        }
    }

    func testOneEventPerBatchAndOneBatchGiveTheSameFiguresAndTables() throws {
        let one = Self.builds[1]!, all = Self.builds[1000]!
        let snapshot = try one.snapshot()
        XCTAssertEqual(snapshot, try all.snapshot())
        XCTAssertEqual(try digest(one.connection, schema: "analytics"), try digest(all.connection, schema: "analytics"))
        XCTAssertEqual(snapshot.count, 18, "views: \(snapshot.keys.sorted())")
    }

    // MARK: Enrollment and placement

    func testPlacementRatePerCohort() throws {
        // 2024-01: a1 (100 d), a2 (exactly 365 d), a3 (200 d), a4 (50 d), a7 (25 d) placed
        //          within 12 months; a5 (365 d + 1 s), a6, a8 not: 5/8. Enrolled at
        //          days 0-5, so every window closed by day 370 <= 400.5.
        // 2024-02: b1 placed, b2 not: 1/2; b1 enrolled day 40 (closes day 405): open.
        // 2024-03: c1 placed at its enrollment instant: 1/1; window closes exactly at as-of: closed.
        // No 2024-09 (a8's second enrollment).
        try eachBuild { build, label in
            let rows = try build.rows("SELECT cohort, enrolled, placed_within_12_months, window_state FROM analytics.placement_rate_by_cohort ORDER BY 1")
            XCTAssertEqual(rows, [["2024-01", "8", "5", "closed"], ["2024-02", "2", "1", "open"], ["2024-03", "1", "1", "closed"]], label)
            let rates = try build.rows("SELECT placement_rate FROM analytics.placement_rate_by_cohort ORDER BY cohort").map { $0[0] }
            for (rate, expected) in zip(rates, [0.625, 0.5, 1.0]) { assertNumber(rate, expected, label) }
        }
    }

    func testPlacementRatePerProgramAndPerTargetIndustry() throws {
        // P1: a1 a2 a4 a5 a6 a7 a8 (7), placed a1 a2 a4 a7: 4/7, all closed.
        // P2: a3 b1 b2 (3), placed a3 b1: 2/3, b1/b2 open.  P3: c1 1/1 closed.
        // Tech: a1 a2 a3 a5 a6 a7 (6), placed a1 a2 a3 a7: 4/6, closed.
        // Finance: a4 b1 b2: 2/3, open.  Health: a8 c1: 1/2, closed.
        try eachBuild { build, label in
            let programs = try build.rows("SELECT program, enrolled, placed_within_12_months, window_state FROM analytics.placement_rate_by_program ORDER BY 1")
            XCTAssertEqual(programs, [["P1", "7", "4", "closed"], ["P2", "3", "2", "open"], ["P3", "1", "1", "closed"]], label)
            for (rate, expected) in zip(try build.rows("SELECT placement_rate FROM analytics.placement_rate_by_program ORDER BY program").map { $0[0] },
                                        [4.0 / 7, 2.0 / 3, 1.0]) { assertNumber(rate, expected, label) }
            let industries = try build.rows("SELECT target_industry, enrolled, placed_within_12_months, window_state FROM analytics.placement_rate_by_industry ORDER BY 1")
            XCTAssertEqual(industries, [["Finance", "3", "2", "open"], ["Health", "2", "1", "closed"], ["Tech", "6", "4", "closed"]], label)
            for (rate, expected) in zip(try build.rows("SELECT placement_rate FROM analytics.placement_rate_by_industry ORDER BY target_industry").map { $0[0] },
                                        [2.0 / 3, 0.5, 4.0 / 6]) { assertNumber(rate, expected, label) }
        }
    }

    func testPerCohortFiguresPerProgram() throws {
        // Enrollees by (program, cohort), first enrollments only (a7's is P1 at day 5,
        // a8's the lower seq, P1; so no P2/2024-02 Finance a7 and no P9 at all):
        //   P1/2024-01: a1 a2 a4 a5 a6 a7 a8 (7). Within 12 months: a1 100 d, a2 365 d,
        //     a4 50 d, a7 25 d (a5 365 d + 1 s is not; a6, a8 never placed): 4/7, closed.
        //   P2/2024-01: a3 alone, placed at 200 d: 1/1, closed.
        //   P2/2024-02: b1 b2, b1 placed at 60 d: 1/2; b1's window closes at day 405 > 400.5: open.
        //   P3/2024-03: c1, placed at 0 d: 1/1; its window closes exactly at as-of: closed.
        // Time to placement (any delay):
        //   P1/2024-01: 25, 50, 100, 365, 365 + 1/86400: median 100; p90 at position
        //     0.9 x 4 = 3.6: 365 + 0.6 x (1/86400).   P2/2024-01: 200.  P2/2024-02: 60.  P3: 0.
        // Salary uplift: P1/2024-01 a1 0.2, a2 0.25, a5 0.1, a7 0.2 (a4 USD vs EUR excluded):
        //   count 4, mean 0.1875.  P2/2024-01: a3's baseline is 0: count 0, mean null.
        //   P2/2024-02: b1 10000/60000.  P3/2024-03: c1 0 (counted).
        try eachBuild { build, label in
            let placement = try build.rows(
                "SELECT program, cohort, enrolled, placed_within_12_months, window_state FROM analytics.placement_rate_by_program_cohort ORDER BY 1, 2")
            XCTAssertEqual(placement, [["P1", "2024-01", "7", "4", "closed"], ["P2", "2024-01", "1", "1", "closed"],
                                       ["P2", "2024-02", "2", "1", "open"], ["P3", "2024-03", "1", "1", "closed"]], label)
            let rates = try build.rows("SELECT placement_rate FROM analytics.placement_rate_by_program_cohort ORDER BY program, cohort")
            for (row, rate) in zip(rates, [4.0 / 7, 1, 0.5, 1]) { assertNumber(row[0], rate, tolerance: 1e-12, label) }

            let time = try build.rows("SELECT program, cohort, placed, median_days, p90_days FROM analytics.time_to_placement_by_program ORDER BY 1, 2")
            XCTAssertEqual(time.map { Array($0[0...2]) }, [["P1", "2024-01", "5"], ["P2", "2024-01", "1"], ["P2", "2024-02", "1"], ["P3", "2024-03", "1"]], label)
            let expectedTimes: [(Double, Double)] = [(100, 365 + 0.6 / 86_400), (200, 200), (60, 60), (0, 0)]
            for (row, (median, p90)) in zip(time, expectedTimes) {
                assertNumber(row[3], median, tolerance: 1e-12, label)
                assertNumber(row[4], p90, tolerance: 1e-12, label)
            }

            let uplift = try build.rows("SELECT program, cohort, uplift_count, mean_uplift FROM analytics.salary_uplift_by_program ORDER BY 1, 2")
            XCTAssertEqual(uplift.map { Array($0[0...2]) }, [["P1", "2024-01", "4"], ["P2", "2024-01", "0"], ["P2", "2024-02", "1"], ["P3", "2024-03", "1"]], label)
            XCTAssertNil(uplift[1][3], label)
            for (row, mean) in zip([uplift[0], uplift[2], uplift[3]], [0.1875, 1.0 / 6, 0.0]) { assertNumber(row[3], mean, tolerance: 1e-12, label) }
        }
    }

    func testEnrolleesUseTheFirstEnrollmentAndTheFirstPlacementAfterIt() throws {
        try eachBuild { build, label in
            let enrollees = try build.rowsByKey("enrollees")
            XCTAssertEqual(enrollees.count, 11, label)  // a1-a8, b1, b2, c1; not z1
            XCTAssertEqual(enrollees[id("a7")]?["cohort"], "2024-01", label)
            XCTAssertEqual(enrollees[id("a8")]?["program"], "P1", label)
            assertNumber(enrollees[id("a2")]?["days_to_placement"], 365, label)      // not the placement at day -10
            assertNumber(enrollees[id("a5")]?["placement_amount"], 44000, label)     // not the one at day 380
            XCTAssertEqual(enrollees[id("a2")]?["placed_within_12_months"], "t", label)
            XCTAssertEqual(enrollees[id("a5")]?["placed_within_12_months"], "f", label)
            XCTAssertNil(enrollees[id("z1")], label)
        }
    }

    func testTimeToPlacementPerCohort() throws {
        // 2024-01, any delay: a7 25, a4 50, a1 100, a3 200, a2 365, a5 365 + 1/86400 days.
        //   median = (100 + 200) / 2 = 150; p90 at position 0.9 x 5 = 4.5:
        //   365 + 0.5 x (1/86400) = 365.000005787037...
        // 2024-02: b1 60.  2024-03: c1 0.
        try eachBuild { build, label in
            let rows = try build.rows("SELECT cohort, placed, median_days, p90_days FROM analytics.time_to_placement ORDER BY cohort")
            XCTAssertEqual(rows.map { [$0[0], $0[1]] }, [["2024-01", "6"], ["2024-02", "1"], ["2024-03", "1"]], label)
            let expected: [(Double, Double)] = [(150, 365 + 0.5 / 86_400), (60, 60), (0, 0)]
            for (row, (median, p90)) in zip(rows, expected) {
                assertNumber(row[2], median, tolerance: 1e-12, label)
                assertNumber(row[3], p90, tolerance: 1e-12, label)
            }
        }
    }

    func testSalaryUpliftPerCohort() throws {
        // 2024-01: a1 (60000-50000)/50000 = 0.2, a2 (USD) 0.25, a5 0.1, a7 (36000-30000)/30000 = 0.2;
        //   a3 (baseline 0) and a4 (USD baseline, EUR salary) excluded: mean 0.75/4 = 0.1875, count 4.
        // 2024-02: b1 10000/60000. 2024-03: c1 0 (same salary: uplift 0, counted).
        try eachBuild { build, label in
            let rows = try build.rows("SELECT cohort, uplift_count, mean_uplift FROM analytics.salary_uplift ORDER BY cohort")
            XCTAssertEqual(rows.map { [$0[0], $0[1]] }, [["2024-01", "4"], ["2024-02", "1"], ["2024-03", "1"]], label)
            for (row, mean) in zip(rows, [0.1875, 1.0 / 6, 0.0]) { assertNumber(row[2], mean, label) }
        }
    }

    // MARK: Mentorship

    func testMentorshipROIPerMentor() throws {
        try eachBuild { build, label in
            let roi = try build.rowsByKey("mentorship_roi")
            XCTAssertEqual(Set(roi.keys), Set(["m1", "m2", "m3", "m4", "m5"].map(id)), label)

            // m1: ms1 (a1), ms2 (a2), ms7 (a5: its first start names m1). Sessions
            // 60 (5), 30 (4), 90, 45 (3): 4, 225 min = 3.75 h, rating 12/3 = 4.
            // Placed within 12 months: a1, a2 (a5 not): 2/3. Uplifts a1 0.2, a2 0.25,
            // a5 0.1: mean 0.55/3. Gains EUR 10000 + 4000, USD 10000.
            let m1 = roi[id("m1")]!
            XCTAssertEqual([m1["mentees"], m1["sessions"], m1["placed_within_12_months"], m1["uplift_count"]], ["3", "4", "2", "3"], label)
            assertNumber(m1["hours"], 3.75, label)
            assertNumber(m1["average_rating"], 4, label)
            assertNumber(m1["placement_rate"], 2.0 / 3, label)
            assertNumber(m1["mean_uplift"], 0.55 / 3, label)
            XCTAssertEqual(jsonNumbers(m1["total_gain"]), ["EUR": 14000, "USD": 10000], label)
            let m1PerHour = jsonNumbers(m1["gain_per_hour"])!
            XCTAssertEqual(m1PerHour["EUR"]!, 14000 / 3.75, accuracy: 1e-6, label)
            XCTAssertEqual(m1PerHour["USD"]!, 10000 / 3.75, accuracy: 1e-6, label)

            // m2: ms3 (a3), ms4 (a1), ms8 (a7). Sessions 120 (2), 30 (4), 60: 3,
            // 3.5 h, rating 3. Placed a3, a1, a7: 3/3. Uplifts a1 0.2, a7 0.2 (a3
            // baseline 0): mean 0.2. Gains EUR 10000 + 6000 = 16000, per hour 16000/3.5.
            let m2 = roi[id("m2")]!
            XCTAssertEqual([m2["mentees"], m2["sessions"], m2["placed_within_12_months"], m2["uplift_count"]], ["3", "3", "3", "2"], label)
            assertNumber(m2["hours"], 3.5, label)
            assertNumber(m2["average_rating"], 3, label)
            assertNumber(m2["placement_rate"], 1, label)
            assertNumber(m2["mean_uplift"], 0.2, label)
            XCTAssertEqual(jsonNumbers(m2["total_gain"]), ["EUR": 16000], label)
            XCTAssertEqual(jsonNumbers(m2["gain_per_hour"])!["EUR"]!, 16000 / 3.5, accuracy: 1e-6, label)

            // m3 (never registered): b2 and a6, no sessions, no placements.
            let m3 = roi[id("m3")]!
            XCTAssertEqual([m3["mentees"], m3["sessions"], m3["placed_within_12_months"], m3["uplift_count"], m3["total_gain"]],
                           ["2", "0", "0", "0", "{}"], label)
            assertNumber(m3["hours"], 0, label)
            assertNumber(m3["placement_rate"], 0, label)
            for column in ["average_rating", "mean_uplift", "gain_per_hour"] { XCTAssertNil(m3[column], "\(label) m3.\(column)") }

            // m4 (registered, no mentorship) and m5 (named only by ms7's re-sent start).
            for mentor in ["m4", "m5"] {
                let row = roi[id(mentor)]!
                XCTAssertEqual([row["mentees"], row["sessions"], row["placed_within_12_months"], row["total_gain"]], ["0", "0", "0", "{}"], label)
                for column in ["average_rating", "placement_rate", "mean_uplift", "gain_per_hour"] {
                    XCTAssertNil(row[column], "\(label) \(mentor).\(column)")
                }
            }
        }
    }

    func testMentorshipGainsPerCurrencyAsRows() throws {
        try eachBuild { build, label in
            let rows = try build.rows("SELECT mentor_id::text, currency, mentees_with_uplift, total_gain, gain_per_hour FROM analytics.mentorship_roi_by_currency ORDER BY 1, 2")
            XCTAssertEqual(rows.map { [$0[0], $0[1], $0[2]] }, [[id("m1"), "EUR", "2"], [id("m1"), "USD", "1"], [id("m2"), "EUR", "2"]], label)
            for (row, (gain, perHour)) in zip(rows, [(14000.0, 14000 / 3.75), (10000, 10000 / 3.75), (16000, 16000 / 3.5)]) {
                assertNumber(row[3], gain, label)
                assertNumber(row[4], perHour, label)
            }
        }
    }

    func testMentoredVersusNotMentored() throws {
        // Mentored: a1 (day 10 in [0, 100)), a5 (day 2 < 365 d + 1 s), a7 (at the
        // enrollment instant), b2 (day 300 < 45 + 365). Not: a2 (started before
        // enrollment), a3 (after placement), a6 (at exactly enrollment + 365 d),
        // a4, a8, b1, c1.
        // Mentored placed within 12 months: a1, a7 = 2/4. Not: a2 a3 a4 b1 c1 = 5/7.
        // Difference: (0.5 - 5/7) x 100 = -21.43 percentage points.
        try eachBuild { build, label in
            let row = try build.rows("SELECT * FROM analytics.mentorship_effect")
            XCTAssertEqual(row.count, 1, label)
            let r = row[0]
            XCTAssertEqual([r[0], r[1], r[3], r[4]], ["4", "2", "7", "5"], label)
            assertNumber(r[2], 0.5, label)
            assertNumber(r[5], 5.0 / 7, label)
            assertNumber(r[6], (0.5 - 5.0 / 7) * 100, label)
            let mentored = try build.rows("SELECT subject::text FROM analytics.enrollees WHERE mentored ORDER BY 1").map { $0[0]! }
            XCTAssertEqual(mentored, ["a1", "a5", "a7", "b2"].map(id).sorted(), label)
        }
    }

    func testMentoredVersusNotMentoredPerProgram() throws {
        // As above, within each program's enrollees:
        //   P1: mentored a1 a5 a7, placed within 12 months a1 a7: 2/3; not mentored
        //       a2 a4 a6 a8, placed a2 a4: 2/4. Difference (2/3 - 1/2) x 100 = 16.67 points.
        //   P2: mentored b2 (never placed): 0/1; not mentored a3 b1, both placed: 2/2.
        //       Difference (0 - 1) x 100 = -100.
        //   P3: c1 not mentored, placed: 1/1; no mentored enrollee: rate and difference null.
        try eachBuild { build, label in
            let rows = try build.rows("SELECT * FROM analytics.mentorship_effect_by_program ORDER BY program")
            XCTAssertEqual(rows.map { [$0[0], $0[1], $0[2], $0[4], $0[5]] },
                           [["P1", "3", "2", "4", "2"], ["P2", "1", "0", "2", "2"], ["P3", "0", "0", "1", "1"]], label)
            let expected: [(Double?, Double, Double?)] = [(2.0 / 3, 0.5, (2.0 / 3 - 0.5) * 100), (0, 1, -100), (nil, 1, nil)]
            for (row, (mentored, notMentored, difference)) in zip(rows, expected) {
                assertNumber(row[3], mentored, tolerance: 1e-12, label)
                assertNumber(row[6], notMentored, tolerance: 1e-12, label)
                assertNumber(row[7], difference, tolerance: 1e-9, label)
            }
        }
    }

    // MARK: Applications

    func testApplicationFunnelPerMonth() throws {
        // 2024-01: app1 (interview twice, offer, placed), app2 (offer, no interview),
        //   app4 (first send Jan 21; re-sent Feb 10): sent 3, interview 1, offer 2, placed 1.
        // 2024-02: app3 (Jan 31 23:30 -02:00 = Feb 1 UTC), app5 (stages before the send),
        //   app6 (interview before the send): sent 3, interview 2, offer 1, placed 0.
        // 2024-03: app7 (placed, no offer), app8 (rejected): sent 2, placed 1.
        // app-never's stages and placement are ignored.
        try eachBuild { build, label in
            let rows = try build.rows("SELECT * FROM analytics.application_funnel ORDER BY month")
            XCTAssertEqual(rows.map { Array($0[0...4]) }, [["2024-01", "3", "1", "2", "1"], ["2024-02", "3", "2", "1", "0"], ["2024-03", "2", "0", "0", "1"]], label)
            let rates: [[Double?]] = [[1.0 / 3, 2, 0.5, 1.0 / 3], [2.0 / 3, 0.5, 0, 0], [0, nil, nil, 0.5]]
            for (row, expected) in zip(rows, rates) {
                for (column, value) in expected.enumerated() { assertNumber(row[5 + column], value, "\(label) \(row[0]!) rate \(column)") }
            }
        }
    }

    // MARK: Learning

    func testLearningVelocityPerSubjectAndMonth() throws {
        // l1 January: completed 3 h + task 2.5 h; February: 1.25 (Jan 31 23:00 -05:00
        // is Feb 1 UTC) + 1.5 + 2, one completion without hours, one task of 0 h.
        let expected: [(String, String, Double, Int, Int)] = [
            ("a6", "2025-02", 2, 0, 0),
            ("l1", "2025-01", 5.5, 1, 1), ("l1", "2025-02", 4.75, 1, 1),
            ("l2", "2025-01", 4, 0, 0), ("l2", "2025-02", 4, 0, 0),
            ("l3", "2024-12", 0.5, 0, 0), ("l3", "2025-01", 15.5, 0, 0), ("l3", "2025-02", 2, 0, 0),
            ("l4", "2025-02", 1, 0, 1),
            ("l5", "2024-06", 10, 0, 0),
        ]
        try eachBuild { build, label in
            let rows = try build.rows("SELECT subject::text, month, hours, activities_completed, tasks_completed FROM analytics.learning_velocity")
            var byKey: [String: [String?]] = [:]
            for row in rows { byKey[row[0]! + " " + row[1]!] = row }
            XCTAssertEqual(rows.count, expected.count, label)
            for (subject, month, hours, activities, tasks) in expected {
                guard let row = byKey[id(subject) + " " + month] else { XCTFail("\(label): no row \(subject) \(month)"); continue }
                assertNumber(row[2], hours, "\(label) \(subject) \(month)")
                XCTAssertEqual([row[3], row[4]], [String(activities), String(tasks)], "\(label) \(subject) \(month)")
            }
        }
    }

    func testCurrentLearningStreakEndsOnTheAsOfDay() throws {
        // l1: Feb 4 and Feb 3 (Feb 2 had only 0 h): 2. l2: Jan 29 - Feb 4 (gap on
        // Jan 28): 7. l3: all of January and Feb 1-4, not Dec 31: 35. l4: a task
        // at 00:00 on the day: 1. l5: nothing that day: 0. a6 (erased): 1.
        let expected = ["a6": 1, "l1": 2, "l2": 7, "l3": 35, "l4": 1, "l5": 0]
        try eachBuild { build, label in
            let rows = try build.rows("SELECT subject::text, as_of_day::text, streak_days FROM analytics.learning_streaks")
            XCTAssertEqual(rows.count, expected.count, label)
            let found = Dictionary(uniqueKeysWithValues: rows.map { ($0[0]!, Int($0[2]!)!) })
            for (subject, days) in expected { XCTAssertEqual(found[id(subject)], days, "\(label) \(subject)") }
            XCTAssertEqual(Set(rows.map { $0[1] }), ["2025-02-04"], label)
        }
    }

    // MARK: Reading

    func testFiguresDoNotDependOnTheReadingSessionsTimeZone() throws {
        let build = Self.builds[1000]!
        let views = ["placement_rate_by_cohort", "placement_rate_by_program", "placement_rate_by_industry", "time_to_placement",
                     "salary_uplift", "placement_rate_by_program_cohort", "time_to_placement_by_program", "salary_uplift_by_program", "mentorship_roi", "mentorship_roi_by_currency", "mentorship_effect", "mentorship_effect_by_program", "application_funnel",
                     "learning_velocity", "learning_streaks"]
        func read() throws -> [[[String?]]] {
            try views.map { try build.rows("SELECT * FROM analytics.\($0) t ORDER BY t::text") }
        }
        let utc = try read()
        defer { try? build.connection.execute("SET TimeZone = 'UTC'") }
        // Chatham: +13:45 in (southern) summer; New York: -05:00, DST in the window.
        for zone in ["Pacific/Chatham", "America/New_York"] {
            try build.connection.execute("SET TimeZone = '\(zone)'")
            XCTAssertEqual(try read(), utc, zone)
        }
    }

    func testAsOfBuildAtAnEarlierMomentSeesOnlyThatHistory() throws {
        // As of a3's placement (day 200): placements later (a2 day 365, a5) are not
        // there yet. 2024-01: a1 a3 a4 a7 placed: 4/8; 2024-02: b1: 1/2; 2024-03: c1:
        // 1/1; every window open (the earliest closes on day 365).
        let build = Self.builds[1000]!
        let builder = ProjectionBuilder(url: build.url, log: build.log, catalog: ProjectionCatalog(definitions: [build.definition]), logger: testLogger)
        let schemas = try builder.buildAsOf(into: "july", untilSeq: nil, untilTime: Self.d(200)) { _ in }
        XCTAssertEqual(schemas, ["july_analytics"])
        XCTAssertEqual(try build.rows("SELECT newest_event_time = $1::timestamptz FROM july_analytics.as_of", [Self.d(200)]), [["t"]])
        let rows = try build.rows("SELECT cohort, enrolled, placed_within_12_months, window_state FROM july_analytics.placement_rate_by_cohort ORDER BY 1")
        XCTAssertEqual(rows, [["2024-01", "8", "4", "open"], ["2024-02", "2", "1", "open"], ["2024-03", "1", "1", "open"]])
        try ProjectionBuilder.drop(url: build.url, schema: "july_analytics")
    }

    func testEventsAppliedAgainChangeNothing() throws {
        // The projector never re-applies a batch (rows and checkpoint commit
        // together); this rewinds the checkpoint by hand to show that the
        // facts are idempotent anyway: keyed by seq, first-wins, or summed
        // above the learning watermark.
        let events = Self.script.events
        let build = try AnalyticsBuild(events: events, batchEventsMax: 1000)
        let before = try build.snapshot()
        let tables = try digest(build.connection, schema: "analytics")
        try ProjectionStore.rewind(build.connection, schema: "analytics", to: UInt64(events.count / 3))
        var options = Projector.Options()
        options.batchEventsMax = 17
        let projector = Projector(url: build.url, log: build.log, catalog: ProjectionCatalog(definitions: [build.definition]),
                                  logger: testLogger, options: options)
        while try projector.step() > 0 {}
        XCTAssertEqual(try build.snapshot(), before)
        XCTAssertEqual(try digest(build.connection, schema: "analytics"), tables)
    }
}
