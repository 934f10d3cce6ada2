import Foundation
import XCTest

@testable import Ingest

final class LineReaderTests: XCTestCase {
    /// Feeds `input` through a pipe in pieces of `piece` bytes and collects
    /// what the reader yields.
    private func read(_ input: [UInt8], lineBytesMax: Int, chunkBytes: Int) throws -> [String] {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let writeEnd = fds[1]
        let writer = Thread {
            var offset = 0
            while offset < input.count {
                let n = input.withUnsafeBytes { write(writeEnd, $0.baseAddress! + offset, min(7, input.count - offset)) }
                offset += n
            }
            close(writeEnd)
        }
        writer.start()
        var reader = LineReader(fd: fds[0], lineBytesMax: lineBytesMax, chunkBytes: chunkBytes)
        defer { reader.close(); close(fds[0]) }
        var out: [String] = []
        while let line = try reader.next() {
            switch line {
            case .line(let number, let bytes): out.append("\(number):" + String(decoding: bytes, as: UTF8.self))
            case .tooLarge(let number, let bytes): out.append("\(number):TOO LARGE \(bytes)")
            }
        }
        return out
    }

    func testSplitsLinesAtEveryChunkSize() throws {
        let input = Array("a\nbb\r\n\nccc\r\ndddd".utf8)
        for chunk in 1...8 {
            XCTAssertEqual(try read(input, lineBytesMax: 10, chunkBytes: chunk), ["1:a", "2:bb", "3:", "4:ccc", "5:dddd"], "chunk \(chunk)")
        }
    }

    func testOverlongLinesAreDiscardedWithBoundedMemory() throws {
        let long = String(repeating: "x", count: 100)
        let input = Array("ok\n\(long)\nfine\n\(String(repeating: "y", count: 11))\n\(String(repeating: "z", count: 10))\r\nend".utf8)
        for chunk in [1, 3, 16, 64] {
            XCTAssertEqual(try read(input, lineBytesMax: 10, chunkBytes: chunk),
                           ["1:ok", "2:TOO LARGE 100", "3:fine", "4:TOO LARGE 11", "5:zzzzzzzzzz", "6:end"], "chunk \(chunk)")
        }
        // A stream with no newline at all: one overlong line, then the end.
        XCTAssertEqual(try read([UInt8](repeating: 65, count: 5000), lineBytesMax: 10, chunkBytes: 64), ["1:TOO LARGE 5000"])
    }
}
