import Foundation
import TestSupport
import XCTest

/// The `careerlog` executable built next to this test bundle.
func careerlogBinary() throws -> String { try builtExecutable("careerlog") }

/// The `careerlog-bench` executable (benchmarks, and the `debug` commands
/// the crash tests run as children), built next to this test bundle.
func careerlogBenchBinary() throws -> String { try builtExecutable("careerlog-bench") }

/// An executable of this package built next to the test bundle. Missing is
/// a failure, not a skip: the tests that need it would pass nothing.
func builtExecutable(_ name: String) throws -> String {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [bundleDir.appendingPathComponent(name).path]
    // `swift test` runs the .xctest bundle from the build directory.
    candidates.append(bundleDir.deletingLastPathComponent().appendingPathComponent(name).path)
    for path in candidates where FileManager.default.isExecutableFile(atPath: path) { return path }
    throw MissingExecutable(description: "\(name) executable not found next to the test bundle (\(candidates)); build it with `swift build --build-tests`")
}

struct MissingExecutable: Error, CustomStringConvertible {
    var description: String
}

/// The package root (three levels up from this file).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs careerlog with `arguments`, feeding `input` on stdin. A command
/// still running after `timeoutSeconds` is killed and the test fails (a
/// server that should have refused to start must not hang the suite).
@discardableResult
func runCareerlog(
    _ arguments: [String], input: Data? = nil, environment: [String: String] = [:], timeoutSeconds: Int = 600,
    file: StaticString = #filePath, line: UInt = #line
) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try careerlogBinary())
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["CAREERLOG_SCHEMA_DIR"] = packageRoot + "/EventSchemas"
    env["CAREERLOG_PROJECTIONS_DIR"] = packageRoot + "/Projections"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let stdinPipe = Pipe(), stdoutPipe = Pipe(), stderrPipe = Pipe()
    process.standardInput = stdinPipe
    process.standardOutput = stdoutPipe
    process.standardError = stderrPipe
    try process.run()
    // Drain both outputs concurrently so a full pipe never blocks the child.
    nonisolated(unsafe) var out = Data(), err = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { out = stdoutPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { err = stderrPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let pid = process.processIdentifier
    let overdue = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(timeoutSeconds), execute: overdue)
    if let input { stdinPipe.fileHandleForWriting.write(input) }
    try stdinPipe.fileHandleForWriting.close()
    process.waitUntilExit()
    overdue.cancel()
    group.wait()
    if process.terminationReason == .uncaughtSignal, process.terminationStatus == SIGKILL {
        XCTFail("careerlog \(arguments.joined(separator: " ")) did not finish within \(timeoutSeconds) s; it was killed", file: file, line: line)
    }
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
}

/// A size parameter from the environment: small in CI, large on demand.
func sizeParameter(_ name: String, default value: Int) -> Int {
    ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? value
}

import Postgres

/// Row count and md5 of every table of each schema, keyed
/// "<label>.<table>": two sets of read models are equal when these are.
func tableDigests(_ c: PostgresConnection, schemas: [(label: String, schema: String)]) throws -> [String: String] {
    var out: [String: String] = [:]
    for (label, schema) in schemas {
        for table in try c.query("SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", [schema]).map({ $0[0]! }) {
            let q = "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \"\(schema)\".\"\(table)\" t"
            out["\(label).\(table)"] = try c.query(q).first?[0] ?? ""
        }
    }
    return out
}
