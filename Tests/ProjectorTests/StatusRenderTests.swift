import Foundation
import XCTest

@testable import Projector

/// `careerlog projections list/status` and the build progress line, as the
/// command line prints them, without a database.
final class StatusRenderTests: XCTestCase {
    func row(_ projection: String, state: String = "live", failedSeq: UInt64? = nil, failedReason: String? = nil) -> ProjectionStatusRow {
        ProjectionStatusRow(projection: projection, schema: projection, role: "live", version: 2, checkpoint: 40, head: 42, lagEvents: 2,
                            lagSeconds: 1.25, eventsPerSecond: nil, state: state, failedSeq: failedSeq, failedReason: failedReason)
    }

    func testTheStatusTableAlignsColumnsAndFollowsAFailureWithItsSeqAndReason() {
        let table = ProjectionStatusReport.table([row("analytics"), row("lms", state: "failed", failedSeq: 41, failedReason: "bad cast")])
        XCTAssertEqual(table, """
            projection  schema     role  version  checkpoint  head  lag  lag_s  events/s  state
            analytics   analytics  live  2        40          42    2    1.2    -         live
            lms         lms        live  2        40          42    2    1.2    -         failed at seq 41: bad cast

            """)
    }

    /// A reason may hold control characters (issue 9, defect 5): every
    /// line stays one valid JSON object.
    func testEachStatusRowIsOneValidJSONObject() throws {
        let reason = "line 1\nline 2\t\"quoted\" \u{1}"
        let json = row("lms", state: "failed", failedSeq: 41, failedReason: reason).json
        XCTAssertFalse(json.contains("\n"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["failed_reason"] as? String, reason)
        XCTAssertEqual(object["failed_seq"] as? Int, 41)
        XCTAssertTrue(object["events_per_second"] is NSNull)
        XCTAssertEqual(json, #"{"projection":"lms","schema":"lms","role":"live","version":2,"checkpoint":40,"head":42,"lag_events":2,"lag_seconds":1.25,"events_per_second":null,"state":"failed","failed_seq":41,"failed_reason":"line 1\nline 2\t\"quoted\" \u0001"}"#)
    }

    func testTheDefinitionsTablePadsFingerprintsToEightHexDigits() {
        let catalog = ProjectionCatalog(definitions: [
            ProjectionDefinition(name: "a", version: 1, schemaSQL: "", applySQL: ""),
            ProjectionDefinition(name: "longer_name", version: 12, schemaSQL: "CREATE TABLE t ()", applySQL: "SELECT 1"),
        ])
        let prints = catalog.definitions.map { String(repeating: "0", count: 8 - $0.fingerprint.count) + $0.fingerprint }
        XCTAssertTrue(prints.allSatisfy { $0.count == 8 })
        XCTAssertEqual(ProjectionStatusReport.definitionsTable(catalog), """
            projection   version  fingerprint
            a            1        \(prints[0])
            longer_name  12       \(prints[1])

            """)
    }

    func testProgressLineTexts() {
        let progress = BuildProgress(schema: "june_lms", checkpoint: 500, head: 2_000, eventsPerSecond: 250.7)
        XCTAssertEqual(BuildProgressLine.text(progress, style: .rebuild), "500/2000 events, 250 events/s, ETA 6 s")
        XCTAssertEqual(BuildProgressLine.text(progress, style: .asOf), "june_lms: 500/2000 events")
        let stalled = BuildProgress(schema: "lms", checkpoint: 0, head: 10, eventsPerSecond: 0)
        XCTAssertEqual(BuildProgressLine.text(stalled, style: .rebuild), "0/10 events, 0 events/s, ETA -")
    }

    /// The line goes to its descriptor only when enabled: `\r` + text + three
    /// spaces per update, a newline at the end.
    func testTheProgressLineWritesOnlyWhenEnabled() throws {
        let path = NSTemporaryDirectory() + "progress-\(getpid())"
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let progress = BuildProgress(schema: "lms", checkpoint: 1, head: 2, eventsPerSecond: 0)
        BuildProgressLine(.asOf, enabled: false, fd: fd).update(progress)
        BuildProgressLine(.asOf, enabled: false, fd: fd).finish()
        let line = BuildProgressLine(.asOf, enabled: true, fd: fd)
        line.update(progress)
        line.finish()
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "\rlms: 1/2 events   \n")
    }
}
