import Foundation
import Logging
import XCTest

@testable import Postgres

/// One private PostgreSQL cluster per test process, started on first use in
/// a temporary directory through `EmbeddedCluster` (so as root it runs as the
/// `postgres` account, as in CI), shared by every test, and stopped and
/// deleted when the process exits. Each test gets its own database.
enum TestCluster {
    private static let shared: Result<EmbeddedCluster, EmbeddedClusterError> = {
        let cluster = EmbeddedCluster(directory: makeTemporaryDirectory(prefix: "careerlog-pg") + "/postgres")
        atexit { TestCluster.shutdown() }
        do throws(EmbeddedClusterError) {
            try cluster.start()
            return .success(cluster)
        } catch {
            return .failure(error)
        }
    }()

    /// The shared cluster; fails the calling test when PostgreSQL cannot run.
    static func cluster() throws -> EmbeddedCluster {
        try failClearlyWithoutPostgres(shared)
    }

    /// A new, empty database for one test; returns its URL.
    static func makeDatabase(for test: XCTestCase) throws -> String {
        let cluster = try cluster()
        let name = "t_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try PostgresConnection(url: cluster.url)
        try admin.execute("CREATE DATABASE \(name)")
        return cluster.url(database: name)
    }

    /// A connection to a new database for one test.
    static func connect(for test: XCTestCase) throws -> PostgresConnection {
        try PostgresConnection(url: makeDatabase(for: test))
    }

    private static func shutdown() {
        guard case .success(let cluster) = shared else { return }
        try? cluster.stop()
        try? FileManager.default.removeItem(atPath: (cluster.directory as NSString).deletingLastPathComponent)
    }
}

/// The cluster, or its error, failing the test with what to do when
/// PostgreSQL is not installed.
func failClearlyWithoutPostgres(_ result: Result<EmbeddedCluster, EmbeddedClusterError>) throws -> EmbeddedCluster {
    if case .failure(let error) = result, error.code == .postgresNotInstalled {
        XCTFail("PostgreSQL's server programs are needed by these tests: run Tools/setup.sh. \(error)")
    }
    return try result.get()
}

/// A fresh directory under /tmp. Searchable by everyone (0755), so that the
/// `postgres` account can reach a cluster inside it when the tests run as root.
func makeTemporaryDirectory(prefix: String) -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed: \(String(cString: strerror(errno)))")
    let path = String(cString: made!)
    chmod(path, 0o755)
    return path
}

/// Keeps log messages so a test can check what was reported.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    var messages: [String] { lock.withLock { recorded } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.withLock { recorded.append("\(event.level): \(event.message)") }
    }
}
