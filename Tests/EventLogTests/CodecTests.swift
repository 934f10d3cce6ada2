import Foundation
import TestSupport
import XCTest

@testable import EventLog

/// The format's pieces one by one (FORMAT.md): varints, zigzag, the frame
/// header, the record codec, the index file and the durable mark. Round
/// trips, boundaries, and rejection of overlong or truncated input.
final class CodecTests: XCTestCase {
    // MARK: - Varint and zigzag

    private func decodeVarint(_ bytes: [UInt8]) -> (value: UInt64, used: Int)? {
        bytes.withUnsafeBytes { b in
            var cursor = ByteCursor(b, from: 0, to: b.count)
            guard let v = try? cursor.varint("test") else { return nil }
            return (v, cursor.position)
        }
    }

    func testVarintRoundTripsAtEveryLengthBoundary() {
        var values: [UInt64] = [0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, UInt64.max, UInt64.max - 1, 1 << 63]
        for bits in 1...63 { values += [(1 << UInt64(bits)) - 1, 1 << UInt64(bits)] }
        for value in values {
            var out: [UInt8] = []
            out.appendVarint(value)
            let expectedLength = value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
            XCTAssertEqual(out.count, expectedLength, "\(value)")
            XCTAssertEqual(RecordCodec.varintSize(value), out.count, "\(value)")
            XCTAssertEqual(decodeVarint(out)?.value, value)
            XCTAssertEqual(decodeVarint(out)?.used, out.count)
            XCTAssertEqual(decodeVarint(out + [0xAA])?.used, out.count, "stops at its last byte")
        }
    }

    func testVarintExactBytes() {
        var out: [UInt8] = []
        out.appendVarint(300)
        XCTAssertEqual(out, [0xAC, 0x02])
        out = []
        out.appendVarint(UInt64.max)
        XCTAssertEqual(out, [UInt8](repeating: 0xFF, count: 9) + [0x01])
    }

    func testVarintRejectsOverlongAndTruncatedInput() {
        // A 10th byte may only carry the 64th bit.
        XCTAssertNil(decodeVarint([UInt8](repeating: 0xFF, count: 9) + [0x02]))
        XCTAssertNil(decodeVarint([UInt8](repeating: 0xFF, count: 9) + [0x7F]))
        // An 11th byte never.
        XCTAssertNil(decodeVarint([UInt8](repeating: 0x80, count: 10) + [0x00]))
        // Truncated: the continuation bit promises a byte that is not there.
        XCTAssertNil(decodeVarint([]))
        XCTAssertNil(decodeVarint([0x80]))
        XCTAssertNil(decodeVarint([0xFF, 0xFF]))
        // Zero-padded but within 10 bytes is accepted (the writer never produces it).
        XCTAssertEqual(decodeVarint([0x81, 0x80, 0x00])?.value, 1)
    }

    func testZigzagMapsSmallMagnitudesToSmallNumbers() {
        let pairs: [(Int64, UInt64)] = [(0, 0), (-1, 1), (1, 2), (-2, 3), (2, 4), (63, 126), (-64, 127),
                                        (Int64.max, UInt64.max - 1), (Int64.min, UInt64.max)]
        for (signed, unsigned) in pairs {
            XCTAssertEqual(RecordCodec.zigzag(signed), unsigned, "\(signed)")
            XCTAssertEqual(RecordCodec.unzigzag(unsigned), signed, "\(unsigned)")
        }
        var random = SplitMix(seed: 5)
        for _ in 0..<1000 {
            let v = Int64(bitPattern: random.next())
            XCTAssertEqual(RecordCodec.unzigzag(RecordCodec.zigzag(v)), v)
        }
    }

    // MARK: - Frame header

    private func sampleHeader() -> FrameHeader {
        FrameHeader(codec: .lz4, baseSeq: 0x0102_0304_0506_0708, count: 3, rawLength: 200, storedLength: 120, crc: 0,
                    firstRecorded: 1_700_000_000_000_000, lastRecorded: 1_700_000_000_000_123,
                    minEventTime: -5, maxEventTime: 1_800_000_000_000_000)
    }

    private func encode(_ header: FrameHeader, payload: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: FrameHeader.size)
        bytes.withUnsafeMutableBytes { out in
            payload.withUnsafeBytes { header.write(into: out, payload: $0) }
        }
        return bytes
    }

    func testFrameHeaderLayoutAndRoundTrip() throws {
        let payload = [UInt8](repeating: 9, count: 120)
        var header = sampleHeader()
        let bytes = encode(header, payload: payload)
        XCTAssertEqual(Array(bytes[0..<4]), Array("CLF1".utf8))
        XCTAssertEqual(bytes[4], 1)
        XCTAssertEqual(bytes[5], 1)
        XCTAssertEqual(Array(bytes[6..<8]), [64, 0])
        XCTAssertEqual(Array(bytes[8..<16]), [8, 7, 6, 5, 4, 3, 2, 1])
        XCTAssertEqual(Array(bytes[16..<20]), [3, 0, 0, 0])
        let decoded = try bytes.withUnsafeBytes { try FrameHeader.decode($0, limits: LogLimits()).get() }
        header.crc = decoded.crc
        XCTAssertEqual(decoded, header)
        let crc = bytes.withUnsafeBytes { b in payload.withUnsafeBytes { FrameHeader.checksum(header: b, payload: $0) } }
        XCTAssertEqual(decoded.crc, crc)
        XCTAssertEqual(decoded.frameLength, 64 + 120)
        XCTAssertEqual(decoded.lastSeq, 0x0102_0304_0506_0708 + 2)
    }

    func testFrameHeaderRejectsTruncationAndBadFields() {
        let bytes = encode(sampleHeader(), payload: [UInt8](repeating: 9, count: 120))
        func failure(_ b: [UInt8]) -> DecodeFailure? {
            b.withUnsafeBytes { if case .failure(let f) = FrameHeader.decode($0, limits: LogLimits()) { return f } else { return nil } }
        }
        for n in 0..<FrameHeader.size { XCTAssertEqual(failure(Array(bytes[0..<n]))?.torn, true, "\(n) bytes") }
        func with(_ offset: Int, _ value: UInt8) -> [UInt8] { var b = bytes; b[offset] = value; return b }
        XCTAssertEqual(failure(with(0, 0x41))?.reason, "bad frame magic")
        XCTAssertEqual(failure(with(4, 3))?.reason, "unsupported frame version 3")
        XCTAssertEqual(failure(with(5, 7))?.reason, "unknown codec 7")
        XCTAssertEqual(failure(with(6, 65))?.reason, "bad frame header length")
        var zeroCount = bytes
        zeroCount.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        XCTAssertNotNil(failure(zeroCount))
        var huge = bytes
        huge.replaceSubrange(20..<24, with: [0xFF, 0xFF, 0xFF, 0x7F])
        XCTAssertNotNil(failure(huge), "a raw length past the limit is refused before allocating")
        var storedMismatch = bytes
        storedMismatch[5] = 0  // stored as is, but raw 200 != stored 120
        XCTAssertNotNil(failure(storedMismatch))
        var zeroBase = bytes
        zeroBase.replaceSubrange(8..<16, with: [UInt8](repeating: 0, count: 8))
        XCTAssertNotNil(failure(zeroBase))
    }

    func testSegmentHeaderRoundTripAndChecks() {
        let bytes = SegmentHeader(baseSeq: 412_877).encoded()
        XCTAssertEqual(bytes.count, 32)
        XCTAssertEqual(Array(bytes[0..<8]), Array("CAREERLG".utf8))
        XCTAssertEqual(bytes.withUnsafeBytes { try? SegmentHeader.decode($0).get() }, SegmentHeader(baseSeq: 412_877))
        for i in 0..<32 {
            var damaged = bytes
            damaged[i] ^= 0x01
            XCTAssertNil(damaged.withUnsafeBytes { try? SegmentHeader.decode($0).get() }, "flip at \(i)")
        }
    }

    // MARK: - Record codec

    private func frame(_ events: [LogEvent], baseSeq: UInt64 = 7, recorded: [Int64]? = nil) -> (header: FrameHeader, raw: [UInt8], bytes: [UInt8]) {
        var builder = FrameBuilder(capacity: 4096)
        let times = recorded ?? events.indices.map { 1_700_000_000_000_000 + Int64($0) * 10 }
        for (i, event) in events.enumerated() { builder.add(event, seq: baseSeq + UInt64(i), recorded: times[i]) }
        var out: [UInt8] = []
        let header = builder.finish(into: &out)
        let payload = Array(out[FrameHeader.size...])
        var raw = payload
        if header.codec == .lz4 {
            raw = [UInt8](repeating: 0, count: Int(header.rawLength))
            let ok = payload.withUnsafeBytes { src in raw.withUnsafeMutableBytes { LZ4.decompress(src, into: $0) } }
            XCTAssertTrue(ok)
        }
        return (header, raw, out)
    }

    private func decodeAll(_ header: FrameHeader, _ raw: [UInt8]) throws -> [EventRecord] {
        try raw.withUnsafeBytes { payload in
            var cache = TypeNameCache()
            let context = try RecordCodec.context(payload, header: header, cache: &cache)
            var offset = context.recordsStart
            var out: [EventRecord] = []
            for _ in 0..<header.count { out.append(try RecordCodec.decode(payload, at: &offset, base: context.base, pairs: context.pairs)) }
            XCTAssertEqual(offset, payload.count)
            return out
        }
    }

    func testRecordCodecRoundTripsTheCorners() throws {
        let id = UUID(uuidString: "00112233-4455-6677-8899-aabbccddeeff")!
        let times = [
            EventTime(seconds: 1_483_228_799, isLeapSecond: true),
            EventTime(seconds: -1, nanoseconds: 999_999_999, offsetMinutes: -1439, fractionDigits: 9),
            EventTime(seconds: 1_700_000_000, nanoseconds: 123_456_789, offsetMinutes: 1439, fractionDigits: 3),  // not exact: bit 6
            EventTime(seconds: 1_700_000_000, nanoseconds: 100_000_000, offsetMinutes: 330, fractionDigits: 1),
            EventTime(seconds: Int64(Int32.max) * 4, nanoseconds: 0, fractionDigits: 0),
        ]
        let events = times.enumerated().map { i, t in
            LogEvent(id: id, subject: id, time: t, source: i % 2 == 0 ? "a" : "ü-source", type: "t\(i % 3)",
                     dataVersion: [0, 1, 127, 128, UInt32.max][i], flags: i == 4 ? 1 : 0, data: Array("{\"i\":\(i)}".utf8))
        }
        let (header, raw, _) = frame(events, recorded: [10, 10, 11, 500, 1 << 40])
        let decoded = try decodeAll(header, raw)
        XCTAssertEqual(decoded.map(\.event), events)
        XCTAssertEqual(decoded.map(\.seq), [7, 8, 9, 10, 11])
        XCTAssertEqual(decoded.map(\.recorded), [10, 10, 11, 500, 1 << 40])
        XCTAssertNil(raw.withUnsafeBytes { RecordCodec.check($0, header: header) })
    }

    func testRecordBytesAreAsFormatMdSays() throws {
        let id = UUID(uuidString: "00112233-4455-6677-8899-aabbccddeeff")!
        let event = LogEvent(id: id, subject: id, time: EventTime(seconds: 100, nanoseconds: 694_000_000, offsetMinutes: -60, fractionDigits: 3),
                             source: "s", type: "tt", dataVersion: 2, data: Array("{}".utf8))
        let (_, raw, _) = frame([event], baseSeq: 1, recorded: [5])
        let idBytes: [UInt8] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF]
        let prefix: [UInt8] = [200, 1, 1, 1, 0x73, 2, 0x74, 0x74]  // zigzag(100), one pair, "s", "tt"
        let body: [UInt8] = [0, 0] + idBytes + idBytes + [0, 0xB6, 0x05, 119, 3, 0, 2, 0] + Array("{}".utf8)
        XCTAssertEqual(raw, prefix + [UInt8(body.count)] + body)
    }

    func testRecordCodecRejectsTruncatedAndOutOfRangeRecords() throws {
        let events = makeEvents(3, dataBytes: 20...30)
        let (header, raw, _) = frame(events)
        // Every truncation of the payload is refused by the frame check.
        for n in 0..<raw.count {
            let cut = Array(raw[0..<n])
            XCTAssertNotNil(cut.withUnsafeBytes { RecordCodec.check($0, header: header) }, "payload cut at \(n)")
        }
        XCTAssertNotNil((raw + [0]).withUnsafeBytes { RecordCodec.check($0, header: header) }, "a byte after the last record")
        var wrongCount = header
        wrongCount.count = 2
        XCTAssertNotNil(raw.withUnsafeBytes { RecordCodec.check($0, header: wrongCount) })
        var narrowRange = header
        narrowRange.lastRecorded = narrowRange.firstRecorded
        XCTAssertNotNil(raw.withUnsafeBytes { RecordCodec.check($0, header: narrowRange) }, "recorded outside the header's range")
        // Unknown flags and digit bits are refused by the decoder.
        let id = UUID()
        let one = LogEvent(id: id, subject: id, time: EventTime(seconds: 0), source: "s", type: "t", data: [])
        let (h, r, _) = frame([one], baseSeq: 1, recorded: [0])
        let digitsAt = r.count - 4  // digits, flags, data version, pair index
        for (offset, value) in [(digitsAt, UInt8(0x10)), (digitsAt, 0x0A), (digitsAt + 1, 0x02), (digitsAt + 3, 1)] {
            var bad = r
            bad[offset] = value
            XCTAssertThrowsError(try decodeAll(h, bad), "byte \(offset) = \(value)")
        }
    }

    // MARK: - Segment index file

    func testIndexFileRoundTripAndRejection() {
        let entries = [
            IndexEntry(baseSeq: 10, offset: 32, count: 5, rawLength: 900, firstRecorded: 1, minEventTime: -3, maxEventTime: 8),
            IndexEntry(baseSeq: 15, offset: 700, count: 1, rawLength: 60, firstRecorded: 2, minEventTime: 4, maxEventTime: 4),
        ]
        let bytes = SegmentIndexFile.encode(entries: entries, segmentBase: 10, segmentLength: 800)
        XCTAssertEqual(bytes.count, 40 + 2 * 48)
        XCTAssertEqual(Array(bytes[0..<8]), Array("CLIDX001".utf8))
        XCTAssertEqual(SegmentIndexFile.decode(bytes, segmentBase: 10, segmentLength: 800), entries)
        XCTAssertNil(SegmentIndexFile.decode(bytes, segmentBase: 10, segmentLength: 801), "built for another length")
        XCTAssertNil(SegmentIndexFile.decode(bytes, segmentBase: 11, segmentLength: 800), "built for another segment")
        XCTAssertEqual(SegmentIndexFile.decode(bytes, segmentBase: 10)?.length, 800)
        for n in 0..<bytes.count { XCTAssertNil(SegmentIndexFile.decode(Array(bytes[0..<n]), segmentBase: 10), "cut at \(n)") }
        for i in 0..<bytes.count where !(36..<40).contains(i) {
            var damaged = bytes
            damaged[i] ^= 0x20
            XCTAssertNil(SegmentIndexFile.decode(damaged, segmentBase: 10, segmentLength: 800), "flip at \(i)")
        }
        // Consistent CRC but entries that do not follow each other: refused.
        let gap = [entries[0], IndexEntry(baseSeq: 16, offset: 700, count: 1, rawLength: 60, firstRecorded: 2, minEventTime: 4, maxEventTime: 4)]
        XCTAssertNil(SegmentIndexFile.decode(SegmentIndexFile.encode(entries: gap, segmentBase: 10, segmentLength: 800), segmentBase: 10))
        XCTAssertEqual(SegmentIndexFile.decode(SegmentIndexFile.encode(entries: [], segmentBase: 10, segmentLength: 32), segmentBase: 10, segmentLength: 32), [])
    }

    // MARK: - Durable mark

    func testDurableMarkRoundTripAndRejection() throws {
        let mark = DurableMark(segmentBase: 412_877, length: 1 << 33, lastSeq: UInt64.max - 1)
        let bytes = mark.encoded()
        XCTAssertEqual(bytes.count, 36)
        XCTAssertEqual(Array(bytes[0..<4]), Array("CLDM".utf8))
        XCTAssertEqual(DurableMark.decode(bytes), mark)
        for n in 0..<bytes.count { XCTAssertNil(DurableMark.decode(Array(bytes[0..<n])), "cut at \(n)") }
        XCTAssertNil(DurableMark.decode(bytes + [0]))
        for i in 0..<bytes.count {
            var damaged = bytes
            damaged[i] ^= 0x01
            XCTAssertNil(DurableMark.decode(damaged), "flip at \(i)")
        }
        XCTAssertEqual(mark.readableLength(ofSegment: 412_877, size: 1 << 34), 1 << 33)
        XCTAssertEqual(mark.readableLength(ofSegment: 412_877, size: 100), 100)
        XCTAssertEqual(mark.readableLength(ofSegment: 1, size: 5000), 5000)
        XCTAssertEqual(mark.readableLength(ofSegment: 500_000, size: 5000), 32)
        let dir = makeTemporaryDirectory()
        let writer = try DurableMarkWriter(directory: dir)
        try writer.write(mark)
        try writer.sync()
        XCTAssertEqual(DurableMark.read(directory: dir), mark)
        writeBytes([UInt8](repeating: 0, count: 36), dir + "/DURABLE")
        XCTAssertNil(DurableMark.read(directory: dir), "zeros (a power cut on an unsynced file) count as no mark")
    }
}
