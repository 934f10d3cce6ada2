import EventLog
import Foundation
import Replay
import XCTest

/// `--stats` over the fixture: counts by type, by UTC day and by UTC month
/// of event time, as a table and as JSON.
final class ReplayStatsTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try Fixture.write(name)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func stats(_ period: ReplayStats.Period, _ filter: ReplayFilter = ReplayFilter()) throws -> ReplayStats {
        let scan = ReplayScan(log: try EventLog.open(directory: directory, mode: .readOnly), filter: filter)
        var stats = ReplayStats(period: period)
        while let record = try scan.next() { try stats.add(record) }
        return stats
    }

    func testCountsByTypeAndMonth() throws {
        let s = try stats(.month)
        XCTAssertEqual(s.events, 12)
        XCTAssertEqual(s.byType.map { "\($0.type)=\($0.events)" }, [
            "application.advanced=2", "application.sent=4", "mentorship.started=1", "placement.recorded=1",
            "skill.assessed=3", "user.registered=1",
        ])
        // Event 6 is December 2024; event 2 (01-06T01:00+02:00) is January in UTC.
        XCTAssertEqual(s.byPeriod.map { "\($0.period)=\($0.events)" }, [
            "2024-12=1", "2025-01=3", "2025-02=2", "2025-03=2", "2025-04=2", "2025-05=2",
        ])
        let sent = s.byTypeAndPeriod.first { $0.type == "application.sent" }!
        XCTAssertEqual(sent.periods.map { "\($0.period)=\($0.events)" }, ["2025-01=1", "2025-02=1", "2025-03=1", "2025-05=1"])
    }

    func testCountsByUTCDay() throws {
        let s = try stats(.day)
        // Events 1 and 2 share 2025-01-05 in UTC although 2 was written on the 6th at +02:00.
        XCTAssertEqual(s.byPeriod.map { "\($0.period)=\($0.events)" }, [
            "2024-12-31=1", "2025-01-05=2", "2025-01-31=1", "2025-02-01=1", "2025-02-14=1", "2025-03-01=1",
            "2025-03-02=1", "2025-04-01=1", "2025-04-02=1", "2025-05-01=1", "2025-05-20=1",
        ])
    }

    func testStatsFollowTheFilter() throws {
        let s = try stats(.month, try ReplayFilter(since: "2025-02-01", types: ["application.*"]))
        XCTAssertEqual(s.events, 4)
        XCTAssertEqual(s.byType.map { "\($0.type)=\($0.events)" }, ["application.advanced=1", "application.sent=3"])
        XCTAssertEqual(s.byPeriod.map { "\($0.period)=\($0.events)" }, ["2025-02=1", "2025-03=2", "2025-05=1"])
    }

    func testTable() throws {
        let s = try stats(.month, try ReplayFilter(types: ["application.*"]))
        XCTAssertEqual(s.table(), """
            events  6  (seq 1...11; time 2025-01-05T10:00:00.000000Z ... 2025-05-01T00:00:00.000000Z)

            type                  events
            application.advanced       2
            application.sent           4

            month    events
            2025-01       2
            2025-02       1
            2025-03       2
            2025-05       1

            """)
    }

    func testJSON() throws {
        let s = try stats(.month, try ReplayFilter(subjects: [Subject.b.uuidString]))
        XCTAssertEqual(s.json(), #"{"events":4,"by":"month","first_seq":3,"last_seq":12,"min_time":"2025-01-31T23:59:59.999999Z","max_time":"2025-05-20T00:00:00.000000Z","types":{"application.advanced":1,"application.sent":1,"mentorship.started":1,"skill.assessed":1},"periods":{"2025-01":1,"2025-02":1,"2025-03":1,"2025-05":1},"types_by_period":{"application.advanced":{"2025-03":1},"application.sent":{"2025-02":1},"mentorship.started":{"2025-05":1},"skill.assessed":{"2025-01":1}}}"#)
        let empty = ReplayStats(period: .day)
        XCTAssertEqual(empty.json(), #"{"events":0,"by":"day","first_seq":null,"last_seq":null,"min_time":null,"max_time":null,"types":{},"periods":{},"types_by_period":{}}"#)
        XCTAssertEqual(empty.table(), "events  0\n\ntype  events\n\nday  events\n")
    }

    func testMonthLabelsBeforeTheEpochAndFarAhead() {
        let s = ReplayStats(period: .month)
        XCTAssertEqual(s.label(1969 * 12 + 11), "1969-12")
        XCTAssertEqual(s.label(2025 * 12 + 0), "2025-01")
        XCTAssertEqual(s.label(12 * 12 + 2), "0012-03")
    }
}
