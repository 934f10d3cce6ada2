import Replay
import XCTest

final class AsOfRequestTests: XCTestCase {
    func testATimeIsKeptAsWrittenAndADateMeansTheEndOfThatUTCDay() throws {
        XCTAssertEqual(try AsOfRequest(prefix: "june", asOf: "2025-06-30T22:04:24+02:00", asOfSeq: nil).untilTime, "2025-06-30T22:04:24+02:00")
        let byDate = try AsOfRequest(prefix: "june_2", asOf: "2025-06-30", asOfSeq: nil)
        XCTAssertEqual(byDate.untilTime, "2025-06-30T23:59:59.999999Z")
        XCTAssertNil(byDate.untilSeq)
        let bySeq = try AsOfRequest(prefix: "p", asOf: nil, asOfSeq: 42)
        XCTAssertEqual(bySeq, try AsOfRequest(prefix: "p", asOf: nil, asOfSeq: 42))
        XCTAssertEqual(bySeq.untilSeq, 42)
        XCTAssertNil(bySeq.untilTime)
    }

    func testBadRequestsSayWhatIsWrong() {
        let cases: [(String, String?, UInt64?, String)] = [
            ("p", nil, nil, "--into needs exactly one of --as-of TIME or --as-of-seq N"),
            ("p", "2025-01-01", 3, "--into needs exactly one of --as-of TIME or --as-of-seq N"),
            ("June", "2025-01-01", nil, "--into takes lower-case letters, digits and _, starting with a letter, at most 20 characters"),
            ("1june", "2025-01-01", nil, "--into takes lower-case letters, digits and _, starting with a letter, at most 20 characters"),
            (String(repeating: "a", count: 21), nil, 1, "--into takes lower-case letters, digits and _, starting with a letter, at most 20 characters"),
            ("p", "2025-13-01", nil, "--as-of must be an RFC 3339 time or a date YYYY-MM-DD, got 2025-13-01"),
        ]
        for (prefix, asOf, asOfSeq, message) in cases {
            XCTAssertThrowsError(try AsOfRequest(prefix: prefix, asOf: asOf, asOfSeq: asOfSeq), prefix) { error in
                XCTAssertEqual((error as? ReplayError)?.message, message)
            }
        }
    }
}
