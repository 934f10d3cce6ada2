import CareerEvents
import EventLog
import Foundation
import StoredEventCodec
import XCTest

/// The one JSON string writer and the one CSV field writer, and the fast
/// variant that the replay hot path keeps beside them.
final class TextEscapingTests: XCTestCase {
    /// Every Unicode scalar (controls, quote, backslash, DEL, U+2028,
    /// U+2029, the largest) escapes to text the strict parser reads back
    /// as that scalar.
    func testSharedJSONStringRoundTripsEveryScalar() throws {
        var chunk: [String] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }  // surrogates are no scalars
            chunk.append("a" + String(Character(scalar)) + "z")
            if chunk.count == 4_096 || value == 0x10FFFF {
                let text = "[" + chunk.map(JSONString.quoted).joined(separator: ",") + "]"
                let parsed = try JSONParser.parse(text)
                XCTAssertEqual(parsed, .array(chunk.map { .string($0) }), "chunk ending at U+\(String(value, radix: 16))")
                chunk.removeAll(keepingCapacity: true)
            }
        }
    }

    func testSharedJSONStringExactEscapes() {
        XCTAssertEqual(JSONString.quoted("a\"b\\c\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}\u{2028}é"),
                       "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7F}\u{2028}é\"")
        XCTAssertEqual(JSONString.quotedOrNull(nil), "null")
        XCTAssertEqual(JSONString.quotedOrNull(""), "\"\"")
    }

    /// `RecordJSON` writes `source` and `type` through its own fast path;
    /// it must give the shared writer's bytes for every scalar, on the copy
    /// path and beside a control character (the escaping path). ASCII goes
    /// one scalar at a time (where the two paths part); the rest in runs
    /// of 1,024 consecutive scalars, each run compared whole.
    func testRecordJSONStringsEqualTheSharedWriterForEveryScalar() {
        let frame = line(source: "")
        let empty = Array(#""""#.utf8)
        let cut = frame.firstRange(of: Array(#""source":"#.utf8) + empty)!.lowerBound + #""source":"#.utf8.count
        let prefix = Array(frame[..<cut]), suffix = Array(frame[(cut + empty.count)...])
        var runs: [String] = (UInt32(0)..<0x80).map { String(Character(Unicode.Scalar($0)!)) }
        var run = ""
        for value in UInt32(0x80)...0x10FFFF {
            if let scalar = Unicode.Scalar(value) { run.unicodeScalars.append(scalar) }  // surrogates are no scalars
            if run.unicodeScalars.count == 1_024 || value == 0x10FFFF {
                runs.append(run)
                run = ""
            }
        }
        XCTAssertEqual(runs.reduce(0) { $0 + $1.unicodeScalars.count }, 0x110000 - 0x800, "every scalar once")
        var mismatches = 0
        for text in runs {
            for source in [text, "\u{01}" + text] {
                var expected = prefix
                JSONString.append(source, to: &expected)
                expected += suffix
                if line(source: source) != expected {
                    mismatches += 1
                    if mismatches <= 5 { XCTFail("differs for \(source.unicodeScalars.map { String($0.value, radix: 16) }.prefix(4))...") }
                }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    func testCSVFieldQuotesOnlyWhatRFC4180Requires() {
        XCTAssertEqual(CSVField.quoted("plain text é"), "plain text é")
        XCTAssertEqual(CSVField.quoted(""), "")
        XCTAssertEqual(CSVField.quoted("a,b"), "\"a,b\"")
        XCTAssertEqual(CSVField.quoted("say \"hi\""), "\"say \"\"hi\"\"\"")
        XCTAssertEqual(CSVField.quoted("one\r\ntwo"), "\"one\r\ntwo\"")
        XCTAssertEqual(CSVField.quoted("one\ntwo"), "\"one\ntwo\"")
        XCTAssertEqual(CSVField.quoted("tab\there"), "tab\there")
        var bytes: [UInt8] = [0x41]
        CSVField.append(Array("x\"y".utf8), to: &bytes)
        XCTAssertEqual(bytes, Array("A\"x\"\"y\"".utf8))
    }

    private func line(source: String) -> [UInt8] {
        let event = LogEvent(id: UUID(uuid: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)),
                             subject: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)),
                             time: EventTime(seconds: 1_735_689_600), source: source, type: "t", data: Array("{}".utf8))
        var out: [UInt8] = []
        RecordJSON.appendLine(EventRecord(seq: 1, recorded: 0, event: event), to: &out)
        return out
    }
}
