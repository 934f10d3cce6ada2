import Foundation
import XCTest

/// A small tmpfs, so a test can fill a real filesystem.
public enum TemporaryFilesystem {
    /// Mounts a tmpfs of `bytes` at `path` (needs root). Where that is not
    /// permitted the test is skipped, except in CI (`CI=true`), where it fails.
    public static func mount(at path: String, bytes: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", path])
        guard result.status == 0 else {
            let message = "cannot mount a tmpfs at \(path) (needs root): \(result.output)"
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail(message, file: file, line: line)
                throw TemporaryFilesystemError(message: message)
            }
            throw XCTSkip(message)
        }
    }

    public static func unmount(_ path: String) {
        let result = run("/bin/umount", [path])
        if result.status != 0 { XCTFail("umount \(path) failed: \(result.output)") }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes zeros to `path` until the filesystem is full; returns the path.
    public static func fill(_ path: String) throws -> String {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw TemporaryFilesystemError(message: "cannot create \(path)") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 4096)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        guard errno == ENOSPC else { throw TemporaryFilesystemError(message: "filling \(path) stopped with errno \(errno)") }
        return path
    }

    private static func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}

public struct TemporaryFilesystemError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
