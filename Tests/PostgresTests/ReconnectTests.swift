import Foundation
import Logging
import Postgres
import TestSupport
import XCTest

final class ReconnectTests: XCTestCase {
    /// Small delays so the tests wait milliseconds, not seconds.
    private let quickPolicy = ReconnectPolicy(delayMsInitial: 20, delayMsMax: 200, attemptsMax: 200)

    func testBackoffDoublesFromTheInitialDelayToTheCapWithJitter() {
        let policy = ReconnectPolicy()
        var random = SystemRandomNumberGenerator()
        let ceilings = [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]
        for (index, ceiling) in ceilings.enumerated() {
            for _ in 0..<200 {
                let delay = policy.delayMs(afterFailures: index + 1, using: &random)
                XCTAssertTrue((ceiling / 2)...ceiling ~= delay, "failure \(index + 1): \(delay) ms outside \(ceiling / 2)...\(ceiling)")
            }
        }
        XCTAssertEqual(policy.delayMs(afterFailures: 1_000_000, using: &random) <= 5_000, true)
        let draws = Set((0..<200).map { _ in policy.delayMs(afterFailures: 7, using: &random) })
        XCTAssertGreaterThan(draws.count, 50, "jitter spreads the delays")
    }

    func testServerRestartBreaksTheConnectionAndWithReconnectRecovers() throws {
        let cluster = try TestCluster.cluster()
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (41);")
        try cluster.stop()
        try cluster.start()

        XCTAssertThrowsError(try connection.query("SELECT x FROM t")) { error in
            let error = error as! PostgresError
            XCTAssertTrue(error.isConnectionFailure, "\(error)")
        }
        XCTAssertFalse(connection.isConnected)

        let value = try connection.withReconnect(policy: quickPolicy) { connection in
            try connection.query("SELECT x + 1 AS y FROM t").first?["y"]
        }
        XCTAssertEqual(value, "42")
        XCTAssertTrue(connection.isConnected)
    }

    func testWithReconnectWaitsForAServerThatIsStillDown() throws {
        let cluster = try TestCluster.cluster()
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (x int)")
        try cluster.stop()
        let restarted = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            usleep(800_000)
            _ = try? cluster.start()
            restarted.signal()
        }
        let handler = RecordingLogHandler()
        let logger = Logger(label: "test") { _ in handler }
        var calls = 0
        let inserted = try connection.withReconnect(policy: quickPolicy, logger: logger) { connection in
            calls += 1
            return try connection.transaction { tx in try tx.query("INSERT INTO t VALUES (1)").affectedRows }
        }
        restarted.wait()
        XCTAssertEqual(inserted, 1)
        XCTAssertEqual(calls, 2, "the body runs once against the stopped server, then once more after reconnecting")
        XCTAssertEqual(try connection.query("SELECT count(*) AS n FROM t").first?["n"], "1")
        let warnings = handler.messages.filter { $0.hasPrefix("warning: PostgreSQL unavailable") }
        XCTAssertGreaterThan(warnings.count, 1, "reconnect attempts fail while the server is down: \(handler.messages)")
        XCTAssertEqual(handler.messages.last, "info: reconnected to PostgreSQL")
    }

    func testWithReconnectGivesUpAfterAttemptsMax() throws {
        let cluster = try TestCluster.cluster()
        let connection = try TestCluster.connect().0
        try cluster.stop()
        defer { XCTAssertNoThrow(try cluster.start()) }
        var calls = 0
        let policy = ReconnectPolicy(delayMsInitial: 10, delayMsMax: 20, attemptsMax: 3)
        XCTAssertThrowsError(try connection.withReconnect(policy: policy) { connection in
            calls += 1
            return try connection.query("SELECT 1")
        }) { error in
            XCTAssertTrue((error as? PostgresError)?.isConnectionFailure == true, "\(error)")
        }
        XCTAssertEqual(calls, 1, "later attempts fail while reconnecting, before the body")
    }

    func testWithReconnectRethrowsOtherErrorsAtOnce() throws {
        let connection = try TestCluster.connect().0
        var calls = 0
        XCTAssertThrowsError(try connection.withReconnect(policy: quickPolicy) { connection in
            calls += 1
            try connection.execute("SELEC 1")
        }) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "42601")
        }
        XCTAssertEqual(calls, 1)
    }
}
