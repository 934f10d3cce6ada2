import CareerEvents
import Foundation
import TestSupport
import XCTest

/// The private PostgreSQL lives as long as the careerlog command that
/// started it: `serve` stops the cluster it started once the projector has
/// made its last commit; a one-shot command stops the one it started; a
/// cluster someone else started is left as it was found.
final class ClusterLifecycleTests: XCTestCase {
    /// `db status`'s pid, nil when the cluster is not running.
    private func runningPID(_ dir: String) throws -> Int32? {
        let status = try runCareerlog(["db", "status", "--data-dir", dir])
        guard status.status == 0, let field = status.stdout.split(separator: " ").first(where: { $0.hasPrefix("pid=") }) else { return nil }
        return Int32(field.dropFirst(4))
    }

    /// Processes of the cluster in `path`: the postmaster names its data
    /// directory on its command line, and it and every child run in it.
    private func processes(naming path: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            if let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"), cwd.hasPrefix(path) { return true }
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(path)
        }
    }

    /// True while `pid` runs; a zombie (exited, not yet reaped by an init
    /// that does not reap) does not count.
    private func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].first { $0 != " " }
        return state != "Z" && state != "X"
    }

    /// Polls every 50 ms for up to 120 s (a loaded machine starts clusters slowly).
    private func waitFor(_ what: String, _ condition: () throws -> Bool) throws {
        guard try waitUntil(what, timeout: .seconds(120), condition) else { throw CancellationError() }
    }

    private func importHistory(_ dir: String) throws {
        let generated = try runCareerlog(["generate", "--users", "20", "--seed", "7"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)
    }

    func testServeStopsTheClusterItStartedAndLeavesAFoundOneRunning() throws {
        continueAfterFailure = false
        let dir = makeTemporaryDirectory()
        addTeardownBlock { _ = try? runCareerlog(["db", "stop", "--data-dir", dir]) }
        try importHistory(dir)

        let server = try ServeProcess(dataDirectory: dir, projector: true)
        var pid: Int32?
        try waitFor("serve to start the cluster") { pid = try runningPID(dir); return pid != nil }
        let status = try runCareerlog(["db", "status", "--data-dir", dir]).stdout
        XCTAssertTrue(status.contains("started-by=careerlog serve (pid \(server.pid))"), status)
        XCTAssertFalse(processes(naming: dir + "/postgres").isEmpty, "the cluster's processes name its directory")
        XCTAssertEqual(server.stop(), 0, server.stderr)
        XCTAssertTrue(server.stderr.contains("stopped the private PostgreSQL"), server.stderr)
        XCTAssertLessThan(server.stderr.range(of: "projector stopped")!.lowerBound, server.stderr.range(of: "stopped the private PostgreSQL")!.lowerBound,
                          "the cluster stops after the projector's last commit")
        XCTAssertNil(try runningPID(dir))
        XCTAssertFalse(isRunning(pid!), "the postmaster is gone (or a zombie no init has reaped yet)")
        XCTAssertEqual(processes(naming: dir + "/postgres"), [], "no process of the cluster is left")

        // Started by someone else: serve leaves it running.
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", dir]).status, 0)
        let found = try XCTUnwrap(try runningPID(dir))
        let second = try ServeProcess(dataDirectory: dir, projector: true)
        try waitFor("the projector to use the cluster") { second.stderr.contains("serve leaves it running") }
        XCTAssertEqual(second.stop(), 0, second.stderr)
        XCTAssertEqual(try runningPID(dir), found)
        XCTAssertTrue(try runCareerlog(["db", "status", "--data-dir", dir]).stdout.contains("started-by=careerlog db start"))
    }

    func testOneShotCommandsLeaveTheClusterAsTheyFoundIt() throws {
        continueAfterFailure = false
        let dir = makeTemporaryDirectory()
        addTeardownBlock { _ = try? runCareerlog(["db", "stop", "--data-dir", dir]) }
        try importHistory(dir)

        // Not running before: started for the command and stopped after it.
        let rebuild = try runCareerlog(["projections", "rebuild", "analytics", "--data-dir", dir])
        XCTAssertEqual(rebuild.status, 0, rebuild.stderr)
        XCTAssertTrue(rebuild.stderr.contains("stopped the private PostgreSQL in \(dir)/postgres that this command started"), rebuild.stderr)
        XCTAssertNil(try runningPID(dir))
        XCTAssertEqual(processes(naming: dir + "/postgres"), [])
        // A failing command too.
        let failed = try runCareerlog(["projections", "rebuild", "nosuch", "--data-dir", dir])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertNil(try runningPID(dir), failed.stderr)
        // --keep-db keeps it.
        XCTAssertEqual(try runCareerlog(["analytics", "placement", "--data-dir", dir, "--keep-db"]).status, 0)
        let kept = try XCTUnwrap(try runningPID(dir))
        XCTAssertTrue(try runCareerlog(["db", "status", "--data-dir", dir]).stdout.contains("started-by=careerlog analytics placement (pid "))

        // Running before: left running, the same server.
        let json = try runCareerlog(["analytics", "placement", "--by", "program", "--format", "json", "--data-dir", dir])
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertEqual(json.stderr, "")
        XCTAssertEqual(try runningPID(dir), kept)
        guard case .object(let document) = try JSONParser.parse(json.stdout.trimmingCharacters(in: .newlines)),
              case .string(let asOf)? = document["as_of"], case .array(let rows)? = document["rows"],
              case .object(let first)? = rows.first, case .string(let program)? = first["program"] else {
            return XCTFail("not one document with as_of and rows: \(json.stdout)")
        }
        XCTAssertTrue(asOf.hasPrefix("202") && asOf.contains("T") && asOf.hasSuffix("Z"), asOf)

        // An unknown program is an error listing the known ones.
        let unknown = try runCareerlog(["analytics", "placement", "--program", "nosuch", "--data-dir", dir])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("no program named nosuch in schema analytics; known programs: "), unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains(program), unknown.stderr)
        XCTAssertEqual(try runningPID(dir), kept)
    }

    /// Ctrl-C in the middle of a one-shot command that started the cluster:
    /// the command still stops it (and then dies of the signal, as a shell
    /// expects), instead of leaving a postmaster behind.
    func testAnInterruptedOneShotCommandStopsTheClusterItStarted() throws {
        continueAfterFailure = false
        let dir = makeTemporaryDirectory()
        addTeardownBlock { _ = try? runCareerlog(["db", "stop", "--data-dir", dir]) }
        // Enough history that the rebuild is still running when the signal comes.
        let generated = try runCareerlog(["generate", "--users", "300", "--seed", "11"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try careerlogBinary())
        process.arguments = ["projections", "rebuild", "--all", "--data-dir", dir]
        var env = ProcessInfo.processInfo.environment
        env["CAREERLOG_SCHEMA_DIR"] = packageRoot + "/EventSchemas"
        env["CAREERLOG_PROJECTIONS_DIR"] = packageRoot + "/Projections"
        process.environment = env
        let stderrPipe = Pipe()
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var postmaster: Int32?
        try waitFor("the rebuild to start the cluster") { postmaster = try runningPID(dir); return postmaster != nil || !process.isRunning }
        XCTAssertTrue(process.isRunning, "the rebuild ended before it could be interrupted; give it more history")
        kill(process.processIdentifier, SIGINT)
        let stderr = String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        XCTAssertEqual(process.terminationReason, .uncaughtSignal, stderr)
        XCTAssertEqual(process.terminationStatus, SIGINT, stderr)
        XCTAssertTrue(stderr.contains("stopped the private PostgreSQL in \(dir)/postgres that this command started"), stderr)
        XCTAssertNil(try runningPID(dir))
        XCTAssertFalse(isRunning(postmaster!))
        XCTAssertEqual(processes(naming: dir + "/postgres"), [], "no process of the cluster is left")
    }
}
