import Foundation
import TestSupport
import XCTest

/// A real `careerlog serve` fed a known run, scraped over HTTP, the answer
/// parsed by Prometheus' own text parser (prometheus_client): the counters
/// say exactly what was sent.
final class MetricsEndToEndTests: XCTestCase {
    func testCountersOfAKnownRunReadBackExactly() throws {
        let dir = makeTemporaryDirectory()
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: try careerlogBinary())
        serve.arguments = ["serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--no-socket", "--http", "127.0.0.1:0",
                           "--no-projector", "--log-level", "error"]
        var environment = ProcessInfo.processInfo.environment
        environment["CAREERLOG_SCHEMA_DIR"] = packageRoot + "/EventSchemas"
        serve.environment = environment
        let stdout = Pipe()
        serve.standardOutput = stdout
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { serve.terminate(); serve.waitUntilExit() }
        var readyLine = Data()
        while !readyLine.contains(10) {
            let chunk = stdout.fileHandleForReading.availableData
            guard !chunk.isEmpty else { return XCTFail("serve exited before it was ready") }
            readyLine.append(chunk)
        }
        let ready = try XCTUnwrap(JSONSerialization.jsonObject(with: readyLine) as? [String: Any])
        let http = try XCTUnwrap(ready["http"] as? String), tcp = try XCTUnwrap(ready["tcp"] as? String)

        // The run: 40 events, then 3 of them again, 2 schema errors, 1 parse error.
        let generated = try runCareerlog(["generate", "--users", "2", "--seed", "5"]).stdout.split(separator: "\n")
        let events = generated.prefix(40)
        XCTAssertEqual(events.count, 40)
        let first = try runCareerlog(["emit", "--connect", tcp], input: Data((events.joined(separator: "\n") + "\n").utf8))
        XCTAssertEqual(first.status, 0, first.stderr)
        let bad = String(events[0]).replacingOccurrences(of: #""type":"#, with: #""unknown_field":1,"type":"#)
        let badData = String(events[1]).replacingOccurrences(of: #""data":{"#, with: #""data":{"nonsense":true,"#)
        let second = try runCareerlog(["emit", "--connect", tcp], input: Data(
            (events.prefix(3).joined(separator: "\n") + "\n{not json\n" + bad + "\n" + badData + "\n").utf8))
        XCTAssertEqual(second.status, 1, "rejected lines make emit exit 1")

        let text = try Data(contentsOf: URL(string: "http://\(http)/metrics")!)
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
        XCTAssertEqual(parser.terminationStatus, 0, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        let families = try XCTUnwrap(JSONSerialization.jsonObject(with: parsed) as? [[String: Any]])
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            for family in families {
                for sample in family["samples"] as! [[String: Any]] where sample["name"] as? String == name && (sample["labels"] as? [String: String] ?? [:]) == labels {
                    return (sample["value"] as? NSNumber)?.doubleValue
                }
            }
            return nil
        }
        XCTAssertEqual(value("careerlog_ingest_events_stored_total"), 40)
        XCTAssertEqual(value("careerlog_ingest_events_duplicate_total"), 3)
        XCTAssertEqual(value("careerlog_ingest_events_rejected_total", ["reason": "parse"]), 1)
        XCTAssertEqual(value("careerlog_ingest_events_rejected_total", ["reason": "schema"]), 2)
        XCTAssertEqual(value("careerlog_log_head_seq"), 40)
        let groups = try XCTUnwrap(value("careerlog_ingest_group_commit_events_count"))
        XCTAssertEqual(value("careerlog_ingest_group_commit_events_sum"), 40)
        XCTAssertEqual(value("careerlog_log_append_sync_seconds_count"), groups)
        XCTAssertGreaterThan(value("careerlog_log_disk_bytes") ?? 0, 0)
    }
}
