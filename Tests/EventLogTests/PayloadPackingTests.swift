import Foundation
import TestSupport
import XCTest

@testable import EventLog

/// The payload packing of codec 3 frames (FORMAT.md, "Packed payloads"):
/// exact round trips for any bytes, UUID text packed only in its canonical
/// lowercase form, and malformed packed bytes refused, never trusted.
final class PayloadPackingTests: XCTestCase {
    private func pack(_ raw: [UInt8]) -> (packed: [UInt8], uuids: Int) {
        var out: [UInt8] = []
        let n = raw.withUnsafeBytes { PayloadPacking.pack($0, into: &out) }
        return (out, n)
    }

    private func unpack(_ packed: [UInt8], length: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0xAA, count: length)
        let ok = packed.withUnsafeBytes { source in out.withUnsafeMutableBytes { PayloadPacking.unpack(source, into: $0) } }
        return ok ? out : nil
    }

    private func assertRoundTrip(_ raw: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        let (packed, _) = pack(raw)
        XCTAssertLessThanOrEqual(packed.count, PayloadPacking.packedBound(raw.count), file: file, line: line)
        XCTAssertEqual(unpack(packed, length: raw.count), raw, file: file, line: line)
    }

    func testAnyBytesRoundTrip() {
        var random = SplitMix(seed: 7)
        assertRoundTrip([])
        assertRoundTrip([0xFF])
        assertRoundTrip([0xFF, 0xFF, 0x00, 0x01, 0xFF])
        for _ in 0..<500 {
            let n = random.int(0...600)
            // Biased towards the bytes that matter: the marker, its tags,
            // quotes, hyphens and hex digits.
            let alphabet: [UInt8] = [0xFF, 0x00, 0x01, 0x22, 0x2D] + Array("0123456789abcdefABCDEF".utf8)
            let raw = (0..<n).map { _ in random.int(0...3) == 0 ? UInt8(random.int(0...255)) : alphabet[random.int(0...alphabet.count - 1)] }
            assertRoundTrip(raw)
        }
    }

    func testCanonicalLowercaseUUIDTextIsPackedToEighteenBytes() {
        let text = #"{"task_id":"0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011","n":1}"#
        let raw = Array(text.utf8)
        let (packed, uuids) = pack(raw)
        XCTAssertEqual(uuids, 1)
        XCTAssertEqual(packed.count, raw.count - 38 + 18)
        let start = Array(#"{"task_id":"#.utf8).count
        XCTAssertEqual(Array(packed[start..<start + 18]),
                       [0xFF, 0x01, 0x0F, 0x1E, 0x2D, 0x3C, 0x4B, 0x5A, 0x69, 0x78, 0x8A, 0x9B, 0xAC, 0xBD, 0xCE, 0xDF, 0x00, 0x11])
        assertRoundTrip(raw)
        // Back to back, and at both ends of the payload.
        let u = #""00000000-0000-0000-0000-0000000000ff""#
        let edges = Array((u + u + "," + u).utf8)
        XCTAssertEqual(pack(edges).uuids, 3)
        assertRoundTrip(edges)
    }

    func testNonCanonicalTextStaysText() {
        let variants = [
            #""0F1E2D3C-4B5A-6978-8A9B-ACBDCEDF0011""#,   // uppercase
            #""0f1e2d3c-4b5a-6978-8a9b-acbdcedf001""#,    // 35 characters
            #""0f1e2d3c-4b5a-6978-8a9b-acbdcedf00111""#,  // 37 characters
            #""0f1e2d3c4b5a-6978-8a9b-acbdcedf00111-""#,  // hyphen misplaced
            #""0f1e2d3c-4b5a-6978-8a9b-acbdcedf001g""#,   // not hex
            #""{0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011}""#, // braces
            #""0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011"#,    // no closing quote
        ]
        for text in variants {
            let raw = Array(text.utf8)
            let (packed, uuids) = pack(raw)
            XCTAssertEqual(uuids, 0, text)
            XCTAssertEqual(packed, raw, text)
        }
    }

    func testMalformedPackedBytesAreRefused() {
        let uuid: [UInt8] = [0xFF, 0x01] + [UInt8](repeating: 0x5A, count: 16)
        XCTAssertNotNil(unpack(uuid, length: 38))
        XCTAssertNil(unpack([0x41, 0xFF], length: 2), "a marker at the end")
        XCTAssertNil(unpack([0xFF, 0x02, 0x41], length: 2), "an unknown tag")
        XCTAssertNil(unpack(Array(uuid.dropLast()), length: 38), "a UUID cut short")
        XCTAssertNil(unpack(uuid, length: 37), "unpacks past the expected length")
        XCTAssertNil(unpack(uuid, length: 39), "unpacks short of the expected length")
        XCTAssertNil(unpack([0x41, 0xFF, 0x00], length: 1))
        // Arbitrary bytes never crash: refused, or unpacked to exactly the length.
        var random = SplitMix(seed: 9)
        for _ in 0..<2000 {
            let packed = (0..<random.int(0...80)).map { _ in random.int(0...2) == 0 ? 0xFF : UInt8(random.int(0...2)) }
            let length = random.int(0...120)
            if let out = unpack(packed, length: length) { XCTAssertEqual(out.count, length) }
        }
    }

    /// A codec 3 frame whose packed bytes are malformed but whose CRC is
    /// good (a writer bug, not disk damage) is reported, not decoded.
    func testAFrameThatDoesNotUnpackIsCorruption() throws {
        let dictionary = [UInt8](repeating: 0x20, count: 64)
        let badPacked: [UInt8] = Array("{\"a\":".utf8) + [0xFF, 0x07] + Array("}".utf8)
        var stored = [UInt8](repeating: 0, count: LZ4.compressBound(badPacked.count))
        // A block that refers to no dictionary bytes decodes with any dictionary.
        let n = badPacked.withUnsafeBytes { src in stored.withUnsafeMutableBytes { LZ4.compress(src, into: $0) } }
        stored.removeSubrange(n...)
        var header = FrameHeader(
            codec: .lz4DictionaryPacked, baseSeq: 1, count: 1, rawLength: 64, storedLength: UInt32(n), crc: 0,
            firstRecorded: 0, lastRecorded: 0, minEventTime: 0, maxEventTime: 0)
        var headerBytes = [UInt8](repeating: 0, count: FrameHeader.size)
        headerBytes.withUnsafeMutableBytes { out in stored.withUnsafeBytes { header.write(into: out, payload: $0) } }
        header.crc = headerBytes.withUnsafeBytes { $0.loadLE(UInt32.self, at: 28) }
        let decoder = FrameDecoder()
        dictionary.withUnsafeBytes { decoder.load(dictionary: $0) }
        let result = headerBytes.withUnsafeBytes { h in
            stored.withUnsafeBytes { s in decoder.rawPayload(header: header, headerBytes: h, stored: s) }
        }
        guard case .failure(let failure) = result else { return XCTFail("a malformed packed payload decoded") }
        XCTAssertTrue(failure.reason.contains("does not unpack"), failure.reason)
    }
}
