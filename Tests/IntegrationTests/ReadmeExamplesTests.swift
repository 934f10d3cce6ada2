import CareerEvents
import Foundation
import TestSupport
import XCTest

/// README's `sh` blocks are what a newcomer pastes: each command in them is
/// run here as written, from a directory whose `./.careerlog` holds a small
/// generated history served by `careerlog serve`, as after the demo. The
/// only change made to a line is the server's real ports in place of the
/// documented defaults 7400/7401 (other tests may hold those).
final class ReadmeExamplesTests: XCTestCase {
    /// Blocks that run `./Tools/…`: the two commands themselves. The test
    /// suite runs inside the second, and the first (the demo, minutes long)
    /// ends with the state this test builds in its set-up.
    private static func isSetUpBlock(_ block: [String]) -> Bool { block.contains { $0.contains("./Tools/") } }

    /// Each command of README's `sh` blocks: continuation lines joined,
    /// blank and comment-only lines left out.
    static func readmeCommands() throws -> [String] {
        let text = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
        var blocks: [[String]] = [], current: [String]? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if current == nil, line == "```sh" { current = [] } else if current != nil, line == "```" {
                blocks.append(current!)
                current = nil
            } else if current != nil { current!.append(line) }
        }
        var commands: [String] = []
        for block in blocks where !isSetUpBlock(block) {
            var pending = ""
            for line in block {
                if line.hasSuffix("\\") { pending += line.dropLast() + " "; continue }
                let command = pending + line
                pending = ""
                let trimmed = command.trimmingCharacters(in: .whitespaces)
                if !trimmed.isEmpty, !trimmed.hasPrefix("#") { commands.append(command) }
            }
        }
        return commands
    }

    func testEveryShellExampleOfTheREADMERunsAsWritten() throws {
        let commands = try Self.readmeCommands()
        // The tour, the protocol and the replay blocks: a parse that finds
        // less has lost some of them.
        XCTAssertGreaterThanOrEqual(commands.count, 18, "README's sh blocks: \(commands)")

        let home = makeTemporaryDirectory()
        let data = home + "/.careerlog"
        let generated = try runCareerlog(["generate", "--users", "40", "--seed", "1"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", data], input: Data(generated.stdout.utf8)).status, 0)
        let server = try ServeProcess(dataDirectory: data, projector: true)
        defer {
            XCTAssertEqual(server.stop(), 0, server.stderr)
            _ = try? runCareerlog(["db", "stop", "--data-dir", data])
        }
        try waitForReadModels(data)

        let shell = ShellEnvironment(home: home, binaries: URL(fileURLWithPath: try careerlogBinary()).deletingLastPathComponent().path)
        var exports: [String] = []
        for written in commands {
            let command = written.replacingOccurrences(of: "127.0.0.1:7400", with: server.tcpAddress)
                .replacingOccurrences(of: "127.0.0.1 7400", with: server.tcpAddress.replacingOccurrences(of: ":", with: " "))
                .replacingOccurrences(of: "127.0.0.1:7401", with: server.httpAddress)
            if command.hasPrefix("export ") { exports.append(command); continue }
            let script = (exports + [command]).joined(separator: "\n")
            if command.contains("--follow") {
                try checkFollow(script, shell: shell, written: written)
                continue
            }
            let result = try shell.run(script)
            XCTAssertEqual(result.status, 0, "`\(written)` failed: \(result.stderr)")
            // A command whose output is not sent to a file shows something.
            if !command.contains(" > "), !command.contains("--out ") {
                XCTAssertFalse(result.stdout.isEmpty, "`\(written)` printed nothing; stderr: \(result.stderr)")
            }
        }
        let exported = (try? FileManager.default.contentsOfDirectory(atPath: home + "/exports")) ?? []
        XCTAssertFalse(exported.isEmpty, "replay --out exports/ wrote no file")
    }

    /// `--follow` runs until interrupted: it must print what exists, keep
    /// running, and end cleanly (exit 0) on Ctrl-C.
    private func checkFollow(_ script: String, shell: ShellEnvironment, written: String) throws {
        let follower = try shell.start("exec " + script.split(separator: "\n").last!)
        defer { if follower.process.isRunning { kill(follower.process.processIdentifier, SIGKILL) } }
        XCTAssertTrue(waitUntil("`\(written)` to print an event", timeout: .seconds(60)) { follower.stdout.contains("\n") },
                      "`\(written)` printed nothing: \(follower.stderr)")
        XCTAssertTrue(follower.process.isRunning, "`\(written)` ended by itself: \(follower.stderr)")
        kill(follower.process.processIdentifier, SIGINT)
        XCTAssertTrue(waitUntil("`\(written)` to end after SIGINT", timeout: .seconds(30)) { !follower.process.isRunning })
        XCTAssertEqual(follower.process.terminationStatus, 0, "`\(written)` after Ctrl-C: \(follower.stderr)")
    }

    /// The demo waits for the read models before it prints its commands.
    private func waitForReadModels(_ data: String) throws {
        let caughtUp = try waitUntil("the read models to catch up", timeout: .seconds(180)) {
            let status = try runCareerlog(["projections", "status", "--json", "--data-dir", data])
            let lines = status.stdout.split(separator: "\n")
            return status.status == 0 && lines.count >= 9 && lines.allSatisfy { $0.contains("\"lag_events\":0,") && $0.contains("\"state\":\"live\"") }
        }
        XCTAssertTrue(caughtUp, "the projector did not catch up")
    }
}

/// A bash like a user's: in `home`, with the built programs first on PATH,
/// no data directory or database URL from the test's own environment.
private struct ShellEnvironment {
    var home: String
    var binaries: String

    final class Running: @unchecked Sendable {
        let process: Process
        init(process: Process) { self.process = process }
        private let lock = NSLock()
        private var out = Data(), err = Data()
        var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
        var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
        func append(_ data: Data, error: Bool) { lock.withLock { if error { err.append(data) } else { out.append(data) } } }
    }

    private func makeProcess(_ script: String) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-o", "pipefail", "-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: home)
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = binaries + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["CAREERLOG_SCHEMA_DIR"] = packageRoot + "/EventSchemas"
        env["CAREERLOG_PROJECTIONS_DIR"] = packageRoot + "/Projections"
        env["CAREERLOG_DATA_DIR"] = nil
        env["DATABASE_URL"] = nil
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        return process
    }

    /// Starts `script` and collects its output as it comes (for commands
    /// that run until stopped).
    func start(_ script: String) throws -> Running {
        let running = Running(process: makeProcess(script))
        let outPipe = Pipe(), errPipe = Pipe()
        running.process.standardOutput = outPipe
        running.process.standardError = errPipe
        for (pipe, isError) in [(outPipe, false), (errPipe, true)] {
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty { handle.readabilityHandler = nil } else { running.append(data, error: isError) }
            }
        }
        try running.process.run()
        return running
    }

    /// Runs `script` to its end (at most five minutes: a README command
    /// that hangs is a failure, not a stalled suite) with all its output.
    func run(_ script: String) throws -> CommandResult {
        let process = makeProcess(script)
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        try process.run()
        nonisolated(unsafe) var out = Data(), err = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { out = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { err = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let ended = waitUntil("`\(script)` to end", timeout: .seconds(300)) { !process.isRunning }
        if !ended { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        _ = group.wait(timeout: .now() + 30)
        return CommandResult(status: ended ? process.terminationStatus : -1,
                             stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }
}
