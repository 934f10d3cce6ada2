import XCTest

@testable import CareerEvents

/// The embedded ISO 4217, ISO 3166-1 and IANA lists behind `x-code-list`.
final class SchemaCodeListTests: XCTestCase {
    func testListsAreSortedUniqueAndWellFormed() {
        for (list, length) in [(ISOCodes.currencies, 3), (ISOCodes.countries, 2)] {
            XCTAssertEqual(list, list.sorted())
            XCTAssertEqual(Set(list).count, list.count)
            XCTAssertTrue(list.allSatisfy { $0.count == length && $0.allSatisfy { ("A"..."Z").contains($0) } })
        }
        XCTAssertEqual(ISOCodes.timeZones, ISOCodes.timeZones.sorted())
        XCTAssertEqual(Set(ISOCodes.timeZones).count, ISOCodes.timeZones.count)
        XCTAssertEqual(ISOCodes.currencies.count, 179)
        XCTAssertEqual(ISOCodes.countries.count, 249)
        XCTAssertEqual(ISOCodes.timeZones.count, 597)
    }

    func testCurrencies() {
        for code in ["EUR", "USD", "GBP", "JPY", "CHF", "INR", "XCG", "ZWG", "SLE", "VES", "VED", "BOV", "XXX"] {
            XCTAssertTrue(ISOCodes.isCurrency(code), code)
        }
        // Withdrawn (HRK 2023, ANG 2025, ZWL 2024, SLL, MRO, VEF), unassigned, or malformed.
        for code in ["HRK", "ANG", "ZWL", "SLL", "MRO", "VEF", "XYZ", "BTC", "eur", "EU", "EURO", "", "ÉUR", "E R"] {
            XCTAssertFalse(ISOCodes.isCurrency(code), code)
        }
        XCTAssertEqual(ISOCodes.currencies.filter(ISOCodes.isCurrency).count, ISOCodes.currencies.count)
    }

    func testCountries() {
        for code in ["GB", "FR", "US", "DE", "IN", "BR", "SS", "CW", "AX", "AQ"] {
            XCTAssertTrue(ISOCodes.isCountry(code), code)
        }
        for code in ["UK", "XK", "EU", "ZZ", "gb", "G", "GBR", ""] {
            XCTAssertFalse(ISOCodes.isCountry(code), code)
        }
    }

    func testTimeZones() {
        for name in ["Europe/Paris", "America/Argentina/Buenos_Aires", "Asia/Kolkata", "Asia/Calcutta", "UTC", "Etc/UTC",
                     "Etc/GMT+1", "US/Pacific", "Europe/Kyiv", "Europe/Kiev", "America/Port-au-Prince", "EST5EDT"] {
            XCTAssertTrue(ISOCodes.isTimeZone(name), name)
        }
        // Not IANA names, though Foundation on Linux accepts some of them.
        for name in ["GMT+1", "PST", "europe/paris", "Europe/Paris ", "Mars/Olympus_Mons", "Factory", "+01:00", "Z", ""] {
            XCTAssertFalse(ISOCodes.isTimeZone(name), name)
        }
    }
}
