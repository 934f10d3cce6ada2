@testable import EventLog
import Foundation
import Replay
import StoredEventCodec
import XCTest

/// `careerlog log stats` and `log dump` as the library writes them.
final class LogStatisticsRenderTests: XCTestCase {
    func testAnEmptyLogHasNoSeqsTimesOrRatio() {
        let empty = LogStatistics()
        XCTAssertEqual(empty.json, #"{"events":0,"segments":0,"frames":0,"bytes_on_disk":0,"raw_bytes":0,"compression_ratio":null,"first_seq":null,"last_seq":null,"first_recorded":null,"last_recorded":null,"first_event_time":null,"last_event_time":null}"#)
        XCTAssertEqual(empty.table, """
            events             0
            segments           0
            frames             0
            bytes_on_disk      0
            raw_bytes          0
            compression_ratio  -
            first_seq          -
            last_seq           -
            first_recorded     -
            last_recorded      -
            first_event_time   -
            last_event_time    -

            """)
    }

    func testTheFixtureLogsFiguresAsNumbersAndTimesAsStrings() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let statistics = try EventLog.open(directory: directory, mode: .readOnly).statistics()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(statistics.json.utf8)) as? [String: Any])
        XCTAssertEqual(object["events"] as? Int, 12)
        XCTAssertEqual(object["frames"] as? Int, 5)
        XCTAssertEqual(object["first_seq"] as? Int, 1)
        XCTAssertEqual(object["last_seq"] as? Int, 12)
        XCTAssertEqual(object["first_recorded"] as? String, "2025-01-10T00:00:00.000000Z")
        XCTAssertEqual(object["compression_ratio"] as? Double, Double(String(format: "%.3f", statistics.compressionRatio)))
        let lines = statistics.table.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 13, "twelve figures and the final newline")
        XCTAssertEqual(lines[0], "events" + String(repeating: " ", count: 13) + "12")
        XCTAssertEqual(lines[8], "first_recorded" + String(repeating: " ", count: 5) + "2025-01-10T00:00:00.000000Z")
    }

    func testDumpWritesTheRecordsFromASeqUpToALimit() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try EventLog.open(directory: directory, mode: .readOnly)
        let path = directory + "/dump"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try log.dump(fromSeq: 4, limit: 3, opener: asStoredOpener, to: OutputBuffer(fd: fd, flushBytes: 16))
        close(fd)
        var expected: [UInt8] = []
        let reader = log.reader(fromSeq: 4)
        for _ in 0..<3 { RecordJSON.appendLine(try XCTUnwrap(try reader.next()), to: &expected) }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), String(decoding: expected, as: UTF8.self))
        XCTAssertEqual(expected.filter { $0 == UInt8(ascii: "\n") }.count, 3)
    }
}
