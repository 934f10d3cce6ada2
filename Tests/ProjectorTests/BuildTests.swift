import EventLog
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Projector

/// Rebuilds and as-of builds: how they end (failed builds say so, with the
/// seq and reason) and what they leave behind (nothing but their schemas,
/// also when their process dies).
final class BuildTests: XCTestCase {
    /// Counts like `countingProjection`, under another name: a second
    /// target, so that a rebuild works over several connections.
    private static let secondCounting: ProjectionDefinition = {
        var d = countingProjection
        d.name = "counts2"
        return d
    }()

    func testAFailingEventEndsTheAsOfBuildFailedWithItsSeqAndReason() throws {
        let f = try ProjectorFixture()
        try appendCountingEvents(f.log, count: 120, poisonAt: 77)
        let catalog = ProjectionCatalog(definitions: [countingProjection, strictProjection])
        let builder = ProjectionBuilder(url: f.url, log: f.log, catalog: catalog, logger: testLogger)
        XCTAssertThrowsError(try builder.buildAsOf(into: "june", untilSeq: 100, untilTime: nil) { _ in }) { error in
            let error = error as? ProjectorError
            XCTAssertEqual(error?.code, .eventNotApplied)
            XCTAssertEqual(error?.location, "june_strict")
            XCTAssertEqual(error?.seq, 78)  // seq = index + 1
        }
        let targets = try f.targets()
        XCTAssertEqual(targets["june_strict"]?.state, .failed)
        XCTAssertEqual(targets["june_strict"]?.failedSeq, 78)
        XCTAssertEqual(targets["june_strict"]?.checkpoint, 77)
        XCTAssertTrue(targets["june_strict"]?.failedReason?.contains("SQLSTATE 23514") == true, targets["june_strict"]?.failedReason ?? "")
        // The schema that had no bad event is complete and live.
        XCTAssertEqual(targets["june_counts"]?.state, .live)
        XCTAssertEqual(targets["june_counts"]?.checkpoint, 100)
        let status = try ProjectionStatusReport.rows(url: f.url, log: f.log, catalog: catalog)
        XCTAssertEqual(status.first { $0.schema == "june_strict" }?.state, "failed")
        XCTAssertEqual(status.first { $0.schema == "june_strict" }?.failedSeq, 78)
        // A finished as-of build reads "as-of" in status, never "live".
        XCTAssertEqual(status.first { $0.schema == "june_counts" }?.state, "as-of")
    }

    func testARebuildOverSeveralConnectionsLeavesNoTableBehind() throws {
        let f = try ProjectorFixture()
        try appendCountingEvents(f.log, count: 900)
        let catalog = ProjectionCatalog(definitions: [countingProjection, Self.secondCounting])
        let projector = Projector(url: f.url, log: f.log, catalog: catalog, logger: testLogger)
        try projector.ensureLiveTargets()
        var options = ProjectionBuilder.Options()
        options.connections = 2
        options.batchEventsMax = 250
        let builder = ProjectionBuilder(url: f.url, log: f.log, catalog: catalog, logger: testLogger, options: options)
        var sawSharedTable = false
        try builder.rebuild(["counts", "counts2"]) { _ in
            sawSharedTable = sawSharedTable || (try? f.bookkeepingTables().count) == 3
        }
        XCTAssertTrue(sawSharedTable, "the rebuild used a shared batch table")
        XCTAssertEqual(try f.bookkeepingTables(), ["analyst_roles", "projection_targets"])
        XCTAssertEqual(try f.schemas(containing: "__"), [])
        XCTAssertEqual(try f.connection.query("SELECT sum(events) FROM counts2.type_counts").first?[0], "900")
    }

    func testAnAsOfBuildLeavesOnlyItsSchemas() throws {
        let f = try ProjectorFixture()
        try appendCountingEvents(f.log, count: 300)
        let catalog = ProjectionCatalog(definitions: [countingProjection, Self.secondCounting])
        let builder = ProjectionBuilder(url: f.url, log: f.log, catalog: catalog, logger: testLogger)
        XCTAssertEqual(try builder.buildAsOf(into: "q1", untilSeq: 200, untilTime: nil) { _ in }, ["q1_counts", "q1_counts2"])
        XCTAssertEqual(try f.bookkeepingTables(), ["analyst_roles", "projection_targets"])
        XCTAssertEqual(try f.schemas(containing: "q1_"), ["q1_counts", "q1_counts2"])
    }

    /// A build whose process dies (here: its connection closes, which is what
    /// PostgreSQL sees of a SIGKILL) leaves its batch table and unfinished
    /// schemas; the next start of anything that prepares the bookkeeping
    /// removes them, and leaves those of a build still running alone.
    func testWhatADeadBuildLeftIsRemovedOnTheNextStart() throws {
        let f = try ProjectorFixture()
        var dead: PostgresConnection? = try PostgresConnection(url: f.url)
        let deadPID = try dead!.query("SELECT pg_backend_pid()").first![0]!
        _ = try BatchApplier.createSharedBatchTable(dead!)
        try ProjectionStore.create(dead!, schema: "counts__rebuild", definition: countingProjection, role: .shadow, state: .rebuilding)
        try ProjectionStore.create(dead!, schema: "x_counts", definition: countingProjection, role: .asOf, state: .building, untilSeq: 5)
        let running = try PostgresConnection(url: f.url)
        _ = try BatchApplier.createSharedBatchTable(running)
        try ProjectionStore.create(running, schema: "counts2__rebuild", definition: Self.secondCounting, role: .shadow, state: .rebuilding)
        // Still running: nothing is removed.
        try ProjectionStore.prepare(f.connection)
        XCTAssertEqual(try f.bookkeepingTables().count, 4)
        dead = nil
        try waitUntil("the dead builder's backend is gone") { try f.connection.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [deadPID]).first?[0] == "0" }
        try ProjectionStore.prepare(f.connection)
        let runningTable = "rebuild_batch_" + (try running.query("SELECT pg_backend_pid()").first![0]!)
        XCTAssertEqual(try f.bookkeepingTables(), ["analyst_roles", "projection_targets", runningTable])
        XCTAssertEqual(try f.schemas(containing: "counts"), ["counts2__rebuild"])
        XCTAssertEqual(try f.targets().keys.sorted(), ["counts2__rebuild"])
    }
}
