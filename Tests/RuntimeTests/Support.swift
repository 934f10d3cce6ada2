import EventGenerator
import Foundation
import Ingest
import Logging
import TestSupport
import XCTest

@testable import Runtime

/// The package root (three levels up from this file).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// `count` valid events as NDJSON lines (no `\n`), distinct ids.
func generatedLines(_ count: Int, seed: UInt64 = 7) -> [String] {
    var generator = HistoryGenerator(options: GeneratorOptions(users: count / 150 + 1, seed: seed, months: 12))
    var lines: [String] = []
    var line: [UInt8] = []
    while lines.count < count {
        line.removeAll(keepingCapacity: true)
        guard generator.nextLine(into: &line) else { break }
        if line.last == UInt8(ascii: "\n") { line.removeLast() }
        lines.append(String(decoding: line, as: UTF8.self))
    }
    return lines
}

/// Sends `lines` on one connection and reads answers until one per line
/// came or the server closed the connection.
func exchange(_ lines: [String], with endpoint: IngestEndpoint) throws -> [IngestAck] {
    let socket = try IngestSocket(endpoint: endpoint)
    defer { socket.close() }
    try socket.send(lines.map { $0 + "\n" }.joined())
    return try AnswerReader(socket).read(atLeast: lines.count)
}

/// Reads answer lines from one connection, keeping a line cut between two
/// reads for the next call.
final class AnswerReader {
    let socket: IngestSocket
    private var buffer = ResponseLineBuffer()
    private(set) var closed = false

    init(_ socket: IngestSocket) { self.socket = socket }

    /// Answers until at least `count` came (more when they arrive in the
    /// same read), or the server closed the connection.
    func read(atLeast count: Int, timeoutMs: Int32 = 20_000) throws -> [IngestAck] {
        var answers: [IngestAck] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { chunk.deallocate() }
        while answers.count < count, !closed {
            let n = try socket.receive(into: chunk, timeoutMs: timeoutMs)
            if n == 0 { closed = true; break }
            buffer.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            buffer.forEachLine { answers.append(IngestAck(line: $0)!) }
        }
        return answers
    }
}

