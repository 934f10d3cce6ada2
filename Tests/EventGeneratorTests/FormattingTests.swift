import CareerEvents
import XCTest

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@testable import EventGenerator

/// The generator formats UUIDs, times and numbers itself (the fast path
/// writes bytes directly); these check it against CareerEvents' own
/// formatters and parsers, and against known values.
final class FormattingTests: XCTestCase {
    static func foundationUUID(_ value: UUID128) -> UUID {
        var bytes: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value.high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value.low >> UInt64(shift))) }
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    func testUUIDsAreLowerCaseCanonicalVersion4() {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<2_000 {
            let value = rng.uuid()
            XCTAssertTrue(HistoryAudit.isCanonicalV4(value.string), value.string)
            XCTAssertEqual(value.string, UUIDText.string(Self.foundationUUID(value)))
            XCTAssertEqual(UUIDText.parse(value.string), Self.foundationUUID(value))
        }
        let fixed = UUID128(randomHigh: 0x0123_4567_89AB_CDEF, randomLow: 0xFEDC_BA98_7654_3210)
        XCTAssertEqual(fixed.string, "01234567-89ab-4def-bedc-ba9876543210")
    }

    func testTimestampsMatchCareerEventsFormatting() {
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_704_067_199_999, "2023-12-31T23:59:59.999Z"),
            (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
            (1_709_251_199_001, "2024-02-29T23:59:59.001Z"),
            (4_102_444_800_000, "2100-01-01T00:00:00.000Z"),
        ]
        for (millis, expected) in cases {
            var bytes: [UInt8] = []
            CivilTime.writeTimestamp(millis, into: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), expected)
            let stamp = Timestamp(seconds: millis / 1000, nanoseconds: UInt32(millis % 1000) * 1_000_000, fractionDigits: 3)
            XCTAssertEqual(stamp.rfc3339, expected)
            XCTAssertEqual(Timestamp(rfc3339: expected), stamp)
        }
        var rng = SplitMix64(seed: 2)
        for _ in 0..<2_000 {
            let millis = Int64(rng.below(4_000_000_000_000))
            var bytes: [UInt8] = []
            CivilTime.writeTimestamp(millis, into: &bytes)
            let stamp = Timestamp(seconds: millis / 1000, nanoseconds: UInt32(millis % 1000) * 1_000_000, fractionDigits: 3)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), stamp.rfc3339)
        }
    }

    func testCalendarArithmetic() {
        for day in stride(from: Int64(-800), through: 50_000, by: 7) {
            let date = CivilTime.date(epochDay: day)
            XCTAssertEqual(CivilTime.epochDay(year: date.year, month: date.month, day: date.day), day)
            let theirs = CalendarDate(daysSinceEpoch: Int(day))
            XCTAssertEqual([date.year, date.month, date.day], [theirs.year, theirs.month, theirs.day])
            var bytes: [UInt8] = []
            CivilTime.writeDate(day, into: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), theirs.iso)
        }
        let january31 = CivilTime.Date(year: 2024, month: 1, day: 31)
        XCTAssertEqual(CivilTime.adding(months: 1, to: january31), CivilTime.Date(year: 2024, month: 2, day: 29))
        XCTAssertEqual(CivilTime.adding(months: 13, to: january31), CivilTime.Date(year: 2025, month: 2, day: 28))
        XCTAssertEqual(CivilTime.adding(months: 12, to: CivilTime.Date(year: 2024, month: 2, day: 29)),
                       CivilTime.Date(year: 2025, month: 2, day: 28), "a certificate issued on Feb 29 expires on Feb 28")
        var cohort: [UInt8] = []
        CivilTime.writeMonth(1_709_251_199_001, into: &cohort)
        XCTAssertEqual(String(decoding: cohort, as: UTF8.self), "2024-02")
    }

    func testDecimalText() {
        func text(_ write: (inout [UInt8]) -> Void) -> String {
            var bytes: [UInt8] = []
            write(&bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        XCTAssertEqual([0, 1, 2, 3, 4, 5, 11].map { units in text { DecimalText.writeQuarters(units, into: &$0) } },
                       ["0", "0.25", "0.5", "0.75", "1", "1.25", "2.75"])
        XCTAssertEqual([0, 1, 10, 99, 100, 4999, 12050].map { units in text { DecimalText.writeCents(units, into: &$0) } },
                       ["0", "0.01", "0.1", "0.99", "1", "49.99", "120.5"])
        XCTAssertEqual([0, 7, 10, -42, 1_234_567_890, Int.max, Int.min].map { value in text { DecimalText.writeInteger(value, into: &$0) } },
                       ["0", "7", "10", "-42", "1234567890", String(Int.max), String(Int.min)])
    }

    func testSinksAgreeOnAnEvent() {
        func write<S: EventSink>(_ sink: inout S) {
            sink.beginEvent("learning.progressed", id: UUID128(derivedFrom: 1), source: .skillsync,
                            subject: UUID128(derivedFrom: 2), time: 1_709_251_199_001)
            sink.key("activity_id"); sink.uuid(UUID128(derivedFrom: 3))
            sink.key("list"); sink.beginArray(); sink.integer(1); sink.beginObject(); sink.endObject(); sink.string("a\"b\n"); sink.endArray()
            sink.key("hours"); sink.quarterHours(6)
            sink.key("cost"); sink.money(0, currency: 2)
            sink.key("on"); sink.date(19_782)
            sink.key("cohort"); sink.month(1_709_251_199_001)
            sink.key("ok"); sink.bool(false)
            sink.endEvent()
        }
        var scratch = [UInt8](repeating: 0, count: 1024)
        let text = scratch.withUnsafeMutableBufferPointer { buffer in
            var bytes = ByteSink(buffer: buffer)
            write(&bytes)
            return String(decoding: bytes.written, as: UTF8.self)
        }
        var values = ValueSink()
        write(&values)
        XCTAssertEqual(values.result?.compactString, text)
        XCTAssertTrue(text.hasPrefix(#"{"id":""#))
        XCTAssertTrue(text.contains(#","dataversion":1,"data":{"activity_id":""#))
        XCTAssertTrue(text.hasSuffix(#""list":[1,{},"a\"b\n"],"hours":1.5,"cost":{"amount":0,"currency":"GBP"},"on":"2024-02-29","cohort":"2024-02","ok":false}}"#), text)
    }

    /// Vocabulary goes out through `plainString`, unescaped: it must not
    /// contain anything JSON would need to escape.
    func testVocabularyIsPlainJSONText() {
        var entries: [StaticString] = Vocabulary.roles + Vocabulary.companies + Vocabulary.industries + Vocabulary.providers
        entries += Vocabulary.projectTitles + Vocabulary.mentorshipGoals + Vocabulary.sessionTopics + Vocabulary.careerGoals
        entries += Vocabulary.degrees + Vocabulary.institutions + Vocabulary.erasureReasons + Vocabulary.mentorRoles
        entries += Vocabulary.recruiterRoles + Vocabulary.stages.dropFirst()
        entries += Vocabulary.skills.map(\.name) + Vocabulary.certificates.flatMap { [$0.name, $0.issuer] }
        entries += Vocabulary.cities.flatMap { [$0.name, $0.country, $0.timezone] } + Vocabulary.currencies.map(\.code)
        entries += Vocabulary.programs.flatMap { [$0.name, $0.careerPath] }
        for entry in entries {
            let text = entry.description
            XCTAssertFalse(text.isEmpty)
            XCTAssertFalse(text.utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }, text)
        }
        for city in Vocabulary.cities {
            XCTAssertTrue(ISOCodes.isCountry(city.country.description), "\(city.country)")
            XCTAssertTrue(ISOCodes.isTimeZone(city.timezone.description), "\(city.timezone)")
        }
        for currency in Vocabulary.currencies {
            XCTAssertTrue(ISOCodes.isCurrency(currency.code.description), "\(currency.code)")
        }
        for name in Vocabulary.firstNames + Vocabulary.lastNames {
            XCTAssertTrue(name.ascii.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }, name.ascii)
        }
    }
}
