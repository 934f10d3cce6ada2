import Foundation
import TestSupport
import XCTest

@testable import Postgres

final class EmbeddedClusterTests: XCTestCase {
    /// A cluster of its own (not the shared one), in a path with spaces:
    /// create, start twice, stop twice, start, kill -9, start again from two
    /// threads at once. Committed rows survive everything.
    func testLifecycleIsIdempotentAndRecoversFromAKilledPostmaster() throws {
        continueAfterFailure = false
        let base = makeTemporaryDirectory("pglife") + "/careerlog pg life"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let cluster = EmbeddedCluster(directory: base + "/data dir/postgres")
        defer { try? cluster.stop() }

        XCTAssertEqual(cluster.status(), .notInitialized)
        XCTAssertNoThrow(try cluster.stop(), "stopping a cluster that does not exist does nothing")
        let url = try startOrFail(cluster)
        XCTAssertEqual(url, cluster.url)
        let firstPID = try runningPID(cluster)
        XCTAssertEqual(cluster.startedBy, "careerlog (pid \(getpid()))", "start records who started the server")
        XCTAssertEqual(try cluster.start(startedBy: "someone else"), .init(url: url, startedNow: false), "starting a running cluster just returns its URL")
        XCTAssertEqual(cluster.startedBy, "careerlog (pid \(getpid()))", "a start that found it running does not claim it")
        XCTAssertEqual(cluster.status(), .running(pid: firstPID))
        try checkOwnershipAndSettings(cluster)

        try PostgresConnection(url: url).execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (1);")
        try cluster.stop()
        XCTAssertEqual(cluster.status(), .stopped)
        XCTAssertNil(cluster.startedBy)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cluster.directory + "/started-by"), "stop removes the record")
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: cluster.logDirectory).contains { $0.hasPrefix("server-") }, "the collector writes the log")
        XCTAssertNoThrow(try cluster.stop())
        XCTAssertEqual(try cluster.start(), url)
        let secondPID = try runningPID(cluster)
        XCTAssertNotEqual(secondPID, firstPID)

        try PostgresConnection(url: url).execute("INSERT INTO kept VALUES (2)")
        XCTAssertEqual(kill(secondPID, SIGKILL), 0)
        try waitUntilStopped(cluster)
        let urls = try startConcurrently(cluster, threads: 2)
        XCTAssertEqual(urls, [url, url])
        XCTAssertNotEqual(try runningPID(cluster), secondPID)
        XCTAssertEqual(try PostgresConnection(url: url).query("SELECT sum(x) AS s FROM kept").first?["s"], "3")

        try cluster.stop()
        XCTAssertEqual(cluster.status(), .stopped)
    }

    func testURLIsUsableByPsql() throws {
        let cluster = try TestCluster.cluster()
        let installation = try PostgresInstallation.find(majorVersion: cluster.createdByMajorVersion())
        // psql sits beside the real pg_ctl (PATH may hold only symlinks to initdb and pg_ctl).
        let binDirectory = URL(fileURLWithPath: installation.pgCtl).resolvingSymlinksInPath().deletingLastPathComponent().path
        let psql = ChildProcess(label: "psql", executable: binDirectory + "/psql",
                                arguments: [cluster.url, "-XtAc", "SELECT current_user || '@' || current_database()"], directory: "/")
        let outcome = try psql.run(timeoutSeconds: 30)
        XCTAssertEqual(outcome.status, 0, outcome.output)
        XCTAssertEqual(outcome.output, "careerlog@careerlog")
    }

    func testURLNamesTheSocketDirectoryPercentEncoded() {
        let cluster = EmbeddedCluster(directory: "/srv/career log/./postgres")
        XCTAssertEqual(cluster.directory, "/srv/career log/postgres")
        XCTAssertEqual(cluster.url, "postgresql://careerlog@/careerlog?host=/srv/career%20log/postgres/socket&port=5432")
        XCTAssertEqual(EmbeddedCluster(directory: "rel/pg").directory, FileManager.default.currentDirectoryPath + "/rel/pg")
    }

    func testServerSettingsAreQuotedForTheShell() {
        XCTAssertEqual(EmbeddedCluster.shellQuoted("it's"), #"'it'\''s'"#)
        let options = EmbeddedCluster.serverOptions(socketDirectory: "/a b/it's", logDirectory: "/a b/log")
        XCTAssertTrue(options.hasPrefix(#"-c 'listen_addresses=' -c 'port=5432' -c 'unix_socket_directories="/a b/it'\''s"'"#), options)
        XCTAssertTrue(options.contains("-c 'fsync=on' -c 'synchronous_commit=on'"), options)
        // The server's log is bounded: 24 hourly files, each truncated when reused.
        XCTAssertTrue(options.contains("-c 'logging_collector=on' -c 'log_directory=/a b/log' -c 'log_filename=server-%H.log' -c 'log_truncate_on_rotation=on' -c 'log_rotation_age=60' -c 'log_rotation_size=0'"), options)
    }

    func testRejectsDirectoriesTheServerCannotUse() {
        let tooLong = EmbeddedCluster(directory: "/tmp/" + String(repeating: "d", count: 90))
        XCTAssertThrowsError(try tooLong.start()) { error in
            XCTAssertEqual((error as? EmbeddedClusterError)?.code, .directory)
            XCTAssertTrue("\(error)".contains("socket path would be 116 bytes"), "\(error)")
        }
        XCTAssertThrowsError(try EmbeddedCluster(directory: "/tmp/a$b/postgres").start()) { error in
            XCTAssertEqual((error as? EmbeddedClusterError)?.code, .directory)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tooLong.directory), "nothing is created for a rejected directory")
    }

    // MARK: helpers

    private func startOrFail(_ cluster: EmbeddedCluster) throws -> String {
        let started = Result { () throws(EmbeddedClusterError) in try cluster.start() }
        return try failClearlyWithoutPostgres(started.map { _ in cluster }).url
    }

    private func runningPID(_ cluster: EmbeddedCluster) throws -> Int32 {
        guard case .running(let pid) = cluster.status() else {
            XCTFail("expected a running server, got \(cluster.status())")
            throw CancellationError()
        }
        return pid
    }

    /// As root the cluster belongs to `postgres`; either way it is private
    /// and reachable only through its socket.
    private func checkOwnershipAndSettings(_ cluster: EmbeddedCluster) throws {
        var info = stat()
        XCTAssertEqual(stat(cluster.dataDirectory, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertEqual(info.st_uid, geteuid() == 0 ? getpwnam("postgres")!.pointee.pw_uid : geteuid())
        let connection = try PostgresConnection(url: cluster.url)
        let settings = try connection.query("""
            SELECT current_setting('listen_addresses') AS listen, current_setting('fsync') AS fsync,
                   current_setting('synchronous_commit') AS sync, current_setting('data_checksums') AS checksums,
                   current_setting('TimeZone') AS tz
            """)
        XCTAssertEqual(settings.first?.values, ["", "on", "on", "on", "UTC"])
    }

    /// A SIGKILLed postmaster's backends notice its death and exit on their own.
    private func waitUntilStopped(_ cluster: EmbeddedCluster) throws {
        for _ in 0..<250 where cluster.status() != .stopped { usleep(20_000) }
        XCTAssertEqual(cluster.status(), .stopped)
    }

    private func startConcurrently(_ cluster: EmbeddedCluster, threads: Int) throws -> [String] {
        let results = ResultBox(count: threads)
        let group = DispatchGroup()
        for index in 0..<threads {
            group.enter()
            Thread.detachNewThread {
                results.set(index, Result { () throws(EmbeddedClusterError) in try cluster.start() })
                group.leave()
            }
        }
        group.wait()
        return try results.values.map { try $0!.get() }
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Result<String, EmbeddedClusterError>?]
    init(count: Int) { stored = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<String, EmbeddedClusterError>) { lock.withLock { stored[index] = value } }
    var values: [Result<String, EmbeddedClusterError>?] { lock.withLock { stored } }
}
