import Foundation
import TestSupport
import XCTest

@testable import Postgres

/// What `careerlog db status` and friends print about a cluster.
final class EmbeddedClusterReportTests: XCTestCase {
    func testACreatedNowhereClusterSaysHowToCreateOne() {
        let data = makeTemporaryDirectory()
        let cluster = EmbeddedCluster(directory: data + "/postgres")
        let (status, line) = cluster.statusLine()
        XCTAssertEqual(status, .notInitialized)
        XCTAssertEqual(line, "not-initialized directory=\(data)/postgres")
        XCTAssertEqual(cluster.notInitializedMessage("nothing to stop"),
                       "no PostgreSQL cluster in \(data)/postgres: nothing to stop (check --data-dir; `careerlog db start --data-dir \(data)` creates one)")
    }

    func testARunningClusterNamesItsPidURLAndStarter() throws {
        let cluster = try TestCluster.cluster()
        let (status, line) = cluster.statusLine()
        guard case .running(let pid) = status else { return XCTFail("the test cluster is \(status)") }
        XCTAssertEqual(line, "running pid=\(pid) url=\(cluster.url) started-by=careerlog (pid \(getpid()))")
        XCTAssertEqual(try PostgresConnection(url: cluster.url).serverAddress(), "unix socket:\(EmbeddedCluster.port)")
    }
}
