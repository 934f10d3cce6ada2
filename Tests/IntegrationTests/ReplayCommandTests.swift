import Foundation
import TestSupport
import XCTest

/// `careerlog replay` as a user runs it: real processes, real pipes, a log
/// another process is appending to.
final class ReplayCommandTests: XCTestCase {
    /// A generated history imported into a fresh data directory.
    private func importedHistory(users: Int = 40) throws -> String {
        let dataDir = makeTemporaryDirectory(name)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dataDir) }
        let generated = try runCareerlog(["generate", "--users", String(users), "--seed", "3"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        let imported = try runCareerlog(["log", "import", "--data-dir", dataDir, "-"], input: Data(generated.stdout.utf8))
        XCTAssertEqual(imported.status, 0, imported.stderr)
        return dataDir
    }

    private func lines(_ text: String) -> [Substring] {
        text.split(separator: "\n", omittingEmptySubsequences: true)
    }

    private func seq(_ line: Substring) -> UInt64? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return (object["seq"] as? NSNumber)?.uint64Value
    }

    /// While `debug append-loop` appends from another process (crossing
    /// segments), `replay --follow` prints a dense, in-order run of whole
    /// events; once the writer is killed (possibly mid-frame) the follow
    /// catches up and its output is byte for byte a plain replay's.
    func testFollowWhileAnotherProcessAppendsMissesNothing() throws {
        let dataDir = makeTemporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dataDir) }
        let writer = try ReplayChild(["debug", "append-loop", "--directory", dataDir + "/log", "--segment-bytes", String(256 << 10)],
                                     executable: try careerlogBenchBinary())
        // Let the log exist before the reader opens it.
        XCTAssertTrue(writer.waitForOutput(containing: "synced", timeout: .seconds(20)), "the writer never synced")
        let follower = try ReplayChild(["replay", "--data-dir", dataDir, "--follow"])
        // Follow across a segment boundary while the writer still appends:
        // wait for a second segment, then for the follow to print what the
        // writer had synced by then.
        waitUntil("the writer starts a second segment", timeout: .seconds(60)) { segmentCount(dataDir + "/log") >= 2 }
        let written = writer.stdoutText
        let wholeLines = written[..<(written.lastIndex(of: "\n") ?? written.startIndex)]
        let synced = try XCTUnwrap(wholeLines.split(separator: "\n").last.flatMap { UInt64($0.dropFirst("synced ".count)) })
        // The follow may run past `synced` at once: wait on its newest line.
        waitUntil("the follow reaches seq \(synced) while the writer runs", timeout: .seconds(60)) {
            follower.lastPrintedSeq().map { $0 >= synced } ?? false
        }
        writer.kill(SIGKILL)

        let full = try runCareerlog(["replay", "--data-dir", dataDir])
        XCTAssertEqual(full.status, 0, full.stderr)
        let expected = lines(full.stdout)
        XCTAssertGreaterThan(expected.count, 1_000, "too few events to say anything")
        let lastSeq = seq(expected.last!)!
        XCTAssertTrue(follower.waitForOutput(containing: "{\"seq\":\(lastSeq),", timeout: .seconds(120)), "the follow never reached seq \(lastSeq)")
        follower.kill(SIGTERM)
        XCTAssertEqual(follower.waitForExit(), 0, follower.stderrText)
        XCTAssertEqual(follower.stderrText, "")

        let followed = follower.stdoutText
        XCTAssertTrue(followed.hasSuffix("\n"), "the last event is whole")
        let got = lines(followed)
        XCTAssertEqual(got.map { seq($0) }, (1...lastSeq).map { Optional($0) }, "dense, in order, every line a whole event")
        XCTAssertEqual(got, expected)
    }

    func testHeadClosingThePipeEndsTheReplayQuietly() throws {
        let dataDir = try importedHistory()
        let script = "\"$0\" replay --data-dir \"$1\" 2>\"$2\" | head -n 3; echo \"status=${PIPESTATUS[0]}\""
        let errors = dataDir + "/stderr.txt"
        let result = try runProcess("/bin/bash", ["-c", script, try careerlogBinary(), dataDir, errors])
        let output = lines(result.stdout)
        XCTAssertEqual(output.count, 4)
        XCTAssertEqual(output.prefix(3).map { seq($0) }, [1, 2, 3])
        XCTAssertEqual(output.last, "status=0")
        XCTAssertEqual(try String(contentsOfFile: errors, encoding: .utf8), "")
    }

    func testFollowEndsWhenItsReaderGoesAwayEvenWithNoNewEvents() throws {
        let dataDir = try importedHistory(users: 5)
        let script = "\"$0\" replay --data-dir \"$1\" --follow --type user.registered | head -n 1; echo \"status=${PIPESTATUS[0]}\""
        let start = ContinuousClock.now
        let result = try runProcess("/bin/bash", ["-c", script, try careerlogBinary(), dataDir])
        XCTAssertEqual(lines(result.stdout).last, "status=0")
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(10))
    }

    func testFormatsAgreeWithEachOther() throws {
        let dataDir = try importedHistory()
        let stats = try runCareerlog(["replay", "--data-dir", dataDir, "--stats", "--json", "--type", "application.*"])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        let counts = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as! [String: Any]
        let types = counts["types"] as! [String: Int]
        XCTAssertEqual(Set(types.keys), ["application.sent", "application.advanced"])

        let ndjson = try runCareerlog(["replay", "--data-dir", dataDir, "--type", "application.sent"])
        XCTAssertEqual(lines(ndjson.stdout).count, types["application.sent"])
        let csv = try runCareerlog(["replay", "--data-dir", dataDir, "--format", "csv", "--type", "application.sent"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = csv.stdout.components(separatedBy: "\r\n").dropLast()
        XCTAssertEqual(rows.first, "seq,recorded,id,source,type,dataversion,subject,time,data.application_id,data.company,data.position,data.channel")
        XCTAssertEqual(rows.count - 1, types["application.sent"])

        let out = dataDir + "/export"
        let export = try runCareerlog(["replay", "--data-dir", dataDir, "--format", "csv", "--out", out, "--type", "application.*"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), ["application.advanced.csv", "application.sent.csv"])
        XCTAssertEqual(try String(contentsOfFile: out + "/application.sent.csv", encoding: .utf8), csv.stdout)
        let summary = try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(summary["rows"] as? Int, types.values.reduce(0, +))
    }

    func testBadOptionsAreUsageErrors() throws {
        let dataDir = try importedHistory(users: 5)
        let cases: [([String], String)] = [
            (["--since", "2025-13-01"], "--since '2025-13-01' is neither an RFC 3339 timestamp"),
            (["--subject", "nope"], "--subject 'nope' is not a UUID"),
            (["--format", "csv", "--type", "application.*"], "CSV to stdout holds one type"),
            (["--format", "csv"], "CSV to stdout holds one type"),
            (["--out", dataDir + "/x"], "--out writes CSV files"),
            (["--stats", "--follow"], "cannot --follow"),
            (["--json"], "--json and --by go with --stats"),
            (["--as-of", "2025-01-01"], "--as-of and --as-of-seq go with --into PREFIX"),
        ]
        for (arguments, message) in cases {
            let result = try runCareerlog(["replay", "--data-dir", dataDir] + arguments)
            XCTAssertEqual(result.status, 64, "\(arguments)")
            XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stdout, "")
        }
        let missing = try runCareerlog(["replay", "--data-dir", dataDir + "/none"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.hasPrefix("replay: cannot open the log: io: no log directory"), missing.stderr)
    }

    func testExplainShowsTheFrameSkip() throws {
        let dataDir = try importedHistory(users: 5)
        let result = try runCareerlog(["replay", "--data-dir", dataDir, "--explain", "--since", "2024-12-01", "--to-seq", "50"])
        XCTAssertEqual(result.status, 0)
        let explained = result.stderr.split(separator: "\n")
        XCTAssertEqual(explained.first, "plan: start at seq 1; skip frames with no event time in 2024-12-01T00:00:00.000000Z ... open (frame index); stop after seq 50")
        XCTAssertEqual(explained.count, 2)
        XCTAssertTrue(explained.last!.hasSuffix(" matched"), result.stderr)
    }
}

/// How many segment files the log directory holds.
private func segmentCount(_ directory: String) -> Int {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".seg") }.count
}

/// Runs a program to completion, capturing its output.
private func runProcess(_ path: String, _ arguments: [String]) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["CAREERLOG_SCHEMA_DIR"] = packageRoot + "/EventSchemas"
    process.environment = environment
    let stdout = Pipe(), stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
}

/// A careerlog child process whose output is collected as it comes.
private final class ReplayChild: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var stdout = Data()
    private var stderr = Data()
    private let done = DispatchGroup()

    init(_ arguments: [String], executable: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: try executable ?? careerlogBinary())
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CAREERLOG_SCHEMA_DIR"] = packageRoot + "/EventSchemas"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        collect(out.fileHandleForReading) { $0.stdout.append($1) }
        collect(err.fileHandleForReading) { $0.stderr.append($1) }
    }

    private func collect(_ handle: FileHandle, into append: @escaping @Sendable (ReplayChild, Data) -> Void) {
        done.enter()
        DispatchQueue.global().async {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                self.lock.lock()
                append(self, chunk)
                self.lock.unlock()
            }
            self.done.leave()
        }
    }

    var stdoutText: String { lock.lock(); defer { lock.unlock() }; return String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { lock.lock(); defer { lock.unlock() }; return String(decoding: stderr, as: UTF8.self) }

    /// Polls stdout for `text`.
    func waitForOutput(containing text: String, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        let needle = Data(text.utf8)
        while ContinuousClock.now < deadline {
            lock.lock()
            // Only the tail can hold a new match; search a window, not everything.
            let found = stdout.suffix(max(needle.count * 2, 1 << 16)).range(of: needle) != nil
            lock.unlock()
            if found { return true }
            usleep(20_000)
        }
        return false
    }

    /// The seq of the last whole NDJSON line on stdout, if any.
    func lastPrintedSeq() -> UInt64? {
        lock.lock()
        let tail = stdout.suffix(1 << 16)
        lock.unlock()
        guard let end = tail.lastIndex(of: UInt8(ascii: "\n")) else { return nil }
        let start = tail[..<end].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? tail.startIndex
        let line = String(decoding: tail[start..<end], as: UTF8.self)
        guard line.hasPrefix("{\"seq\":") else { return nil }
        return UInt64(line.dropFirst(7).prefix { $0.isNumber })
    }

    func kill(_ signal: Int32) {
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Waits for the exit and the end of both outputs; the exit status.
    func waitForExit() -> Int32 {
        process.waitUntilExit()
        done.wait()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}
