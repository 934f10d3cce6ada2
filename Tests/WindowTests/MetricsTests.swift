import CoreMetrics
import Foundation
@testable import Telemetry
import XCTest
@testable import Window

/// `/metrics` read by a real Prometheus text-format parser (PyPI's
/// prometheus_client, in Helpers/parse_metrics.py).
final class MetricsTests: XCTestCase {
    struct Sample: Decodable {
        var name: String
        var labels: [String: String]
        var value: Double?
    }
    struct Family: Decodable {
        var name: String
        var type: String
        var help: String
        var samples: [Sample]
    }

    /// Scrapes a live window and parses the answer.
    private func scrape(_ metrics: CareerlogMetrics, beforeScrape: @escaping @Sendable () -> Void = {}) throws -> [Family] {
        var routes = WindowRoutes()
        StandardRoutes.addMetrics(to: &routes, metrics: metrics, beforeScrape: beforeScrape)
        let server = try startWindow(routes: routes)
        defer { server.shutdown() }
        let response = try get(server.port, "/metrics")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        let parsed = try runProcess(["python3", Paths.helpers.appendingPathComponent("parse_metrics.py").path], input: Data(response.body.utf8))
        guard parsed.status == 0 else {
            XCTFail("the Prometheus parser rejected /metrics: \(parsed.stderr)")
            return []
        }
        return try JSONDecoder().decode([Family].self, from: parsed.stdout)
    }

    private func value(_ families: [Family], _ sample: String, _ labels: [String: String] = [:]) -> Double? {
        families.flatMap(\.samples).first { $0.name == sample && $0.labels == labels }?.value
    }

    func testAKnownRunReadsBackExactly() throws {
        let metrics = CareerlogMetrics()
        // A run: 7 events sent and stored in 2 group commits, 1 duplicate,
        // 3 rejected (2 schema, 1 parse).
        metrics.eventsStored.increment(by: 7)
        metrics.eventsDuplicate.increment()
        metrics.eventsRejected(.schema).increment(by: 2)
        metrics.eventsRejected(RejectionReason(code: "parse")).increment()
        metrics.eventsRejected(RejectionReason(code: "some_future_code")).increment()
        metrics.eventsRejected(RejectionReason(code: "forbidden")).increment()
        metrics.bytesAppended.increment(by: 4096)
        metrics.groupCommitEvents.record(3)
        metrics.groupCommitEvents.record(4)
        metrics.appendSyncSeconds.recordMilliseconds(3)
        metrics.appendSyncSeconds.recordMilliseconds(30)
        metrics.ackLatencySeconds.recordMicroseconds(800)
        metrics.connectionsOpen.set(2)
        let analytics = metrics.projection("analytics")
        analytics.eventsApplied.increment(by: 5)
        analytics.batchApplySeconds.recordMilliseconds(20)
        analytics.setState(.rebuilding)
        analytics.rebuildEventsDone.set(5)
        analytics.rebuildEventsTotal.set(7)
        let families = try scrape(metrics, beforeScrape: {
            metrics.logHeadSeq.set(7)
            metrics.projection("analytics").lagEvents.set(2)
        })

        XCTAssertEqual(value(families, "careerlog_ingest_events_stored_total"), 7)
        XCTAssertEqual(value(families, "careerlog_ingest_events_duplicate_total"), 1)
        XCTAssertEqual(value(families, "careerlog_ingest_events_rejected_total", ["reason": "schema"]), 2)
        XCTAssertEqual(value(families, "careerlog_ingest_events_rejected_total", ["reason": "parse"]), 1)
        XCTAssertEqual(value(families, "careerlog_ingest_events_rejected_total", ["reason": "other"]), 1)
        XCTAssertEqual(value(families, "careerlog_ingest_events_rejected_total", ["reason": "forbidden"]), 1)
        XCTAssertEqual(value(families, "careerlog_ingest_events_rejected_total", ["reason": "too_large"]), 0)
        XCTAssertEqual(value(families, "careerlog_log_appended_bytes_total"), 4096)
        XCTAssertEqual(value(families, "careerlog_ingest_group_commit_events_count"), 2)
        XCTAssertEqual(value(families, "careerlog_ingest_group_commit_events_sum"), 7)
        XCTAssertEqual(value(families, "careerlog_ingest_group_commit_events_bucket", ["le": "4.0"]), 2)
        XCTAssertEqual(value(families, "careerlog_ingest_group_commit_events_bucket", ["le": "2.0"]), 0)
        XCTAssertEqual(value(families, "careerlog_log_append_sync_seconds_count"), 2)
        XCTAssertEqual(try XCTUnwrap(value(families, "careerlog_log_append_sync_seconds_sum")), 0.033, accuracy: 1e-9)
        XCTAssertEqual(value(families, "careerlog_log_append_sync_seconds_bucket", ["le": "0.005"]), 1)
        XCTAssertEqual(value(families, "careerlog_log_append_sync_seconds_bucket", ["le": "+Inf"]), 2)
        XCTAssertEqual(value(families, "careerlog_ingest_ack_latency_seconds_bucket", ["le": "0.001"]), 1)
        XCTAssertEqual(value(families, "careerlog_ingest_connections_open"), 2)
        XCTAssertEqual(value(families, "careerlog_log_head_seq"), 7)
        XCTAssertEqual(value(families, "careerlog_projection_events_applied_total", ["projection": "analytics"]), 5)
        XCTAssertEqual(value(families, "careerlog_projection_lag_events", ["projection": "analytics"]), 2)
        XCTAssertEqual(value(families, "careerlog_projection_batch_apply_seconds_count", ["projection": "analytics"]), 1)
        XCTAssertEqual(value(families, "careerlog_projection_state", ["projection": "analytics", "state": "rebuilding"]), 1)
        XCTAssertEqual(value(families, "careerlog_projection_state", ["projection": "analytics", "state": "live"]), 0)
        XCTAssertEqual(value(families, "careerlog_projection_rebuild_events_done", ["projection": "analytics"]), 5)
        XCTAssertEqual(value(families, "careerlog_projection_rebuild_events_total", ["projection": "analytics"]), 7)
    }

    func testEveryMetricOfTheIssueIsThereWithItsTypeAndHelp() throws {
        let metrics = CareerlogMetrics()
        _ = metrics.projection("people")
        let families = try scrape(metrics)
        let types = Dictionary(families.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        // prometheus_client names counter families without `_total`.
        let expected: [String: String] = [
            "careerlog_ingest_events_stored": "counter", "careerlog_ingest_events_duplicate": "counter",
            "careerlog_ingest_events_rejected": "counter", "careerlog_log_appended_bytes": "counter",
            "careerlog_ingest_group_commit_events": "histogram", "careerlog_log_append_sync_seconds": "histogram",
            "careerlog_ingest_ack_latency_seconds": "histogram", "careerlog_ingest_queue_events": "gauge",
            "careerlog_ingest_connections_open": "gauge", "careerlog_ingest_dedupe_window_ids": "gauge",
            "careerlog_log_head_seq": "gauge", "careerlog_log_segments": "gauge", "careerlog_log_disk_bytes": "gauge",
            "careerlog_postgres_up": "gauge", "careerlog_projection_checkpoint_seq": "gauge",
            "careerlog_projection_lag_events": "gauge", "careerlog_projection_lag_seconds": "gauge",
            "careerlog_projection_state": "gauge", "careerlog_projection_events_applied": "counter",
            "careerlog_projection_batch_apply_seconds": "histogram", "careerlog_projection_rebuild_events_done": "gauge",
            "careerlog_projection_rebuild_events_total": "gauge",
            "process_resident_memory_bytes": "gauge", "process_open_fds": "gauge", "process_start_time_seconds": "gauge",
            "process_cpu_seconds": "counter", "process_max_fds": "gauge", "process_virtual_memory_bytes": "gauge",
        ]
        for (name, type) in expected {
            XCTAssertEqual(types[name], type, "metric \(name)")
        }
        XCTAssertEqual(Set(types.keys), Set(expected.keys), "no metric beyond the list (each needs a reason)")
        for family in families { XCTAssertFalse(family.help.isEmpty, "\(family.name) has no HELP") }
        // Process figures are real: this process has a few MiB and descriptors.
        XCTAssertGreaterThan(value(families, "process_resident_memory_bytes") ?? 0, Double(1 << 20))
        XCTAssertGreaterThan(value(families, "process_open_fds") ?? 0, 2)
        let start = try XCTUnwrap(value(families, "process_start_time_seconds"))
        XCTAssertEqual(start, Date().timeIntervalSince1970, accuracy: 24 * 3600)
    }

    func testLabelSetsStayBounded() throws {
        let metrics = CareerlogMetrics()
        for i in 0..<(CareerlogMetrics.projectionLabelsMax + 50) { metrics.projection("projection\(i)").eventsApplied.increment() }
        let families = try scrape(metrics)
        let applied = try XCTUnwrap(families.first { $0.name == "careerlog_projection_events_applied" })
        XCTAssertEqual(applied.samples.count, CareerlogMetrics.projectionLabelsMax + 1)  // + "_other"
        XCTAssertEqual(value(families, "careerlog_projection_events_applied_total", ["projection": "_other"]), 50)
        let rejected = try XCTUnwrap(families.first { $0.name == "careerlog_ingest_events_rejected" })
        XCTAssertEqual(rejected.samples.count, RejectionReason.allCases.count)
    }

    func testProcessMetricsParseProcStat() throws {
        // comm with spaces and a parenthesis must not shift the fields.
        let fields = try XCTUnwrap(ProcessMetrics.statFields("42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23"))
        XCTAssertEqual(fields.first, "S")
        XCTAssertEqual(fields[22 - 3], "19")
    }
}
