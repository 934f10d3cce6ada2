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
        // A private copy: opening never writes, but the checkout stays untouched either way.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("careerlog-golden-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["00000000000000000001.seg", "00000000000000000001.idx", "DURABLE"] {
            try FileManager.default.copyItem(atPath: golden + "/" + name, toPath: dir + "/" + name)
        }
        let log = try EventLog.open(directory: dir, mode: .readOnly)
        let reader = log.reader()
        var out: [UInt8] = []
        while let record = try reader.next() { RecordJSON.appendLine(record, to: &out) }
        let expectedPath = golden + "/expected.ndjson"
        if ProcessInfo.processInfo.environment["CAREERLOG_WRITE_GOLDEN"] == "1" {
            _ = FileManager.default.createFile(atPath: expectedPath, contents: Data(out))
        }
        let expected = try XCTUnwrap(FileManager.default.contents(atPath: expectedPath), "missing \(expectedPath)")
        XCTAssertEqual(String(decoding: out, as: UTF8.self), String(decoding: expected, as: UTF8.self))
        XCTAssertEqual(out.filter { $0 == UInt8(ascii: "\n") }.count, 8)
    }
}
