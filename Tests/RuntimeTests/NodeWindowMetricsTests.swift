import EventLog
import Foundation
import Ingest
import Logging
import Postgres
import Projector
import Telemetry
import TestSupport
import XCTest

@testable import Runtime

/// A node with its projector and HTTP window, over real sockets and a real
/// PostgreSQL: after a known run, `/metrics` (read by Prometheus' own text
/// parser) says exactly what happened on the ingest path and in the
/// projector, and a rebuild's progress shows while it runs.
final class NodeWindowMetricsTests: XCTestCase {
    struct Sample: Decodable {
        var name: String
        var labels: [String: String]
        var value: Double?
    }
    struct Family: Decodable {
        var name: String
        var samples: [Sample]
    }

    func testAKnownRunReadsBackFromEveryIngestAndProjectorMetric() throws {
        let url = try RuntimeTestDatabase.makeDatabase()
        let dir = makeTemporaryDirectory()
        let metrics = CareerlogMetrics()
        var configuration = NodeProjectorTests.nodeConfiguration(dir) { url }
        configuration.ingest.metrics = metrics
        let node = Node(configuration: configuration, logger: Logger(label: "test"))
        _ = try node.start()
        defer {
            node.stop()
            try? node.waitUntilStopped()
        }
        var windowConfiguration = NodeWindowConfiguration(dataDirectory: dir)
        windowConfiguration.server.port = 0
        windowConfiguration.catalog = configuration.projector!.catalog
        windowConfiguration.databaseURL.value = url
        let window = try NodeWindow.start(node: node, configuration: windowConfiguration, metrics: metrics, logger: Logger(label: "test"))
        defer { window.shutdown() }

        // The run: 300 events, then 5 of them again and 2 lines that are not JSON.
        let lines = generatedLines(300)
        let socket = IngestEndpoint.unix(path: dir + "/ingest.sock")
        XCTAssertEqual(try exchange(lines, with: socket).compactMap(\.seq), (1...300).map { UInt64($0) })
        let second = try exchange(Array(lines.prefix(5)) + ["{not json", "[1,"], with: socket)
        XCTAssertEqual(second.filter { if case .duplicate = $0 { true } else { false } }.count, 5)
        XCTAssertEqual(second.filter { if case .rejected(_, _, "parse", _) = $0 { true } else { false } }.count, 2)
        let check = try PostgresConnection(url: url)
        try waitUntil("the projection applied all 300 events") {
            try check.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'counts' AND tablename = 'seen'").first?[0] == "1"
                && check.query("SELECT count(*) FROM counts.seen").first?[0] == "300"
        }

        let families = try scrape(window.port)
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            families.flatMap { $0.samples }.first { $0.name == name && $0.labels == labels }?.value
        }
        let counts = ["projection": "counts"]
        XCTAssertEqual(value("careerlog_ingest_events_stored_total"), 300)
        XCTAssertEqual(value("careerlog_ingest_events_duplicate_total"), 5)
        XCTAssertEqual(value("careerlog_ingest_events_rejected_total", ["reason": "parse"]), 2)
        // One acknowledgement per stored or duplicate event.
        XCTAssertEqual(value("careerlog_ingest_ack_latency_seconds_count"), 305)
        XCTAssertEqual(value("careerlog_ingest_dedupe_window_ids"), 300)
        XCTAssertEqual(value("careerlog_ingest_queue_events"), 0)
        XCTAssertEqual(value("careerlog_log_head_seq"), 300)
        XCTAssertEqual(value("careerlog_postgres_up"), 1)
        XCTAssertEqual(value("careerlog_projection_events_applied_total", counts), 300)
        let batches = try XCTUnwrap(value("careerlog_projection_batch_apply_seconds_count", counts))
        XCTAssertTrue((1...300).contains(batches), "\(batches) batches for 300 events")
        XCTAssertGreaterThan(value("careerlog_projection_batch_apply_seconds_sum", counts) ?? 0, 0)
        XCTAssertEqual(value("careerlog_projection_checkpoint_seq", counts), 300)
        XCTAssertEqual(value("careerlog_projection_lag_events", counts), 0)
        XCTAssertEqual(value("careerlog_projection_state", ["projection": "counts", "state": "live"]), 1)
        XCTAssertEqual(value("careerlog_projection_rebuild_events_total", counts), 0, "no rebuild runs")

        // A rebuild of 300 events in batches of 100: after its first batch
        // the window says 100 of 300.
        var options = ProjectionBuilder.Options()
        options.batchEventsMax = 100
        options.connections = 1
        let log = try XCTUnwrap(node.running?.log)
        var seen: [(done: Double?, total: Double?)] = []
        try ProjectionBuilder(url: url, log: log, catalog: configuration.projector!.catalog, logger: Logger(label: "test"), options: options)
            .rebuild("counts") { progress in
                guard let families = try? scrape(window.port) else { return }
                func progressValue(_ name: String) -> Double? {
                    families.flatMap { $0.samples }.first { $0.name == name && $0.labels == counts }?.value
                }
                seen.append((progressValue("careerlog_projection_rebuild_events_done"), progressValue("careerlog_projection_rebuild_events_total")))
            }
        XCTAssertEqual(seen.map(\.done), [100, 200, 300])
        XCTAssertEqual(seen.map(\.total), [300, 300, 300])
        XCTAssertEqual(try scrape(window.port).flatMap { $0.samples }.first {
            $0.name == "careerlog_projection_rebuild_events_total" && $0.labels == counts
        }?.value, 0, "the rebuild is over")

        // `careerlog status` and /api/status count the rejected lines too.
        let status = try Data(contentsOf: URL(string: "http://127.0.0.1:\(window.port)/api/status")!)
        let ingest = try XCTUnwrap((JSONSerialization.jsonObject(with: status) as? [String: Any])?["ingest"] as? [String: Any])
        XCTAssertEqual(ingest["events_rejected"] as? Int, 2)
    }

    /// Scrapes `/metrics` and parses it with prometheus_client's parser.
    func scrape(_ port: Int) throws -> [Family] {
        let text = try Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        let parser = Process()
        parser.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        parser.arguments = ["python3", packageRoot + "/Tests/WindowTests/Helpers/parse_metrics.py"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        parser.standardInput = input
        parser.standardOutput = output
        parser.standardError = errors
        try parser.run()
        input.fileHandleForWriting.write(text)
        try input.fileHandleForWriting.close()
        let parsed = output.fileHandleForReading.readDataToEndOfFile()
        parser.waitUntilExit()
        guard parser.terminationStatus == 0 else {
            throw ParseFailure(message: String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        return try JSONDecoder().decode([Family].self, from: parsed)
    }

    struct ParseFailure: Error { var message: String }
}
