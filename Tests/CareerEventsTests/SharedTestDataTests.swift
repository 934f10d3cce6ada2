import Foundation
import TestSupport
import XCTest

/// A conformance suite that cannot be found must fail the run where it is
/// required (CI), and be a named skip elsewhere, never a silent pass.
final class SharedTestDataTests: XCTestCase {
    func testMissingSuiteFailsWhenRequired() throws {
        let previous = ProcessInfo.processInfo.environment[SharedTestData.requiredVariable]
        defer { restore(previous) }
        setenv(SharedTestData.requiredVariable, "1", 1)
        XCTAssertThrowsError(try SharedTestData.folder("no-such-suite")) { error in
            guard let missing = error as? SharedTestData.Missing else { return XCTFail("expected Missing, got \(error)") }
            XCTAssertEqual(missing.relative, "no-such-suite")
            XCTAssertTrue(missing.searched.allSatisfy { $0.hasSuffix("/shared/testdata/no-such-suite") }, "\(missing.searched)")
        }
    }

    func testMissingSuiteIsANamedSkipOtherwise() throws {
        let previous = ProcessInfo.processInfo.environment[SharedTestData.requiredVariable]
        defer { restore(previous) }
        unsetenv(SharedTestData.requiredVariable)
        XCTAssertThrowsError(try SharedTestData.folder("no-such-suite")) { error in
            guard let skip = error as? XCTSkip else { return XCTFail("expected XCTSkip, got \(error)") }
            XCTAssertTrue("\(skip)".contains("shared/testdata/no-such-suite"), "\(skip)")
        }
    }

    func testPresentSuiteIsFound() throws {
        let folder = try SharedTestData.folder("json-parsing")
        XCTAssertTrue(folder.path.hasSuffix("/shared/testdata/json-parsing"))
    }

    private func restore(_ value: String?) {
        if let value { setenv(SharedTestData.requiredVariable, value, 1) } else { unsetenv(SharedTestData.requiredVariable) }
    }
}
