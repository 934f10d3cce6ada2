import Analytics
import XCTest

/// The one month check behind `--cohort`/`--month` and the HTTP API's
/// `cohort=`/`month=`.
final class YearMonthTests: XCTestCase {
    func testOnlyFourDigitsDashTwoDigitsOfARealMonthPass() {
        for good in ["2024-01", "2024-12", "0000-06", "9999-09"] {
            XCTAssertTrue(AnalyticsQuery.isYearMonth(good), good)
        }
        for bad in ["2024-00", "2024-13", "2024-1", "24-01", "2024-001", "2024/01", "2024-01-01", "", "-", "+202-01", "2024-+1", "٢٠٢٤-01", "2024-0１"] {
            XCTAssertFalse(AnalyticsQuery.isYearMonth(bad), bad)
        }
    }
}
