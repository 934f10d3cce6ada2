import Foundation
import XCTest
@testable import Window

final class HealthTests: XCTestCase {
    private func healthy() -> HealthSnapshot {
        HealthSnapshot(logProblem: nil, appender: .accepting,
                       projections: [.init(name: "people", state: "live", lagEvents: 3, lagSeconds: 0.5)], postgresReachable: true)
    }

    func testAHealthyNodeIsAliveAndReady() {
        let live = HealthCheck.liveness(healthy())
        XCTAssertEqual(live.status, 200)
        let ready = HealthCheck.readiness(healthy(), policy: ReadinessPolicy())
        XCTAssertEqual(ready.status, 200)
        XCTAssertEqual(String(decoding: ready.body, as: UTF8.self),
            #"{"status":"ok","checks":{"log":"writable","appender":"accepting","postgres":"reachable","projections":[{"name":"people","state":"live","lag_events":3,"lag_seconds":0.5}]}}"#)
    }

    func testEachReasonNotToBeReadyIsNamed() {
        var snapshot = healthy()
        snapshot.appender = .degraded(reason: "healing after a write error on segment 12")
        snapshot.postgresReachable = false
        snapshot.projections = [
            .init(name: "people", state: "live", lagEvents: 10_001, lagSeconds: 1),
            .init(name: "skills", state: "live", lagEvents: 5, lagSeconds: 31),
            .init(name: "analytics", state: "failed", lagEvents: 0, lagSeconds: nil),
        ]
        let reasons = HealthCheck.readinessReasons(snapshot, policy: ReadinessPolicy())
        XCTAssertEqual(reasons, [
            "appender: not acknowledging: healing after a write error on segment 12",
            "postgres: not reachable",
            "projection people: 10001 events behind (max 10000)",
            "projection skills: 31 s behind (max 30)",
            "projection analytics: failed",
        ])
        let response = HealthCheck.readiness(snapshot, policy: ReadinessPolicy())
        XCTAssertEqual(response.status, 503)
        // Lag does not make a node unhealthy, only not ready.
        XCTAssertEqual(HealthCheck.liveness(snapshot).status, 200)
    }

    func testAnUnwritableLogFailsBothProbesOverHTTP() throws {
        let snapshot = Served("ok")
        var routes = WindowRoutes()
        StandardRoutes.addHealth(to: &routes, policy: ReadinessPolicy()) {
            HealthSnapshot(logProblem: snapshot.value == "ok" ? nil : "cannot write /data/log: No space left on device",
                           appender: .accepting, projections: nil, postgresReachable: nil)
        }
        let server = try startWindow(routes: routes, readToken: "0123456789abcdef0123")
        defer { server.shutdown() }
        XCTAssertEqual(try get(server.port, "/healthz").status, 200)  // public: probes carry no token
        XCTAssertEqual(try get(server.port, "/readyz").status, 200)
        snapshot.value = "full"
        let live = try get(server.port, "/healthz")
        XCTAssertEqual(live.status, 503)
        XCTAssertEqual(live.body, #"{"status":"unavailable","reasons":["log: cannot write /data/log: No space left on device"],"checks":{"log":"not writable","appender":"accepting"}}"#)
        XCTAssertEqual(try get(server.port, "/readyz").status, 503)
    }

    func testStatusSummaryNamesEveryPart() throws {
        let status = NodeStatus(
            log: .init(directory: "/data/log", headSeq: 1200, segments: 1, diskBytes: 3 << 20, lastEventTime: "2024-06-30T12:00:00Z"),
            ingest: .init(listening: ["tcp 127.0.0.1:7400"], connections: 2, eventsPerSecond: 150, eventsStored: 1200, eventsDuplicate: 4, eventsRejected: 1),
            health: healthy(), postgres: "postgresql://127.0.0.1:5432/careerlog",
            disk: DiskSpace(path: "/data", freeBytes: 10 << 30, totalBytes: 40 << 30))
        let text = status.text(policy: ReadinessPolicy())
        XCTAssertEqual(text, """
            ready:        yes
            log:          /data/log: 1200 events, 1 segment, 3.0 MiB, last event 2024-06-30T12:00:00Z
            ingest:       tcp 127.0.0.1:7400; 2 connections, 150 events/s; stored 1200, duplicates 4, rejected 1
            appender:     accepting
            projections:  1
              people  live, 3 events behind, 0.5 s
            postgresql:   postgresql://127.0.0.1:5432/careerlog: reachable
            disk:         10.0 GiB free of 40.0 GiB (25%) at /data

            """)
        let json = try JSONSerialization.jsonObject(with: Data(status.json(policy: ReadinessPolicy()).utf8)) as? [String: Any]
        XCTAssertEqual(json?["ready"] as? Bool, true)
        XCTAssertEqual(json?["projection_lag_events_max"] as? Int, 3)
        XCTAssertEqual((json?["log"] as? [String: Any])?["last_event_time"] as? String, "2024-06-30T12:00:00Z")
        XCTAssertNotNil(DiskSpace.of("/"))
    }

    func testDashboardDefinitionsAreTheCatalogs() throws {
        let readme = try String(contentsOf: Paths.packageRoot.appendingPathComponent("EventSchemas/README.md"), encoding: .utf8)
        let start = try XCTUnwrap(readme.range(of: "## Analytics definitions\n"))
        let end = try XCTUnwrap(readme.range(of: "\n## ", range: start.upperBound..<readme.endIndex))
        let section = readme[start.upperBound..<end.lowerBound].trimmingCharacters(in: .newlines)
        XCTAssertEqual(AnalyticsDefinitions.markdown, section, "copy the README's section into AnalyticsDefinitions.swift")
    }
}
