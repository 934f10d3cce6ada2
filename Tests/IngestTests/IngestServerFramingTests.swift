import NIOCore
import NIOEmbedded
import XCTest

@testable import Ingest

/// `LineFrameDecoder` in a real `ByteToMessageHandler`, fed by hand.
final class IngestServerFramingTests: XCTestCase {
    /// Feeds `pieces` one write at a time, then ends the input; returns the
    /// frames as text ("TOO LARGE n" for overlong lines).
    private func frames(_ pieces: [String], lineBytesMax: Int) throws -> [String] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(lineBytesMax: lineBytesMax)))
        var out: [String] = []
        func drain() throws {
            while let frame = try channel.readInbound(as: LineFrame.self) {
                switch frame {
                case .line(let buffer): out.append(String(buffer: buffer))
                case .tooLarge(let bytes): out.append("TOO LARGE \(bytes)")
                case .shed(let bytes): out.append("SHED \(bytes)")
                }
            }
        }
        for piece in pieces {
            try channel.writeInbound(ByteBuffer(string: piece))
            try drain()
        }
        _ = try channel.finish(acceptAlreadyClosed: false)
        try drain()
        return out
    }

    func testManyLinesInOneBufferAndCRLF() throws {
        XCTAssertEqual(try frames(["a\nbb\r\n\nccc\r\n"], lineBytesMax: 10), ["a", "bb", "", "ccc"])
    }

    func testOneByteAtATime() throws {
        let text = "first\r\nsecond\n\nthird"
        XCTAssertEqual(try frames(text.map { String($0) }, lineBytesMax: 10), ["first", "second", "", "third"])
    }

    func testALineAtTheLimitPassesAndOneByteMoreIsTooLarge() throws {
        let limit = 8
        XCTAssertEqual(try frames([String(repeating: "a", count: limit) + "\r\n", String(repeating: "b", count: limit + 1) + "\n", "ok\n"],
                                  lineBytesMax: limit),
                       [String(repeating: "a", count: limit), "TOO LARGE 9", "ok"])
    }

    func testAnOverlongLineSpreadOverReadsIsMeasuredAndDiscarded() throws {
        // 25 bytes of line, a "\r" at the end of one read and its "\n" in the next.
        XCTAssertEqual(try frames(["0123456789", "0123456789", "01234\r", "\nnext\n"], lineBytesMax: 8),
                       ["TOO LARGE 25", "next"])
    }

    func testAnOverlongLineAtEndOfInputIsReported() throws {
        XCTAssertEqual(try frames(["ok\n", String(repeating: "x", count: 50)], lineBytesMax: 8), ["ok", "TOO LARGE 50"])
    }

    func testALastLineWithoutNewlineCounts() throws {
        XCTAssertEqual(try frames(["a\nlast\r"], lineBytesMax: 8), ["a", "last"])
    }

    /// Memory: while a line without end streams in, the decoder keeps no
    /// more than the limit (plus one read) buffered.
    func testDiscardingKeepsTheBufferBounded() throws {
        var decoder = LineFrameDecoder(lineBytesMax: 1024)
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        let chunk = [UInt8](repeating: UInt8(ascii: "q"), count: 700)
        var maxBuffered = 0
        for _ in 0..<10_000 {
            buffer.writeBytes(chunk)
            while decoder.nextFrame(&buffer) != nil {}
            maxBuffered = max(maxBuffered, buffer.readableBytes)
            buffer.discardReadBytes()
        }
        XCTAssertLessThanOrEqual(maxBuffered, 1024 + 1)
        buffer.writeString("\nafter\n")
        XCTAssertEqual(decoder.nextFrame(&buffer), .tooLarge(bytes: 7_000_000))
        XCTAssertEqual(decoder.nextFrame(&buffer), .line(ByteBuffer(string: "after")))
    }
}
