import Foundation
import TestSupport
import XCTest

@testable import EventLog

/// The audit trail in the log (FORMAT.md, "Producers"): version 2 frames
/// with a producer table and a producer index per record, version 1
/// frames unchanged, the writer's cut between them, the reader's producer
/// filter, and the checks on damaged tables and indexes.
final class ProducerTableTests: XCTestCase {
    private static let id = UUID(uuidString: "00112233-4455-6677-8899-aabbccddeeff")!

    private func event(_ n: Int, producer: String?, type: String = "skill.assessed", data: String = "{}") -> LogEvent {
        var event = LogEvent(id: UUID(uuidString: String(format: "00000000-0000-4000-8000-%012x", n))!, subject: Self.id,
                             time: EventTime(seconds: 1_700_000_000 + Int64(n)), source: "s", type: type, data: Array(data.utf8))
        event.producer = producer
        return event
    }

    /// One frame built from `events` (all in it: no cut), its raw payload.
    private func frame(_ events: [LogEvent], baseSeq: UInt64 = 1) -> (header: FrameHeader, raw: [UInt8], bytes: [UInt8]) {
        var builder = FrameBuilder(capacity: 4096)
        for (i, event) in events.enumerated() {
            XCTAssertTrue(builder.canHold(event), "event \(i) fits the frame")
            builder.add(event, seq: baseSeq + UInt64(i), recorded: 1000 + Int64(i))
        }
        var out: [UInt8] = []
        let header = builder.finish(into: &out)
        var raw = Array(out[FrameHeader.size...])
        if header.codec == .lz4 {
            let stored = raw
            raw = [UInt8](repeating: 0, count: Int(header.rawLength))
            XCTAssertTrue(stored.withUnsafeBytes { src in raw.withUnsafeMutableBytes { LZ4.decompress(src, into: $0) } })
        }
        return (header, raw, out)
    }

    private func decodeAll(_ header: FrameHeader, _ raw: [UInt8]) throws -> [EventRecord] {
        try raw.withUnsafeBytes { payload in
            var cache = TypeNameCache()
            let context = try RecordCodec.context(payload, header: header, cache: &cache)
            var offset = context.recordsStart
            var out: [EventRecord] = []
            for _ in 0..<header.count {
                out.append(try RecordCodec.decode(payload, at: &offset, base: context.base, pairs: context.pairs, producers: context.producers))
            }
            XCTAssertEqual(offset, payload.count)
            return out
        }
    }

    // MARK: - Frames

    func testAFrameWithProducersIsVersion2AndRoundTrips() throws {
        let events = [event(1, producer: "careerforge-api"), event(2, producer: "mentor-service"),
                      event(3, producer: nil), event(4, producer: "careerforge-api")]
        let (header, raw, bytes) = frame(events)
        XCTAssertEqual(bytes[4], 2, "frame version")
        XCTAssertEqual(header.version, 2)
        XCTAssertNil(raw.withUnsafeBytes { RecordCodec.check($0, header: header) })
        let decoded = try decodeAll(header, raw)
        XCTAssertEqual(decoded.map(\.event), events)
        XCTAssertEqual(decoded.map(\.event.producer), ["careerforge-api", "mentor-service", nil, "careerforge-api"])
        // The header reads back as version 2.
        let readBack = try bytes.withUnsafeBytes { try FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[0..<64]), limits: LogLimits()).get() }
        XCTAssertEqual(readBack.version, 2)
    }

    func testAFrameWithoutProducersStaysVersion1() throws {
        let (header, raw, bytes) = frame([event(1, producer: nil), event(2, producer: nil)])
        XCTAssertEqual(bytes[4], 1)
        XCTAssertEqual(header.version, 1)
        XCTAssertEqual(try decodeAll(header, raw).map(\.event.producer), [nil, nil])
    }

    func testProducerBytesAreAsFormatMdSays() throws {
        let e = LogEvent(id: Self.id, subject: Self.id, time: EventTime(seconds: 100, nanoseconds: 694_000_000, offsetMinutes: -60, fractionDigits: 3),
                         source: "s", type: "tt", dataVersion: 2, data: Array("{}".utf8), producer: "p1")
        let (header, raw, _) = frame([e])
        XCTAssertEqual(header.version, 2)
        let idBytes: [UInt8] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF]
        // zigzag(100) (two bytes), one pair "s"/"tt", then one producer "p1".
        let prefix: [UInt8] = [200, 1, 1, 1, 0x73, 2, 0x74, 0x74] + [1, 2, 0x70, 0x31]
        // ... digits, flags, data version 2, pair index 0, producer index 1, data.
        let body: [UInt8] = [0, 0] + idBytes + idBytes + [0, 0xB6, 0x05, 119, 3, 0, 2, 0, 1] + Array("{}".utf8)
        XCTAssertEqual(raw, prefix + [UInt8(body.count)] + body)
    }

    func testDamagedProducerTablesAndIndexesAreCorrupt() throws {
        let (header, raw, _) = frame([event(1, producer: "p1")])
        let indexAt = raw.count - 3  // producer index, then "{}"
        XCTAssertEqual(raw[indexAt], 1)
        for bad in [UInt8(2), 0x7F] {
            var damaged = raw
            damaged[indexAt] = bad
            XCTAssertEqual(damaged.withUnsafeBytes { RecordCodec.check($0, header: header) }, "record 1 names producer \(bad) of 1")
            XCTAssertThrowsError(try decodeAll(header, damaged))
        }
        // Index 0 (no producer) is always allowed in a version 2 frame.
        var none = raw
        none[indexAt] = 0
        XCTAssertNil(none.withUnsafeBytes { RecordCodec.check($0, header: header) })
        XCTAssertEqual(try decodeAll(header, none).map(\.event.producer), [nil])
        // A producer count of zero, or more producers than events.
        // After the time base and the pair table (count, "s", "skill.assessed").
        let countAt = RecordCodec.varintSize(RecordCodec.zigzag(1_700_000_001)) + 1 + 2 + 1 + "skill.assessed".utf8.count
        XCTAssertEqual(raw[countAt], 1)
        for bad in [UInt8(0), 2] {
            var damaged = raw
            damaged[countAt] = bad
            XCTAssertEqual(damaged.withUnsafeBytes { RecordCodec.check($0, header: header) }, "frame has \(bad) producers for 1 events")
        }
        // An empty name.
        var empty = raw
        empty[countAt + 1] = 0
        XCTAssertNotNil(empty.withUnsafeBytes { RecordCodec.check($0, header: header) })
        // The same payload read as version 1 is not a valid frame: the table is where the first record should be.
        var asVersion1 = header
        asVersion1.version = 1
        XCTAssertNotNil(raw.withUnsafeBytes { RecordCodec.check($0, header: asVersion1) })
    }

    func testUnknownFrameVersionsAreRefused() {
        var bytes = [UInt8](repeating: 0, count: FrameHeader.size)
        let header = FrameHeader(codec: .none, baseSeq: 1, count: 1, rawLength: 64, storedLength: 64, crc: 0,
                                 firstRecorded: 0, lastRecorded: 0, minEventTime: 0, maxEventTime: 0)
        let payload = [UInt8](repeating: 0, count: 64)
        bytes.withUnsafeMutableBytes { out in payload.withUnsafeBytes { header.write(into: out, payload: $0) } }
        for version: UInt8 in [0, 3, 255] {
            var b = bytes
            b[4] = version
            guard case .failure(let failure) = b.withUnsafeBytes({ FrameHeader.decode($0, limits: LogLimits()) }) else {
                return XCTFail("version \(version) accepted")
            }
            XCTAssertEqual(failure.reason, "unsupported frame version \(version)")
        }
    }

    // MARK: - The writer

    func testAnEventWithAProducerCutsAVersion1Frame() throws {
        let dir = makeTemporaryDirectory()
        let log = try EventLog.open(directory: dir)
        let events = [event(1, producer: nil), event(2, producer: nil), event(3, producer: "a"), event(4, producer: nil),
                      event(5, producer: "b")]
        try log.append(events)
        try log.sync()
        XCTAssertEqual(log.state.segments[0].entries.map(\.count), [2, 3], "cut before the first event with a producer, not after")
        XCTAssertEqual(try readAll(log).map(\.event.producer), [nil, nil, "a", nil, "b"])
        try log.close()
        // Reopened (read-only, as replay does), and verified record by record.
        let reopened = try EventLog.open(directory: dir, mode: .readOnly)
        XCTAssertEqual(try readAll(reopened).map(\.event), events)
        XCTAssertEqual(try EventLog.verify(directory: dir).events, 5)
    }

    func testProducerNamesOutsideOneTo255BytesAreRefused() throws {
        let log = try EventLog.open(directory: makeTemporaryDirectory())
        for bad in ["", String(repeating: "p", count: 256)] {
            XCTAssertThrowsError(try log.append([event(1, producer: nil), event(2, producer: bad)])) { error in
                XCTAssertEqual((error as? LogError)?.code, .invalidArgument)
                XCTAssertEqual((error as? LogError)?.message, "event 1 of the batch has a producer name of \(bad.utf8.count) bytes; the log holds names of 1 to 255 bytes")
            }
        }
        XCTAssertEqual(log.nextSeq, 1, "nothing of the batch was appended")
        let longest = String(repeating: "p", count: 255)
        try log.append([event(1, producer: longest)])
        try log.sync()
        XCTAssertEqual(try readAll(log).map(\.event.producer), [longest])
    }

    func testEncodedSizeCountsTheProducer() {
        let plain = event(1, producer: nil)
        XCTAssertEqual(event(1, producer: "twelve-bytes").encodedSize, plain.encodedSize + 12 + RecordCodec.producerOverheadMax)
    }

    // MARK: - The reader's producer filter

    /// Frames: [nil, nil] (v1), [a, a] (v2), [a, b, nil] (v2), [c] (v2).
    private func filterLog() throws -> EventLog {
        let log = try EventLog.open(directory: makeTemporaryDirectory())
        for batch in [[(1, nil), (2, nil)], [(3, "a"), (4, "a")], [(5, "a"), (6, "b"), (7, nil)], [(8, "c")]] as [[(Int, String?)]] {
            try log.append(batch.map { event($0.0, producer: $0.1) })
            try log.sync()
        }
        XCTAssertEqual(log.state.segments[0].entries.map(\.count), [2, 2, 3, 1])
        return log
    }

    private func read(_ log: EventLog, producer: @escaping (String?) -> Bool, pairs: ((String, String) -> Bool)? = nil) throws -> (seqs: [UInt64], frames: Int, position: UInt64) {
        let reader = log.reader(fromSeq: 1)
        reader.producerFilter = producer
        reader.pairFilter = pairs
        var seqs: [UInt64] = []
        while let record = try reader.next() { seqs.append(record.seq) }
        return (seqs, reader.framesRead, reader.position)
    }

    func testProducerFilterReturnsExactlyThatProducersEvents() throws {
        let log = try filterLog()
        XCTAssertEqual(try read(log, producer: { $0 == "b" }).seqs, [6])
        XCTAssertEqual(try read(log, producer: { $0 == "a" }).seqs, [3, 4, 5])
        XCTAssertEqual(try read(log, producer: { $0 == nil }).seqs, [1, 2, 7])
        XCTAssertEqual(try read(log, producer: { $0 == "nobody" }).seqs, [])
        XCTAssertEqual(try read(log, producer: { $0 == "nobody" }).position, 9, "the reader moved past every frame")
        XCTAssertEqual(try read(log, producer: { _ in true }).seqs, Array(1...8))
    }

    func testProducerAndPairFiltersCombine() throws {
        let log = try EventLog.open(directory: makeTemporaryDirectory())
        try log.append([event(1, producer: "a", type: "x"), event(2, producer: "a", type: "y"), event(3, producer: "b", type: "x")])
        try log.sync()
        XCTAssertEqual(try read(log, producer: { $0 == "a" }, pairs: { $1 == "x" }).seqs, [1])
        XCTAssertEqual(try read(log, producer: { $0 == "b" }, pairs: { $1 == "y" }).seqs, [])
        XCTAssertEqual(try read(log, producer: { $0 != nil }, pairs: { $1 == "x" }).seqs, [1, 3])
    }

    func testProducerFilterSeeksAndSkipsRecordsBeforeTheStart() throws {
        let log = try filterLog()
        let reader = log.reader(fromSeq: 5)
        reader.producerFilter = { $0 == "a" }
        var seqs: [UInt64] = []
        while let record = try reader.next() { seqs.append(record.seq) }
        XCTAssertEqual(seqs, [5])
    }
}
