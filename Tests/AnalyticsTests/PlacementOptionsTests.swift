import Analytics
import XCTest

/// The placement options' rule, shared by `careerlog analytics placement`
/// and `/api/analytics/placement`.
final class PlacementOptionsTests: XCTestCase {
    func testAProgramAloneMeansByProgramElseByCohort() {
        XCTAssertEqual(AnalyticsQuery.PlacementGrouping.implied(cohort: nil, program: nil), .cohort)
        XCTAssertEqual(AnalyticsQuery.PlacementGrouping.implied(cohort: nil, program: "P"), .program)
        XCTAssertEqual(AnalyticsQuery.PlacementGrouping.implied(cohort: "2024-03", program: nil), .cohort)
        XCTAssertEqual(AnalyticsQuery.PlacementGrouping.implied(cohort: "2024-03", program: "P"), .cohort)
    }

    func testEachGroupingTakesTheOptionThatSelectsItsRows() {
        XCTAssertEqual(AnalyticsQuery.placement(by: .cohort, cohort: "2024-03", program: "P"),
                       .placement(by: .cohort, value: "2024-03", program: "P"))
        XCTAssertEqual(AnalyticsQuery.placement(by: .program, cohort: nil, program: "P"),
                       .placement(by: .program, value: "P", program: nil))
        XCTAssertEqual(AnalyticsQuery.placement(by: .industry, cohort: nil, program: nil),
                       .placement(by: .industry, value: nil, program: nil))
        XCTAssertNotEqual(AnalyticsQuery.placement(by: .cohort, cohort: nil, program: "P"),
                          .placement(by: .cohort, value: nil, program: nil), "by cohort with a program reads that program's cohorts")
    }
}
