import XCTest

@testable import Runtime

/// The environment settings `serve`, `status` and the PostgreSQL commands share.
final class EnvironmentSettingsTests: XCTestCase {
    func testHTTPReadTokenIsUnsetWhenEmpty() {
        XCTAssertEqual(EnvironmentSettings.httpReadToken(["CAREERLOG_HTTP_TOKEN": "s3cret"]), "s3cret")
        XCTAssertNil(EnvironmentSettings.httpReadToken(["CAREERLOG_HTTP_TOKEN": ""]))
        XCTAssertNil(EnvironmentSettings.httpReadToken([:]))
    }

    func testDatabaseURLPrefersTheOptionThenTheEnvironment() {
        let environment = ["DATABASE_URL": "postgres://env/db"]
        XCTAssertEqual(EnvironmentSettings.databaseURL(option: "postgres://option/db", environment), "postgres://option/db")
        XCTAssertEqual(EnvironmentSettings.databaseURL(option: nil, environment), "postgres://env/db")
        XCTAssertEqual(EnvironmentSettings.databaseURL(option: "", environment), "postgres://env/db")
        XCTAssertNil(EnvironmentSettings.databaseURL(option: nil, ["DATABASE_URL": ""]))
        XCTAssertNil(EnvironmentSettings.databaseURL(option: nil, [:]))
    }
}
