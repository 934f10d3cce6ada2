import EventLog
import Foundation
import Postgres
import TestSupport
import Runtime
import XCTest

@testable import Projector

final class ProjectorTests: XCTestCase {
    private func setUp(
        _ definitions: [ProjectionDefinition], batch: Int = 1000, connections: Int = 1
    ) throws -> (EventLog, Projector, PostgresConnection, String) {
        let url = try TestCluster.makeDatabase()
        let log = try EventLog.open(directory: makeTemporaryDirectory() + "/log")
        var options = Projector.Options()
        options.batchEventsMax = batch
        options.connections = connections
        let projector = Projector(url: url, log: log, catalog: ProjectionCatalog(definitions: definitions), logger: testLogger, options: options)
        try projector.ensureLiveTargets()
        return (log, projector, try PostgresConnection(url: url), url)
    }

    private func drain(_ projector: Projector) throws {
        while try projector.step() > 0 {}
    }

    func testBatchesApplyEveryEventExactlyOnceWithTheirCheckpoint() throws {
        let (log, projector, c, _) = try setUp([countingProjection], batch: 7)
        try appendCountingEvents(log, count: 100)
        try drain(projector)
        let rows = try c.query("SELECT type, events, n_sum, seq FROM counts.type_counts ORDER BY type").map { $0.values.map { $0 ?? "NULL" } }
        // n = 0...99; types cycle a, b, c.
        XCTAssertEqual(rows, [["a.x", "34", "1683", "100"], ["b.y", "33", "1617", "98"], ["c.z", "33", "1650", "99"]])
        let target = try ProjectionStore.targets(c).first!
        XCTAssertEqual(target.checkpoint, 100)
        XCTAssertEqual(try ProjectionStore.target(c, schema: "counts")?.checkpoint, 100)
        XCTAssertEqual(try ProjectionStore.liveCheckpointMin(c), 100)
        XCTAssertEqual(try c.query("SELECT count(*) FROM counts.seen").first?[0], "100")
        // Nothing new: a step reads nothing and changes nothing.
        XCTAssertEqual(try projector.step(), 0)
        try appendCountingEvents(log, count: 5, start: 100)
        try drain(projector)
        XCTAssertEqual(try ProjectionStore.targets(c).first!.checkpoint, 105)
        XCTAssertEqual(try c.query("SELECT sum(events) FROM counts.type_counts").first?[0], "105")
    }

    func testAFailingEventStopsOnlyItsProjectionAtThatSeq() throws {
        let (log, projector, c, url) = try setUp([countingProjection, strictProjection], batch: 50)
        try appendCountingEvents(log, count: 120, poisonAt: 77)
        try drain(projector)
        let targets = Dictionary(uniqueKeysWithValues: try ProjectionStore.targets(c).map { ($0.projection, $0) })
        XCTAssertEqual(targets["counts"]?.checkpoint, 120)
        XCTAssertEqual(targets["counts"]?.state, .live)
        XCTAssertEqual(targets["strict"]?.state, .failed)
        XCTAssertEqual(targets["strict"]?.failedSeq, 78)  // seq = index + 1
        XCTAssertEqual(targets["strict"]?.checkpoint, 77)
        XCTAssertTrue(targets["strict"]?.failedReason?.contains("23514") == true, targets["strict"]?.failedReason ?? "")
        XCTAssertEqual(try c.query("SELECT count(*) FROM strict.items").first?[0], "77")
        let status = try ProjectionStatusReport.rows(url: url, log: log, catalog: ProjectionCatalog(definitions: [countingProjection, strictProjection]))
        XCTAssertEqual(status.first { $0.projection == "strict" }?.state, "failed")
        XCTAssertEqual(status.first { $0.projection == "strict" }?.lagEvents, 43)
        XCTAssertEqual(status.first { $0.projection == "counts" }?.lagEvents, 0)
    }

    /// The live projector applies a batch over several connections at once
    /// (one PostgreSQL backend each), each projection in its own
    /// transaction: the same rows, checkpoints and failure as on one.
    func testSeveralConnectionsApplyTheirSharesWithTheSameOutcome() throws {
        let (log, projector, c, _) = try setUp([countingProjection, strictProjection], batch: 50, connections: 2)
        try appendCountingEvents(log, count: 120, poisonAt: 77)
        try drain(projector)
        let sessions = try c.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        XCTAssertEqual(sessions.first?[0], "2", "the projector works over two connections")
        let targets = Dictionary(uniqueKeysWithValues: try ProjectionStore.targets(c).map { ($0.projection, $0) })
        XCTAssertEqual(targets["counts"]?.checkpoint, 120)
        XCTAssertEqual(targets["counts"]?.state, .live)
        XCTAssertEqual(targets["strict"]?.state, .failed)
        XCTAssertEqual(targets["strict"]?.failedSeq, 78)
        XCTAssertEqual(targets["strict"]?.checkpoint, 77)
        XCTAssertEqual(try c.query("SELECT count(*) FROM strict.items").first?[0], "77")
        let rows = try c.query("SELECT type, events, n_sum, seq FROM counts.type_counts ORDER BY type").map { $0.values.map { $0 ?? "NULL" } }
        XCTAssertEqual(rows, [["a.x", "40", "2340", "118"], ["b.y", "40", "2380", "119"], ["c.z", "40", "2420", "120"]])
        XCTAssertEqual(try c.query("SELECT count(*) FROM counts.seen").first?[0], "120")
    }

    /// After `log repair` gives up events a projection already applied, its
    /// tables hold effects of events the log no longer has: it must stop and
    /// say so (until rebuilt), not carry on as if the log agreed with it.
    func testAProjectionThatAppliedEventsARepairGaveUpStopsUntilRebuilt() throws {
        let directory = makeTemporaryDirectory() + "/log"
        let url = try TestCluster.makeDatabase()
        let catalog = ProjectionCatalog(definitions: [countingProjection])
        var log = try EventLog.open(directory: directory)
        let before = Projector(url: url, log: log, catalog: catalog, logger: testLogger)
        try before.ensureLiveTargets()
        try appendCountingEvents(log, count: 95)
        try appendCountingEvents(log, count: 5, start: 95)  // its own frame: a repair cuts whole frames
        try drain(before)
        try log.close()
        _ = try EventLog.repair(directory: directory, truncateAfter: 95, now: 1_700_000_000_000_000)
        log = try EventLog.open(directory: directory)
        try appendCountingEvents(log, count: 10, start: 100)  // seqs 101...110: the repair's gap is 96...100
        XCTAssertEqual(log.gaps, [SeqGap(after: 95, next: 101)])

        let recorded = RecordingLogHandler()
        let after = Projector(url: url, log: log, catalog: catalog, logger: .recording(into: recorded))
        XCTAssertEqual(try after.step(), 0, "nothing is applied on top of events the log gave up")
        let c = try PostgresConnection(url: url)
        let target = try XCTUnwrap(try ProjectionStore.target(c, schema: "counts"))
        XCTAssertEqual(target.state, .failed)
        XCTAssertEqual(target.failedSeq, 96)
        XCTAssertEqual(target.checkpoint, 100)
        XCTAssertTrue(target.failedReason?.contains("applied seqs 96...100") == true, target.failedReason ?? "")
        XCTAssertTrue(target.failedReason?.contains("careerlog projections rebuild counts") == true, target.failedReason ?? "")
        XCTAssertTrue(recorded.contains("a log repair gave up"), "\(recorded.messages)")
        XCTAssertEqual(try c.query("SELECT sum(events) FROM counts.type_counts").first?[0], "100")

        // A rebuild reads the log as it is now: passes over the gap, live again.
        try ProjectionBuilder(url: url, log: log, catalog: catalog, logger: testLogger).rebuild(["counts"]) { _ in }
        let rebuilt = try XCTUnwrap(try ProjectionStore.target(c, schema: "counts"))
        XCTAssertEqual(rebuilt.state, .live)
        XCTAssertEqual(rebuilt.checkpoint, 110)
        XCTAssertEqual(try c.query("SELECT sum(events) FROM counts.type_counts").first?[0], "105")
        XCTAssertEqual(try after.step(), 0)
        XCTAssertEqual(try ProjectionStore.target(c, schema: "counts")?.state, .live, "a checkpoint past the gap is not inside it")
    }

    /// `serve --rebuild-stale` rebuilds a projection inside a repair's gap on
    /// the first start after the repair, not only once it was marked failed.
    func testRebuildingStaleOnStartCoversAProjectionInsideARepairGap() throws {
        let directory = makeTemporaryDirectory() + "/log"
        let url = try TestCluster.makeDatabase()
        let catalog = ProjectionCatalog(definitions: [countingProjection])
        var log = try EventLog.open(directory: directory)
        let before = Projector(url: url, log: log, catalog: catalog, logger: testLogger)
        try before.ensureLiveTargets()
        try appendCountingEvents(log, count: 40)
        try appendCountingEvents(log, count: 10, start: 40)
        try drain(before)
        try log.close()
        _ = try EventLog.repair(directory: directory, truncateAfter: 40, now: 1_700_000_000_000_000)
        log = try EventLog.open(directory: directory)
        let after = Projector(url: url, log: log, catalog: catalog, logger: testLogger)
        try after.ensureLiveTargets(rebuildingStale: true)
        let c = try PostgresConnection(url: url)
        XCTAssertEqual(try ProjectionStore.target(c, schema: "counts")?.state, .live)
        XCTAssertEqual(try c.query("SELECT sum(events) FROM counts.type_counts").first?[0], "40")
    }

    func testAFailureReasonAndItsLogLineQuoteNoRowValues() throws {
        // A unique violation: PostgreSQL's DETAIL would quote the e-mail.
        let emails = ProjectionDefinition(
            name: "emails", version: 1, schemaSQL: "CREATE TABLE {{schema}}.emails (email text PRIMARY KEY);",
            applySQL: "INSERT INTO {{schema}}.emails (email) SELECT data->>'email' FROM batch_events;")
        let url = try TestCluster.makeDatabase()
        let log = try EventLog.open(directory: makeTemporaryDirectory() + "/log")
        let captured = CapturedLog()
        let projector = Projector(url: url, log: log, catalog: ProjectionCatalog(definitions: [emails]), logger: captured.logger)
        try projector.ensureLiveTargets()
        let body = Array(#"{"email":"ann.secret@example.com"}"#.utf8)
        try log.append((0..<2).map { _ in
            LogEvent(id: UUID(), subject: UUID(), time: EventTime(seconds: 1_700_000_000), source: "test", type: "a.x", data: body)
        })
        try log.sync()
        while try projector.step() > 0 {}
        let target = try ProjectionStore.targets(PostgresConnection(url: url)).first
        XCTAssertEqual(target?.state, .failed)
        XCTAssertEqual(target?.failedSeq, 2)
        XCTAssertEqual(target?.failedReason, #"duplicate key value violates unique constraint "emails_pkey" (SQLSTATE 23505)"#)
        XCTAssertTrue(captured.contains("projection stopped"), "\(captured.text)")
        XCTAssertFalse(captured.contains("ann.secret"), "\(captured.text)")
    }

    func testRebuildSwapsInWhileReadersNeverSeeAnEmptyOrPartialTable() throws {
        let (log, projector, c, url) = try setUp([countingProjection], batch: 500)
        try appendCountingEvents(log, count: 3000)
        try drain(projector)
        // Readers poll the live table during the rebuild: always all types,
        // and a total that never goes down.
        let stop = StopSignal()
        nonisolated(unsafe) var observations: [Int] = []
        nonisolated(unsafe) var readerError: Error?
        let reader = Thread {
            do {
                let rc = try PostgresConnection(url: url)
                while !stop.isRequested {
                    let row = try rc.query("SELECT count(*), coalesce(sum(events), 0) FROM counts.type_counts").first!
                    XCTAssertEqual(row[0], "3", "a reader saw a partial table")
                    observations.append(Int(row[1]!)!)
                }
            } catch { readerError = error }
        }
        reader.start()
        // The live projector keeps running and events keep arriving while
        // the rebuild runs and swaps.
        let live = Thread { projector.run(shouldStop: { stop.isRequested }) }
        live.start()
        // Events arrive while the rebuild runs: four after each of its batches.
        let builder = ProjectionBuilder(url: url, log: log, catalog: ProjectionCatalog(definitions: [countingProjection]), logger: testLogger,
                                        options: { var o = ProjectionBuilder.Options(); o.batchEventsMax = 400; return o }())
        var arrived = 0
        try builder.rebuild("counts") { _ in
            guard arrived < 32 else { return }  // the rebuild reads what arrives: stop feeding it
            try! appendCountingEvents(log, count: 4, start: 3000 + arrived)
            arrived += 4
        }
        XCTAssertEqual(arrived, 32, "events arrived during the rebuild")
        try waitUntil("the projector applies every event") { try ProjectionStore.targets(c).first?.checkpoint == UInt64(3000 + arrived) }
        stop.request()
        waitUntil("the reader and the projector finish") { reader.isFinished && live.isFinished }
        XCTAssertNil(readerError)
        XCTAssertGreaterThan(observations.count, 0)
        XCTAssertEqual(observations, observations.sorted(), "totals went down during the swap")
        XCTAssertTrue(observations.allSatisfy { $0 >= 3000 })
        XCTAssertEqual(try c.query("SELECT sum(events) FROM counts.type_counts").first?[0], String(3000 + arrived))
        let targets = try ProjectionStore.targets(c)
        XCTAssertEqual(targets.map(\.schema), ["counts"], "the shadow schema's row is gone")
        XCTAssertEqual(try c.query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'counts__%'").first?[0], "0")
    }

    func testPostgresRestartMidRunLosesAndDoublesNothing() throws {
        let (log, _, c, url) = try setUp([countingProjection], batch: 100)
        let captured = CapturedLog()
        var options = Projector.Options()
        options.batchEventsMax = 100
        let projector = Projector(url: url, log: log, catalog: ProjectionCatalog(definitions: [countingProjection]),
                                  logger: captured.logger, options: options)
        let stop = StopSignal()
        let live = Thread { projector.run(shouldStop: { stop.isRequested }) }
        live.start()
        try appendCountingEvents(log, count: 1000)
        try waitUntil("the checkpoint reaches 1000") { try ProjectionStore.targets(c).first?.checkpoint == 1000 }
        let cluster = try TestCluster.cluster()
        try cluster.stop()
        try appendCountingEvents(log, count: 1000, start: 1000)  // ingest goes on while PostgreSQL is down
        // Restart once the projector has noticed.
        waitUntil("the projector reports PostgreSQL unavailable") { captured.contains("PostgreSQL unavailable") }
        try cluster.start()
        let after = try PostgresConnection(url: url)
        try waitUntil("the checkpoint reaches 2000") { (try? ProjectionStore.targets(after).first?.checkpoint) == 2000 }
        stop.request()
        waitUntil("the projector finishes") { live.isFinished }
        XCTAssertTrue(captured.contains("projector resumed"))
        XCTAssertEqual(try after.query("SELECT sum(events), sum(n_sum), (SELECT count(*) FROM counts.seen) FROM counts.type_counts").first?.values,
                       ["2000", String((0..<2000).reduce(0, +)), "2000"])
    }

    func testAChangedProjectionIsStaleUntilRebuiltOrRebuiltOnStartWhenConfigured() throws {
        let (log, projector, c, url) = try setUp([countingProjection], batch: 100)
        try appendCountingEvents(log, count: 300)
        try drain(projector)
        var changed = countingProjection
        changed.version = 2
        changed.schemaSQL += "\nCREATE TABLE {{schema}}.extra (seq bigint PRIMARY KEY);"
        changed.applySQL += "\nINSERT INTO {{schema}}.extra (seq) SELECT seq FROM batch_events WHERE seq % 10 = 0;"
        let catalog = ProjectionCatalog(definitions: [changed])
        let status = try ProjectionStatusReport.rows(url: url, log: log, catalog: catalog)
        XCTAssertEqual(status.map(\.state), ["stale"])
        // A projector with the new definition leaves a stale projection alone...
        let plain = Projector(url: url, log: log, catalog: catalog, logger: testLogger)
        try plain.ensureLiveTargets()
        try appendCountingEvents(log, count: 10, start: 300)
        XCTAssertEqual(try plain.step(), 0)
        XCTAssertEqual(try ProjectionStore.targets(c).first?.checkpoint, 300)
        // ...unless told to rebuild it on start.
        try plain.ensureLiveTargets(rebuildingStale: true)
        let rebuilt = try ProjectionStore.targets(c)
        XCTAssertEqual(rebuilt.map(\.version), [2])
        XCTAssertEqual(rebuilt.first?.checkpoint, 310)
        XCTAssertEqual(try c.query("SELECT count(*) FROM counts.extra").first?[0], "31")
        XCTAssertEqual(try c.query("SELECT sum(events) FROM counts.type_counts").first?[0], "310")
        XCTAssertEqual(try ProjectionStatusReport.rows(url: url, log: log, catalog: catalog).map(\.state), ["live"])
    }

    func testAsOfBuildEqualsALogHoldingOnlyThoseEvents() throws {
        let (log, projector, c, url) = try setUp([countingProjection], batch: 64)
        try appendCountingEvents(log, count: 500)
        try drain(projector)
        let builder = ProjectionBuilder(url: url, log: log, catalog: ProjectionCatalog(definitions: [countingProjection]), logger: testLogger)
        let schemas = try builder.buildAsOf(into: "june", untilSeq: 200, untilTime: nil) { _ in }
        XCTAssertEqual(schemas, ["june_counts"])
        XCTAssertEqual(try c.query("SELECT sum(events), sum(n_sum) FROM june_counts.type_counts").first?.values, ["200", String((0..<200).reduce(0, +))])
        // By event time: times are 1_700_000_000 + i.
        _ = try builder.buildAsOf(into: "t", untilSeq: nil, untilTime: "2023-11-14T22:15:00Z") { _ in }  // 1_700_000_100
        XCTAssertEqual(try c.query("SELECT sum(events) FROM t_counts.type_counts").first?[0], "101")
        // Live untouched; as-of schemas listed and droppable.
        XCTAssertEqual(try c.query("SELECT sum(events) FROM counts.type_counts").first?[0], "500")
        try ProjectionBuilder.drop(url: url, schema: "june_counts")
        XCTAssertEqual(try c.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'june_counts'").first?[0], "0")
        XCTAssertThrowsError(try ProjectionBuilder.drop(url: url, schema: "counts"))
    }
}

/// Polls `condition` for up to 30 s.
