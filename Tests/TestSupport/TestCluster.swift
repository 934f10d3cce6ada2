import Foundation
import Logging
import Postgres
import XCTest

/// One private PostgreSQL cluster per test process, started on first use in
/// a temporary directory through `EmbeddedCluster` (as root it runs as the
/// `postgres` account, as in CI), shared by every test of the process, and
/// stopped and deleted when the process exits. Each test gets its own
/// database, so tests never see each other's tables.
public enum TestCluster {
    private static let shared: Result<EmbeddedCluster, EmbeddedClusterError> = {
        let cluster = EmbeddedCluster(directory: makeTemporaryDirectory("postgres") + "/postgres")
        atexit { TestCluster.shutdown() }
        do throws(EmbeddedClusterError) {
            try cluster.start()
            return .success(cluster)
        } catch {
            return .failure(error)
        }
    }()

    /// The shared cluster; fails the calling test with what to do when
    /// PostgreSQL's server programs are missing.
    public static func cluster() throws -> EmbeddedCluster {
        if case .failure(let error) = shared, error.code == .postgresNotInstalled {
            XCTFail("PostgreSQL's server programs are needed by these tests: run Tools/setup.sh. \(error)")
        }
        return try shared.get()
    }

    /// A new, empty database; returns its URL.
    public static func makeDatabase() throws -> String {
        let cluster = try cluster()
        let name = "t_" + UUID().uuidString.prefix(8).lowercased()
        try PostgresConnection(url: cluster.url).execute("CREATE DATABASE \(name)")
        return cluster.url(database: name)
    }

    /// A connection to a new, empty database, and its URL.
    public static func connect() throws -> (PostgresConnection, url: String) {
        let url = try makeDatabase()
        return (try PostgresConnection(url: url), url)
    }

    private static func shutdown() {
        guard case .success(let cluster) = shared else { return }
        try? cluster.stop()
        try? FileManager.default.removeItem(atPath: (cluster.directory as NSString).deletingLastPathComponent)
    }
}

/// Keeps log messages so a test can check, or wait for, what was reported.
public final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]

    public init() {}

    public var messages: [String] { lock.withLock { recorded } }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        lock.withLock { recorded.append("\(event.level): \(event.message)") }
    }

    /// True once a message containing `text` was logged.
    public func contains(_ text: String) -> Bool { messages.contains { $0.contains(text) } }
}

extension Logger {
    /// A logger that records into `handler`.
    public static func recording(into handler: RecordingLogHandler) -> Logger {
        Logger(label: "careerlog.tests", factory: { _ in handler })
    }
}
