import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Projector

/// The shared batch table of a rebuild over several connections is dropped
/// right after the worker connections close. Their backends exit
/// asynchronously and drop their temporary objects as they go; a worker's
/// temporary view over the shared table, still there, made the drop's
/// CASCADE deadlock with that exit (seen in CI: `projections rebuild --all`
/// failed with SQLSTATE 40P01 and left `careerlog.rebuild_batch_<pid>`).
final class SharedBatchDropTests: XCTestCase {
    func testRebuildsOverSeveralConnectionsNeverDeadlockOnTheSharedTable() throws {
        let f = try ProjectorFixture()
        try appendCountingEvents(f.log, count: 60)
        let definitions = (1...4).map { i -> ProjectionDefinition in
            var d = countingProjection
            d.name = "counts\(i)"
            return d
        }
        let catalog = ProjectionCatalog(definitions: definitions)
        try Projector(url: f.url, log: f.log, catalog: catalog, logger: testLogger).ensureLiveTargets()
        var options = ProjectionBuilder.Options()
        options.connections = 4
        let builder = ProjectionBuilder(url: f.url, log: f.log, catalog: catalog, logger: testLogger, options: options)
        // Each round is one chance for the race; it showed within a few.
        let rounds = Int(ProcessInfo.processInfo.environment["CAREERLOG_DROP_RACE_ROUNDS"] ?? "") ?? 80
        for round in 0..<rounds {
            do {
                try builder.rebuild(definitions.map(\.name)) { _ in }
            } catch {
                XCTFail("round \(round): \(error)")
                break
            }
        }
        XCTAssertEqual(try f.bookkeepingTables(), ["analyst_roles", "projection_targets"])
        XCTAssertEqual(try f.connection.query("SELECT sum(events) FROM counts4.type_counts").first?[0], "60")
    }
}
