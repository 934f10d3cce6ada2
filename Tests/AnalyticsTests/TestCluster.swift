import Foundation
import XCTest

@testable import Postgres

// A copy of Tests/PostgresTests/TestCluster.swift's cluster (trimmed), until
// the test helpers move into one TestSupport target.

/// One private PostgreSQL cluster per test process, started on first use,
/// stopped and deleted when the process exits. Each test gets its own database.
enum TestCluster {
    private static let shared: Result<EmbeddedCluster, EmbeddedClusterError> = {
        let cluster = EmbeddedCluster(directory: makeTemporaryDirectory(prefix: "careerlog-an") + "/postgres")
        atexit { TestCluster.shutdown() }
        do throws(EmbeddedClusterError) {
            try cluster.start()
            return .success(cluster)
        } catch {
            return .failure(error)
        }
    }()

    /// A connection to a new, empty database for one test.
    static func connect() throws -> (PostgresConnection, url: String) {
        if case .failure(let error) = shared, error.code == .postgresNotInstalled {
            XCTFail("PostgreSQL's server programs are needed by these tests: run Tools/setup.sh. \(error)")
        }
        let cluster = try shared.get()
        let name = "t_" + UUID().uuidString.prefix(8).lowercased()
        try PostgresConnection(url: cluster.url).execute("CREATE DATABASE \(name)")
        let url = cluster.url(database: name)
        return (try PostgresConnection(url: url), url)
    }

    private static func shutdown() {
        guard case .success(let cluster) = shared else { return }
        try? cluster.stop()
        try? FileManager.default.removeItem(atPath: (cluster.directory as NSString).deletingLastPathComponent)
    }
}

/// A fresh directory under /tmp, searchable by everyone (0755) so that the
/// `postgres` account reaches a cluster inside it when the tests run as root.
func makeTemporaryDirectory(prefix: String) -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed: \(String(cString: strerror(errno)))")
    let path = String(cString: made!)
    chmod(path, 0o755)
    return path
}
