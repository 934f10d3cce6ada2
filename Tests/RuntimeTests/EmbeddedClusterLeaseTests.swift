import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Runtime

/// The private cluster lives as long as the command that started it: a
/// lease stops what it started, keeps what `keep` asks to keep, and leaves
/// alone a cluster it found running.
final class EmbeddedClusterLeaseTests: XCTestCase {
    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    func testALeaseStopsTheClusterItStartedAndOnlyThat() throws {
        let cluster = EmbeddedCluster(directory: makeTemporaryDirectory() + "/postgres")
        let lease = EmbeddedClusterLease(stopsOnInterrupt: false)
        let outcome = try lease.acquire(cluster, keep: false)
        XCTAssertTrue(outcome.startedNow)
        XCTAssertEqual(outcome.url, cluster.url)
        guard case .running = cluster.status() else { return XCTFail("not running after acquire: \(cluster.status())") }
        // The starter names the command words and this pid; the cluster keeps
        // its last 1 KiB (a test runner's "command words" can be longer).
        let startedBy = try XCTUnwrap(cluster.startedBy)
        XCTAssertTrue(startedBy.hasSuffix(" (pid \(getpid()))"), startedBy)
        XCTAssertTrue(EmbeddedClusterLease.starter.hasSuffix(startedBy), startedBy)

        // Found running: not this lease's to stop.
        let second = EmbeddedClusterLease(stopsOnInterrupt: false)
        XCTAssertFalse(try second.acquire(cluster, keep: false).startedNow)
        let secondReports = Reports()
        second.release(report: secondReports.add)
        XCTAssertEqual(secondReports.all, [])
        guard case .running = cluster.status() else { return XCTFail("a lease stopped a cluster it did not start") }

        let reports = Reports()
        lease.release(report: reports.add)
        XCTAssertEqual(cluster.status(), .stopped)
        XCTAssertEqual(reports.all, ["stopped the private PostgreSQL in \(cluster.directory) that this command started (--keep-db or `careerlog db start` keep it running)"])
        // Released once: a second release has nothing left to stop.
        lease.release(report: reports.add)
        XCTAssertEqual(reports.all.count, 1)
    }

    func testAKeptClusterKeepsRunning() throws {
        let cluster = EmbeddedCluster(directory: makeTemporaryDirectory() + "/postgres")
        defer { try? cluster.stop() }
        let lease = EmbeddedClusterLease(stopsOnInterrupt: false)
        XCTAssertTrue(try lease.acquire(cluster, keep: true).startedNow)
        let reports = Reports()
        lease.release(report: reports.add)
        guard case .running = cluster.status() else { return XCTFail("a kept cluster was stopped") }
        let data = (cluster.directory as NSString).deletingLastPathComponent
        XCTAssertEqual(reports.all, ["the private PostgreSQL in \(cluster.directory) keeps running (--keep-db); stop it with `careerlog db stop --data-dir \(data)`"])
    }
}
