import Foundation
import XCTest

@testable import Ingest

#if canImport(Glibc)
import Glibc
#endif

/// The Unix socket exists at its path only with its mode: it is bound in a
/// private staging directory, chmod-ed there, and renamed into place.
final class IngestServerSocketModeTests: XCTestCase {
    /// Names created (IN_CREATE) and moved in (IN_MOVED_TO) in `directory`
    /// while `body` runs, read with inotify.
    private func watch(_ directory: String, _ body: () throws -> Void) throws -> (created: [String], movedIn: [String]) {
        let fd = inotify_init1(Int32(IN_NONBLOCK))
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertGreaterThanOrEqual(inotify_add_watch(fd, directory, UInt32(IN_CREATE | IN_MOVED_TO)), 0)
        try body()
        var created: [String] = [], movedIn: [String] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        var offset = 0
        while count > 0, offset < count {
            buffer.withUnsafeBytes { raw in
                let event = raw.load(fromByteOffset: offset, as: inotify_event.self)
                let nameStart = offset + MemoryLayout<inotify_event>.size
                let nameBytes = raw[nameStart..<(nameStart + Int(event.len))].prefix { $0 != 0 }
                let name = String(decoding: nameBytes, as: UTF8.self)
                if event.mask & UInt32(IN_MOVED_TO) != 0 { movedIn.append(name) } else { created.append(name) }
                offset = nameStart + Int(event.len)
            }
        }
        return (created, movedIn)
    }

    func testTheSocketAppearsAtItsPathWithItsModeAlready() throws {
        let directory = ServerTestSupport.makeDirectory()
        var server: TestServer?
        let seen = try watch(directory) {
            server = try TestServer(directory: directory) { $0.unixSocketMode = 0o600 }
        }
        defer { server?.stop() }
        XCTAssertEqual(seen.movedIn, ["ingest.sock"], "renamed into place, after its chmod")
        XCTAssertFalse(seen.created.contains("ingest.sock"), "never bound at its path with the umask's permissions")
        var info = stat()
        XCTAssertEqual(lstat(directory + "/ingest.sock", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".s") }
        XCTAssertEqual(leftovers, [], "the staging directory is removed")
        let client = try server!.connect(server!.unix)
        try client.send(lines: ServerTestSupport.validLines(1))
        XCTAssertEqual(try client.readAck().seq, 1)
    }

    func testASocketDirectoryTooLongForStagingIsRefusedWithTheLimit() throws {
        let directory = ServerTestSupport.makeDirectory()
        let deep = directory + "/" + String(repeating: "d", count: max(1, 100 - directory.utf8.count))
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        XCTAssertThrowsError(try TestServer(directory: directory) { $0.unixSocketPath = deep + "/s" }) { error in
            XCTAssertTrue("\(error)".contains("its directory must be at most 96 bytes; choose a shorter --socket path"), "\(error)")
        }
    }
}
