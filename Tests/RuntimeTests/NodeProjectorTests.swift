import EventLog
import Foundation
import Ingest
import Logging
import Postgres
import Projector
import TestSupport
import XCTest

@testable import Runtime

/// The node's projector thread: how it waits for PostgreSQL, that a stop
/// never waits out a backoff, and (with a real private cluster) that it
/// keeps a read model current across a restart.
final class NodeProjectorTests: XCTestCase {
    /// Counts events by type and keeps every seq: a lost or doubled event shows.
    static let counting = ProjectionDefinition(
        name: "counts", version: 1,
        schemaSQL: "CREATE TABLE {{schema}}.seen (seq bigint PRIMARY KEY, type text NOT NULL);",
        applySQL: "INSERT INTO {{schema}}.seen (seq, type) SELECT seq, type FROM batch_events;")

    /// A first delay far longer than any test waits: a stop that ends
    /// promptly cannot have waited it out.
    static let slowPolicy = ReconnectPolicy(delayMsInitial: 30_000, delayMsMax: 30_000, attemptsMax: .max)

    static func nodeConfiguration(_ dir: String, databaseURL: @escaping @Sendable () throws -> String) -> Node.Configuration {
        var ingest = IngestServer.Configuration()
        ingest.tcpHost = nil
        ingest.unixSocketPath = dir + "/ingest.sock"
        ingest.eventLoopThreads = 1
        var options = Projector.Options()
        options.reconnectPolicy = Self.slowPolicy
        options.pollInterval = .milliseconds(20)
        return Node.Configuration(
            logDirectory: dir + "/log", dedupeWindowEvents: 1_000, ingest: ingest, validate: nil,
            projector: ProjectorConfiguration(catalog: ProjectionCatalog(definitions: [Self.counting]), options: options,
                                              databaseURL: databaseURL))
    }

    func testAStopDoesNotWaitOutTheWaitForTheDatabase() throws {
        let dir = makeTemporaryDirectory()
        let logs = RecordingLogHandler()
        let calls = Counter()
        let node = Node(configuration: Self.nodeConfiguration(dir) {
            calls.increment()
            throw PostgresError(code: .connection, message: "no server here (test)")
        }, logger: .recording(into: logs))
        _ = try node.start()
        waitUntil("the node reports PostgreSQL unavailable: \(logs.messages)") { logs.contains("PostgreSQL for the read models is not available; retrying") }
        let stopping = ContinuousClock.now
        node.stop()
        try node.waitUntilStopped()
        XCTAssertLessThan(ContinuousClock.now - stopping, .seconds(5), "the stop waited for the retry delay")
        XCTAssertEqual(calls.value, 1, "retried before the policy's delay")
        XCTAssertTrue(logs.contains("projector stopped"))
    }

    func testAStopDoesNotWaitOutTheProjectorsBackoff() throws {
        let dir = makeTemporaryDirectory()
        let logs = RecordingLogHandler()
        // A URL whose server is not there: the projector fails to connect and backs off.
        let deadURL = "postgresql:///careerlog?host=\(dir)/no-server&connect_timeout=2"
        let node = Node(configuration: Self.nodeConfiguration(dir) { deadURL }, logger: .recording(into: logs))
        _ = try node.start()
        waitUntil("the projector reports PostgreSQL unavailable") { logs.contains("PostgreSQL unavailable; the projector waits") }
        let stopping = ContinuousClock.now
        node.stop()
        try node.waitUntilStopped()
        XCTAssertLessThan(ContinuousClock.now - stopping, .seconds(5), "the stop waited for the projector's backoff")
    }

    func testTheProjectorKeepsAReadModelCurrentAcrossARestart() throws {
        let url = try RuntimeTestDatabase.makeDatabase()
        let dir = makeTemporaryDirectory()
        let lines = generatedLines(300)
        let socket = IngestEndpoint.unix(path: dir + "/ingest.sock")
        let check = try PostgresConnection(url: url)
        func seen() throws -> [String] {
            guard try check.query("SELECT 1 FROM pg_tables WHERE schemaname = 'counts' AND tablename = 'seen'").count == 1 else { return [] }
            return try check.query("SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM counts.seen").first!.values.map { $0 ?? "" }
        }

        for (round, range) in [0..<200, 200..<300].enumerated() {
            let node = Node(configuration: Self.nodeConfiguration(dir) { url }, logger: Logger(label: "test"))
            XCTAssertEqual(try node.start().lastSeq, UInt64(range.lowerBound))
            let answers = try exchange(Array(lines[range]), with: socket)
            XCTAssertEqual(answers.compactMap(\.seq), range.map { UInt64($0 + 1) })
            let expected = ["\(range.upperBound)", "1", "\(range.upperBound)"]
            var last: [String] = []
            try waitUntil("round \(round) sees \(expected) events") { last = try seen(); return last == expected }
            node.stop()
            try node.waitUntilStopped()
        }
    }
}

/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// One private PostgreSQL cluster for this test process (as root it runs as
/// the `postgres` account, as in CI), a new database per test.
enum RuntimeTestDatabase {
    static let cluster: Result<EmbeddedCluster, EmbeddedClusterError> = {
        let cluster = EmbeddedCluster(directory: makeTemporaryDirectory("runtimepg") + "/postgres")
        atexit {
            guard case .success(let cluster) = RuntimeTestDatabase.cluster else { return }
            try? cluster.stop()
            try? FileManager.default.removeItem(atPath: (cluster.directory as NSString).deletingLastPathComponent)
        }
        do throws(EmbeddedClusterError) {
            try cluster.start()
            return .success(cluster)
        } catch {
            return .failure(error)
        }
    }()

    static func makeDatabase() throws -> String {
        let cluster = try cluster.get()
        let name = "r_" + UUID().uuidString.prefix(8).lowercased()
        try PostgresConnection(url: cluster.url).execute("CREATE DATABASE \(name)")
        return cluster.url.replacingOccurrences(of: "@/careerlog?", with: "@/\(name)?")
    }
}
