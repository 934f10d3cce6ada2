import CLZ4
import TestSupport
import XCTest

@testable import EventLog

/// Codec 2 frames decode right after a copy of the segment's dictionary in
/// one buffer (`DictionaryWindow`), so LZ4 takes its prefix path: with a
/// dictionary under 64 KiB its "small prefix" path, at exactly 64 KiB its
/// "64 KiB prefix" path. Both must find matches at the very start and the
/// very end of the dictionary, also once the buffer has grown for a large
/// frame and when one decoder decodes frame after frame.
final class DictionaryWindowTests: XCTestCase {
    func testFramesDecodeAgainstDictionariesOfEverySizeUpTo64KiB() throws {
        var random = SplitMix(seed: 21)
        for size in [1, 4_096, 65_535, LZ4.dictionaryBytesMax] {
            let dictionary = (0..<size).map { _ in UInt8(random.int(0...255)) }
            let decoder = FrameDecoder()
            dictionary.withUnsafeBytes { decoder.load(dictionary: $0) }
            // Small, then large enough to grow the window, then small again.
            for payloadBytes in [300, 700_000, 5_000] {
                let payload = Self.payload(quoting: dictionary, bytes: payloadBytes, random: &random)
                let (header, headerBytes, stored) = try Self.frame(payload, dictionary: dictionary)
                let result = headerBytes.withUnsafeBytes { h in
                    stored.withUnsafeBytes { s in decoder.rawPayload(header: header, headerBytes: h, stored: s).map { Array($0) } }
                }
                switch result {
                case .success(let bytes): XCTAssertTrue(bytes == payload, "dictionary \(size) B, payload \(payloadBytes) B: decoded bytes differ")
                case .failure(let failure): XCTFail("dictionary \(size) B, payload \(payloadBytes) B: \(failure.reason)")
                }
            }
        }
    }

    /// Runs copied from the dictionary's first and last bytes (the farthest
    /// and nearest offsets a match can reach), then from anywhere in it,
    /// between random bytes.
    private static func payload(quoting dictionary: [UInt8], bytes: Int, random: inout SplitMix) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 64)
        let edge = min(dictionary.count, 32)
        out += dictionary.prefix(edge)
        out += dictionary.suffix(edge)
        while out.count < bytes {
            let length = min(random.int(4...40), dictionary.count)
            let start = random.int(0...(dictionary.count - length))
            out += dictionary[start..<(start + length)]
            out += (0..<random.int(0...6)).map { _ in UInt8(random.int(0...255)) }
        }
        return Array(out.prefix(bytes))
    }

    /// A codec 2 frame of `payload` compressed with LZ4 HC against `dictionary`.
    private static func frame(_ payload: [UInt8], dictionary: [UInt8]) throws -> (FrameHeader, [UInt8], [UInt8]) {
        let stream = LZ4_createStreamHC()!
        defer { LZ4_freeStreamHC(stream) }
        var stored = [UInt8](repeating: 0, count: LZ4.compressBound(payload.count))
        let n = payload.withUnsafeBytes { src in
            stored.withUnsafeMutableBytes { dst in
                dictionary.withUnsafeBytes { LZ4.compressHC(src, into: dst, dictionary: $0, level: 9, stream: stream) }
            }
        }
        XCTAssertGreaterThan(n, 0)
        stored.removeSubrange(n...)
        // The payload must have used the dictionary: far smaller than itself
        // (random bytes quoting a 1-byte dictionary cannot be).
        if dictionary.count > 1 { XCTAssertLessThan(n, payload.count * 3 / 4, "payload \(payload.count) B compressed to \(n) B") }
        var header = FrameHeader(
            codec: .lz4Dictionary, baseSeq: 1, count: 1, rawLength: UInt32(payload.count), storedLength: UInt32(n), crc: 0,
            firstRecorded: 0, lastRecorded: 0, minEventTime: 0, maxEventTime: 0)
        var headerBytes = [UInt8](repeating: 0, count: FrameHeader.size)
        headerBytes.withUnsafeMutableBytes { out in stored.withUnsafeBytes { header.write(into: out, payload: $0) } }
        header.crc = headerBytes.withUnsafeBytes { $0.loadLE(UInt32.self, at: 28) }
        return (header, headerBytes, stored)
    }
}
