import XCTest

@testable import Runtime

/// Where `--data-dir` and `$CAREERLOG_DATA_DIR` lead, and the names of the directory's parts.
final class DataDirectoryTests: XCTestCase {
    func testOptionThenEnvironmentThenCurrentDirectory() {
        let environment = ["CAREERLOG_DATA_DIR": "/srv/env"]
        XCTAssertEqual(DataDirectory(option: "/srv/option", environment: environment, currentDirectory: "/home/u").path, "/srv/option")
        XCTAssertEqual(DataDirectory(option: nil, environment: environment, currentDirectory: "/home/u").path, "/srv/env")
        XCTAssertEqual(DataDirectory(option: nil, environment: ["CAREERLOG_DATA_DIR": ""], currentDirectory: "/home/u").path, "/home/u/.careerlog")
        XCTAssertEqual(DataDirectory(option: nil, environment: [:], currentDirectory: "/home/u").path, "/home/u/.careerlog")
    }

    func testPartsOfTheDirectory() {
        let directory = DataDirectory(path: "/srv/cl")
        XCTAssertEqual(directory.logDirectory, "/srv/cl/log")
        XCTAssertEqual(directory.ingestSocket, "/srv/cl/ingest.sock")
        XCTAssertEqual(directory.keysDirectory, "/srv/cl/keys")
        XCTAssertEqual(directory.embeddedCluster.directory, "/srv/cl/postgres")
    }
}
