import EventLog
import Foundation
import StoredEventCodec
import XCTest

/// The golden segment of format version 1 (Tests/EventLogTests/Golden, see
/// GoldenSegmentTests there) decodes to the committed `expected.ndjson`,
/// byte for byte, as `careerlog replay` prints it. Lives here because
/// EventLogTests may not import the JSON codec.
///
/// Regenerate (after a deliberate change only):
/// `CAREERLOG_WRITE_GOLDEN=1 swift test --filter GoldenNDJSONTests`.
final class GoldenNDJSONTests: XCTestCase {
    private let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("EventLogTests/Golden").path

    func testTheGoldenSegmentDecodesToTheExpectedNDJSON() throws {
        let out = try replayed(golden)
        XCTAssertEqual(out.filter { $0 == UInt8(ascii: "\n") }.count, 8)
        XCTAssertFalse(String(decoding: out, as: UTF8.self).contains(#""producer""#), "a log written before producers has none")
    }

    /// Frame version 2 (Golden/producers, see GoldenProducersTests): events
    /// with a producer carry `"producer":"NAME"`, the others none.
    func testTheProducersGoldenLogDecodesToTheExpectedNDJSON() throws {
        let out = try replayed(golden + "/producers")
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 8)
        XCTAssertEqual(lines.map { $0.contains(#""producer":"#) }, [false, false, true, true, false, true, true, false])
        XCTAssertTrue(lines[3].hasPrefix(#"{"seq":4,"recorded":"2026-12-01T09:00:00.000000Z","producer":"mentor-service","id":"#), String(lines[3]))
    }

    /// Replays the golden log in `directory` and compares it with its
    /// `expected.ndjson` (written instead when CAREERLOG_WRITE_GOLDEN=1).
    private func replayed(_ directory: String, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        // A private copy: opening never writes, but the checkout stays untouched either way.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("careerlog-golden-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["00000000000000000001.seg", "00000000000000000001.idx", "DURABLE"] {
            try FileManager.default.copyItem(atPath: directory + "/" + name, toPath: dir + "/" + name)
        }
        let log = try EventLog.open(directory: dir, mode: .readOnly)
        let reader = log.reader()
        var out: [UInt8] = []
        while let record = try reader.next() { RecordJSON.appendLine(record, to: &out) }
        let expectedPath = directory + "/expected.ndjson"
        if ProcessInfo.processInfo.environment["CAREERLOG_WRITE_GOLDEN"] == "1" {
            _ = FileManager.default.createFile(atPath: expectedPath, contents: Data(out))
        }
        let expected = try XCTUnwrap(FileManager.default.contents(atPath: expectedPath), "missing \(expectedPath)", file: file, line: line)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), String(decoding: expected, as: UTF8.self), file: file, line: line)
        return out
    }
}
