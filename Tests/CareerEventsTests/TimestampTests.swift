import Foundation
import TestSupport
import XCTest

@testable import CareerEvents

final class TimestampTests: XCTestCase {
    // MARK: JSON Schema Test Suite formats

    func testDateTimeFormatSuite() throws {
        let cases = try formatCases("date-time.json")
        XCTAssertEqual(cases.count, 27)
        for (description, text, valid) in cases {
            XCTAssertEqual(Timestamp(rfc3339: text) != nil, valid, "\(description): \(text.debugDescription)")
        }
    }

    func testDateFormatSuite() throws {
        let cases = try formatCases("date.json")
        XCTAssertGreaterThan(cases.count, 60)
        for (description, text, valid) in cases {
            XCTAssertEqual(CalendarDate(iso: text) != nil, valid, "\(description): \(text.debugDescription)")
        }
    }

    // MARK: Parsing

    func testParsesInstantAndSpelling() throws {
        let t = try XCTUnwrap(Timestamp(rfc3339: "1990-12-31T15:59:50.123-08:00"))
        XCTAssertEqual(t.seconds, 662_687_990)
        XCTAssertEqual(t.nanoseconds, 123_000_000)
        XCTAssertEqual(t.offsetMinutes, -480)
        XCTAssertEqual(t.fractionDigits, 3)
        XCTAssertFalse(t.isLeapSecond)

        let plus = try XCTUnwrap(Timestamp(rfc3339: "1937-01-01T12:00:27.87+00:20"))
        XCTAssertEqual(plus.seconds, -1_041_337_173)
        XCTAssertEqual(plus.nanoseconds, 870_000_000)
        XCTAssertEqual(plus.offsetMinutes, 20)
        XCTAssertEqual(plus.fractionDigits, 2)

        XCTAssertEqual(Timestamp(rfc3339: "1963-06-19T08:30:06Z")?.seconds, -206_292_594)
        XCTAssertEqual(Timestamp(rfc3339: "0001-01-01T00:00:00Z")?.seconds, -62_135_596_800)
        XCTAssertEqual(Timestamp(rfc3339: "9999-12-31T23:59:59Z")?.seconds, 253_402_300_799)
        XCTAssertEqual(Timestamp(rfc3339: "2024-02-29T12:00:00z")?.seconds, 1_709_208_000)
    }

    func testSameInstantInDifferentOffsetsIsEqual() throws {
        let utc = try XCTUnwrap(Timestamp(rfc3339: "2024-05-01T12:00:00Z"))
        let paris = try XCTUnwrap(Timestamp(rfc3339: "2024-05-01T14:00:00.000+02:00"))
        let newYork = try XCTUnwrap(Timestamp(rfc3339: "2024-05-01T08:00:00-04:00"))
        XCTAssertEqual(utc, paris)
        XCTAssertEqual(utc, newYork)
        XCTAssertEqual(Set([utc, paris, newYork]).count, 1)
        XCTAssertLessThan(try XCTUnwrap(Timestamp(rfc3339: "2024-05-01T13:59:59.999999999+02:00")), utc)
        // Crossing midnight backwards through the offset.
        XCTAssertEqual(Timestamp(rfc3339: "2024-01-01T00:30:00+01:00")?.utcDate, CalendarDate(year: 2023, month: 12, day: 31))
    }

    func testFractionOfMoreThanNineDigitsIsTruncated() throws {
        let t = try XCTUnwrap(Timestamp(rfc3339: "1985-04-12T00:59:59.999999999999999Z"))
        XCTAssertEqual(t.nanoseconds, 999_999_999)
        XCTAssertEqual(t.fractionDigits, 9)
        XCTAssertEqual(t.rfc3339, "1985-04-12T00:59:59.999999999Z")
    }

    func testLeapSecondOnlyAtUTC235960() throws {
        let utc = try XCTUnwrap(Timestamp(rfc3339: "1998-12-31T23:59:60Z"))
        XCTAssertTrue(utc.isLeapSecond)
        XCTAssertEqual(utc.seconds, 915_148_799)
        XCTAssertEqual(utc.rfc3339, "1998-12-31T23:59:60Z")

        let shifted = try XCTUnwrap(Timestamp(rfc3339: "1998-12-31T15:59:60.123-08:00"))
        XCTAssertEqual(shifted.rfc3339, "1998-12-31T15:59:60.123-08:00")
        let eastern = try XCTUnwrap(Timestamp(rfc3339: "1999-01-01T05:29:60+05:30"))
        XCTAssertEqual(eastern, utc)

        // Ordered after every 23:59:59.x and before the next midnight.
        XCTAssertLessThan(try XCTUnwrap(Timestamp(rfc3339: "1998-12-31T23:59:59.999999999Z")), utc)
        XCTAssertLessThan(utc, shifted)
        XCTAssertLessThan(shifted, try XCTUnwrap(Timestamp(rfc3339: "1999-01-01T00:00:00Z")))

        for text in ["1998-12-31T23:58:60Z", "1998-12-31T22:59:60Z", "1998-12-31T23:59:60+01:00",
                     "1998-12-31T23:59:61Z", "2016-12-31T24:59:60+01:00"] {
            XCTAssertNil(Timestamp(rfc3339: text), text)
        }
    }

    func testRejectsWhatRFC3339DoesNotAllow() {
        let invalid = [
            "", "2024-05-01", "2024-05-01T12:00:00", "2024-05-01T12:00Z", "2024-05-01 12:00:00Z",
            "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+0100", "2024-05-01T12:00:00+01", "2024-05-01T12:00:00+1:00",
            "2024-05-01T12:00:00UTC", " 2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z ", "2024-05-01T12:00:00ZZ",
            "2024-02-30T12:00:00Z", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-05-01T12:00:00-24:00",
            "2024-05-01T12:00:00+00:60", "+2024-05-01T12:00:00Z", "2024-05-01T12:00:00,5Z", "2024-05-01T1:00:00Z",
        ]
        for text in invalid {
            XCTAssertNil(Timestamp(rfc3339: text), text.debugDescription)
        }
    }

    func testParsesSubstringsAndBytes() throws {
        let line = "[2024-05-01T12:00:00Z]"
        let inner = line.dropFirst().dropLast()
        XCTAssertEqual(Timestamp(rfc3339: inner)?.seconds, 1_714_564_800)
        let bytes = Array("2024-05-01T12:00:00Z".utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { Timestamp(rfc3339Bytes: $0) }?.seconds, 1_714_564_800)
    }

    // MARK: Formatting

    func testFormatRoundTripsTheWrittenSpelling() throws {
        let texts = [
            "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.5Z", "2024-05-01T12:00:00.500Z", "2024-05-01T12:00:00.000000000Z",
            "1990-12-31T15:59:50.123-08:00", "1937-01-01T12:00:27.87+00:20", "2024-12-31T23:30:00-23:59",
            "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "1969-12-31T23:59:59.999Z", "2000-02-29T09:15:00+05:45",
        ]
        for text in texts {
            let t = try XCTUnwrap(Timestamp(rfc3339: text), text)
            XCTAssertEqual(t.rfc3339, text)
            XCTAssertEqual(Timestamp(rfc3339: t.rfc3339), t)
        }
        // Spellings that normalize: lower-case t/z, and any zero offset as "Z".
        XCTAssertEqual(Timestamp(rfc3339: "2024-05-01t12:00:00z")?.rfc3339, "2024-05-01T12:00:00Z")
        XCTAssertEqual(Timestamp(rfc3339: "2024-05-01T12:00:00+00:00")?.rfc3339, "2024-05-01T12:00:00Z")
        XCTAssertEqual(Timestamp(rfc3339: "2024-05-01T12:00:00-00:00")?.rfc3339, "2024-05-01T12:00:00Z")
    }

    func testFormatOfValuesBuiltInCode() {
        XCTAssertEqual(Timestamp(seconds: 0).rfc3339, "1970-01-01T00:00:00Z")
        XCTAssertEqual(Timestamp(seconds: -1).rfc3339, "1969-12-31T23:59:59Z")
        XCTAssertEqual(Timestamp(seconds: 1_714_564_800, offsetMinutes: 330).rfc3339, "2024-05-01T17:30:00+05:30")
        // Too few fraction digits for the nanoseconds: more are written, never rounded away.
        XCTAssertEqual(Timestamp(seconds: 0, nanoseconds: 120_000_000).rfc3339, "1970-01-01T00:00:00.12Z")
        XCTAssertEqual(Timestamp(seconds: 0, nanoseconds: 1, fractionDigits: 3).rfc3339, "1970-01-01T00:00:00.000000001Z")
        XCTAssertEqual(Timestamp(seconds: 0, nanoseconds: 0, fractionDigits: 6).rfc3339, "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(Timestamp(seconds: 86_400 * 365).description, "1971-01-01T00:00:00Z")
    }

    func testNowIsRecentUTCWithNanoseconds() {
        let now = Timestamp.now()
        XCTAssertGreaterThan(now.seconds, 1_700_000_000)
        XCTAssertEqual(now.offsetMinutes, 0)
        XCTAssertEqual(now.fractionDigits, 9)
        XCTAssertEqual(Timestamp(rfc3339: now.rfc3339), now)
    }

    // MARK: CalendarDate

    func testCalendarDateDaysSinceEpoch() throws {
        XCTAssertEqual(CalendarDate(iso: "1970-01-01")?.daysSinceEpoch, 0)
        XCTAssertEqual(CalendarDate(iso: "2000-03-01")?.daysSinceEpoch, 11_017)
        XCTAssertEqual(CalendarDate(iso: "0001-01-01")?.daysSinceEpoch, -719_162)
        XCTAssertEqual(CalendarDate(iso: "9999-12-31")?.daysSinceEpoch, 2_932_896)
        // Every day of 1900...2100, and every 37th day of 0000...9999,
        // round-trips and sorts in order.
        let first = try XCTUnwrap(CalendarDate(iso: "0000-01-01")).daysSinceEpoch
        let everyDay = try XCTUnwrap(CalendarDate(iso: "1900-01-01")).daysSinceEpoch...47_846
        var previous = CalendarDate(daysSinceEpoch: first - 1)
        for days in Array(stride(from: first, through: 2_932_896, by: 37)) + Array(everyDay) {
            if days <= previous.daysSinceEpoch { previous = CalendarDate(daysSinceEpoch: days - 1) }
            let date = CalendarDate(daysSinceEpoch: days)
            guard date.daysSinceEpoch == days, previous < date, CalendarDate(iso: date.iso) == date else {
                return XCTFail("day \(days) gives \(date), after \(previous)")
            }
            previous = date
        }
        XCTAssertEqual(previous.iso, "2100-12-31")
    }

    func testCalendarDateValidation() {
        XCTAssertEqual(CalendarDate(iso: "2020-02-29")?.iso, "2020-02-29")
        XCTAssertNil(CalendarDate(iso: "2021-02-29"))
        XCTAssertNil(CalendarDate(iso: "1900-02-29"))
        XCTAssertNotNil(CalendarDate(iso: "2000-02-29"))
        XCTAssertNil(CalendarDate(year: 2024, month: 0, day: 1))
        XCTAssertNil(CalendarDate(year: 2024, month: 4, day: 31))
        XCTAssertEqual(CalendarDate(year: 2024, month: 4, day: 30)?.description, "2024-04-30")
        XCTAssertLessThan(CalendarDate(iso: "2024-04-30")!, CalendarDate(iso: "2024-05-01")!)
    }

    // MARK: Helpers

    /// The string cases of one `optional/format` file of the JSON Schema Test
    /// Suite, read with our own parser.
    private func formatCases(_ file: String) throws -> [(String, String, Bool)] {
        let folder = try SharedTestData.folder("json-schema/draft2020-12/optional/format")
        let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent(file)))
        var cases: [(String, String, Bool)] = []
        for group in try XCTUnwrap(try JSONParser.parse(bytes).arrayValue) {
            for test in try XCTUnwrap(group.objectValue?["tests"]?.arrayValue) {
                guard let object = test.objectValue, let text = object["data"]?.stringValue else { continue }
                cases.append((object["description"]?.stringValue ?? "", text, try XCTUnwrap(object["valid"]?.boolValue)))
            }
        }
        return cases
    }
}

