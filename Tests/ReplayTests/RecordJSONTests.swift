import CareerEvents
import EventLog
import Foundation
import StoredEventCodec
import TestSupport
import XCTest

/// The fast NDJSON writer must give exactly the bytes of the plain one it
/// replaced (kept below as the reference), for ordinary and odd records.
final class RecordJSONTests: XCTestCase {
    func testFixtureLinesAreExact() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reader = try EventLog.open(directory: directory, mode: .readOnly).reader()
        var lines: [String] = []
        var writer = RecordJSON.Writer()
        while let record = try reader.next() {
            var out: [UInt8] = []
            writer.appendLine(record, to: &out)
            XCTAssertEqual(out, referenceLine(record))
            lines.append(String(decoding: out, as: UTF8.self))
        }
        XCTAssertEqual(lines[1], #"{"seq":2,"recorded":"2025-01-10T00:00:00.000000Z","id":"00000000-0000-4000-8000-000000000002","source":"careerforge-api","type":"application.advanced","dataversion":1,"subject":"aaaaaaaa-0000-4000-8000-000000000001","time":"2025-01-06T01:00:00+02:00","data":{"application_id":"11111111-1111-4111-8111-111111111111","stage":"interview"}}"# + "\n")
    }

    func testEdgeValuesMatchTheReference() {
        var random = SplitMix(seed: 11)
        let seqs: [UInt64] = [1, 9, 10, 99, 100, 12_345, 999_999, 1_000_000, UInt64(UInt32.max), UInt64.max]
        let recorded: [Int64] = [0, 1, -1, 999_999, 1_000_000, -1_000_001, 1_763_695_800_123_456,
                                 253_402_300_799_999_999, 253_402_300_800_000_000, -62_167_219_200_000_000, -62_167_219_200_000_001]
        let seconds: [Int64] = [0, -1, 86_399, 951_782_400, 1_735_689_599, 253_402_300_799, 253_402_300_800, -62_167_219_200, -62_167_219_201]
        let strings = ["careerforge-api", "", "quote\"back\\slash", "tab\tnew\nline\u{1}", "ünïcødé ✓", "del\u{7F}"]
        // One writer for all: its remembered dates must never leak into a
        // line of another day (times here jump around on purpose).
        var writer = RecordJSON.Writer()
        for i in 0..<2_000 {
            let time = EventTime(
                seconds: seconds[i % seconds.count] &+ Int64(random.next() % 100_000),
                nanoseconds: [0, 500_000_000, 123_456_789, 100, 1][Int(random.next() % 5)],
                offsetMinutes: [0, 60, -300, 330, -1439, 1439, -1][Int(random.next() % 7)],
                fractionDigits: UInt8(random.next() % 10),
                isLeapSecond: random.next() % 7 == 0)
            let event = LogEvent(
                id: random.uuid(), subject: random.uuid(), time: time,
                source: strings[Int(random.next() % UInt64(strings.count))], type: strings[Int(random.next() % UInt64(strings.count))],
                dataVersion: [1, 2, UInt32.max][Int(random.next() % 3)], data: Array(#"{"k":"v","n":[1,2.50]}"#.utf8))
            let record = EventRecord(seq: seqs[i % seqs.count], recorded: recorded[i % recorded.count], event: event)
            var out: [UInt8] = [0x41]  // appends after what is there
            RecordJSON.appendLine(record, to: &out)
            XCTAssertEqual(out, [0x41] + referenceLine(record), "record \(i): \(String(decoding: out, as: UTF8.self))")
            for _ in 0..<(i % 3) {
                var again: [UInt8] = []
                writer.appendLine(record, to: &again)
                XCTAssertEqual(again, referenceLine(record), "record \(i) through a writer")
            }
        }
    }

    func testLargeDataIsCopiedWhole() {
        let data = Array(("{\"pad\":\"" + String(repeating: "x", count: 900_000) + "\"}").utf8)
        let record = EventRecord(seq: 1, recorded: 0, event: LogEvent(
            id: UUID(), subject: UUID(), time: EventTime(seconds: 0), source: "s", type: "t", data: data))
        var out: [UInt8] = []
        RecordJSON.appendLine(record, to: &out)
        XCTAssertEqual(out, referenceLine(record))
    }

    /// The writer as it was before it was optimized: the specification.
    private func referenceLine(_ record: EventRecord) -> [UInt8] {
        var out: [UInt8] = []
        let event = record.event
        out.append(contentsOf: #"{"seq":"#.utf8)
        out.append(contentsOf: String(record.seq).utf8)
        out.append(contentsOf: #","recorded":""#.utf8)
        Timestamp(recordedMicroseconds: record.recorded).appendRFC3339(to: &out)
        out.append(contentsOf: #"","id":""#.utf8)
        UUIDText.append(event.id, to: &out)
        out.append(contentsOf: #"","source":"#.utf8)
        JSONValue.writeString(event.source, into: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONValue.writeString(event.type, into: &out)
        out.append(contentsOf: #","dataversion":"#.utf8)
        out.append(contentsOf: String(event.dataVersion).utf8)
        out.append(contentsOf: #","subject":""#.utf8)
        UUIDText.append(event.subject, to: &out)
        out.append(contentsOf: #"","time":""#.utf8)
        Timestamp(event.time).appendRFC3339(to: &out)
        out.append(contentsOf: #"","data":"#.utf8)
        out.append(contentsOf: event.data)
        out.append(contentsOf: "}\n".utf8)
        return out
    }
}
