import Foundation
import TestSupport
import XCTest

@testable import EventLog

/// Segment format versions 2 and 3, pinned: `Golden/recompressed/` holds a log of
/// 300 fixed events (`makeEvents` with a fixed seed and clock; the golden
/// log of `Golden/` is too small for a dictionary to pay) with its segment
/// sealed (an empty next segment after it) and recompressed (LZ4 HC 12 and
/// a dictionary, codec 2: no UUID text in `data`). `Golden/packed/` is the
/// same with UUIDs in `data` (`makeEventsWithUUIDs`), so its frames are
/// packed first (codec 3, FORMAT.md "Packed payloads") and the segment is
/// version 3. Today's recompressor
/// must reproduce each byte for byte and today's reader decode each to the
/// same events.
///
/// To regenerate after a deliberate change: `CAREERLOG_WRITE_GOLDEN=1 swift test
/// --filter GoldenRecompressedTests`, and review the diff.
final class GoldenRecompressedTests: XCTestCase {
    static let files = ["00000000000000000001.seg", "00000000000000000001.idx"]

    static let limits: LogLimits = {
        var limits = LogLimits()
        limits.frameTargetBytes = 4 << 10
        return limits
    }()
    /// One pinned log: where it lives under `Golden/`, and its events.
    struct Case {
        var directory: String
        var events: [LogEvent]
        var codec: FrameHeader.Codec
        /// The segment format version: 3 once a frame is packed.
        var version: UInt32
    }

    static let cases = [
        Case(directory: "recompressed", events: makeEvents(300, seed: 11, dataBytes: 60...300), codec: .lz4Dictionary,
             version: SegmentHeader.versionWithDictionary),
        Case(directory: "packed", events: makeEventsWithUUIDs(300, seed: 12), codec: .lz4DictionaryPacked,
             version: SegmentHeader.versionWithPackedFrames),
    ]

    /// What reading it must give: batches of 50, each recorded a second later.
    static func expectedRecords(_ events: [LogEvent]) -> [EventRecord] {
        events.enumerated().map { i, event in
            EventRecord(seq: UInt64(i + 1), recorded: GoldenLog.clockStart + Int64(i / 50) * 1_000_000, event: event)
        }
    }

    /// The fixed log, sealed by a next segment, recompressed.
    private func writeRecompressed(_ events: [LogEvent], to dir: String) throws {
        let clock = TestClock(GoldenLog.clockStart)
        let writer = try EventLog.open(directory: dir, limits: Self.limits, clock: clock.function)
        for start in stride(from: 0, to: events.count, by: 50) {
            try writer.append(Array(events[start..<start + 50]))
            try writer.sync()
            clock.now += 1_000_000
        }
        try writer.close()
        let created = try SegmentWriter.createSegment(directory: dir, baseSeq: UInt64(events.count + 1))
        close(created.fd)
        let log = try EventLog.open(directory: dir, limits: Self.limits)
        let report = try log.recompressSealedSegments()
        XCTAssertEqual(report.segments.count, 1)
        try log.close()
        try? FileManager.default.removeItem(atPath: dir + "/LOCK")
    }

    private func goldenDirectory(_ golden: Case) throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Golden", withExtension: nil), "Golden/ is missing from the test bundle")
        return url.path + "/" + golden.directory
    }

    func testTodaysRecompressorReproducesTheGoldenBytes() throws {
        for golden in Self.cases { try reproduces(golden) }
    }

    func testTheGoldenRecompressedSegmentDecodesToTheFixedInput() throws {
        for golden in Self.cases { try decodes(golden) }
    }

    private func reproduces(_ golden: Case) throws {
        let dir = makeTemporaryDirectory()
        try writeRecompressed(golden.events, to: dir)
        if ProcessInfo.processInfo.environment["CAREERLOG_WRITE_GOLDEN"] == "1" {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/" + golden.directory).path
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            for name in Self.files { writeBytes(fileBytes(dir + "/" + name), source + "/" + name) }
        }
        let pinned = try goldenDirectory(golden)
        for name in Self.files {
            let written = fileBytes(dir + "/" + name)
            let want = fileBytes(pinned + "/" + name)
            XCTAssertEqual(written.count, want.count, "\(golden.directory)/\(name)")
            XCTAssertNil(written.indices.first { $0 < want.count && written[$0] != want[$0] }, "\(golden.directory)/\(name) differs from the golden file at the byte given")
        }
    }

    private func decodes(_ golden: Case) throws {
        let dir = makeTemporaryDirectory()
        let pinned = try goldenDirectory(golden)
        for name in Self.files { writeBytes(fileBytes(pinned + "/" + name), dir + "/" + name) }
        let segment = fileBytes(dir + "/00000000000000000001.seg")
        XCTAssertEqual(segment.withUnsafeBytes { $0.loadLE(UInt32.self, at: 8) }, golden.version, golden.directory)
        let log = try EventLog.open(directory: dir, limits: Self.limits, mode: .readOnly)
        let records = try readAll(log)
        let expected = Self.expectedRecords(golden.events)
        XCTAssertEqual(records.count, expected.count)
        for (got, want) in zip(records, expected) { XCTAssertEqual(got, want, "seq \(want.seq)") }
        XCTAssertGreaterThan(log.state.segments[0].entries.count, 10, "many frames")
        // Every frame's codec as the case says (the first frame's header
        // follows the segment header and its dictionary).
        let file = try SegmentFile(path: dir + "/00000000000000000001.seg", limits: Self.limits)
        for entry in log.state.segments[0].entries {
            guard case .success(let frame) = try file.readFrame(at: entry.offset, end: Int64(segment.count)) else {
                return XCTFail("\(golden.directory): frame at \(entry.offset) does not read")
            }
            XCTAssertEqual(frame.header.codec, golden.codec, "\(golden.directory): frame at \(entry.offset)")
        }
        XCTAssertEqual(try EventLog.verify(directory: dir, limits: Self.limits).events, UInt64(expected.count))
        // The same frames as the fast form, in fewer bytes.
        let fast = makeTemporaryDirectory("fast")
        let clock = TestClock(GoldenLog.clockStart)
        let writer = try EventLog.open(directory: fast, limits: Self.limits, clock: clock.function)
        for start in stride(from: 0, to: golden.events.count, by: 50) {
            try writer.append(Array(golden.events[start..<start + 50]))
            try writer.sync()
            clock.now += 1_000_000
        }
        XCTAssertEqual(writer.state.segments[0].entries.map(\.baseSeq), log.state.segments[0].entries.map(\.baseSeq))
        try writer.close()
        XCTAssertLessThan(segment.count, fileBytes(fast + "/00000000000000000001.seg").count)
    }

    /// The packed golden with its header set to version 2 (as builds of
    /// 2026-12-05 wrote it before version 3 existed; CRC fixed) still reads
    /// to the same events; with a version this code does not know yet it
    /// is refused at open, saying a newer careerlog wrote it; a version 2 or
    /// 3 header whose length leaves no room for a dictionary is refused.
    func testOlderAndNewerVersionsOfThePackedSegment() throws {
        let golden = Self.cases[1]
        let pinned = try goldenDirectory(golden)
        let tooShort = UInt32(SegmentHeader.size + SegmentHeader.dictionaryPrefixSize)
        for (version, headerLength, reason) in [
            (SegmentHeader.versionWithDictionary, nil, nil),
            (SegmentHeader.newestVersion + 1, nil, "is newer than this careerlog reads"),
            (SegmentHeader.versionWithDictionary, UInt32(10), "unsupported segment format version 2 (header length 10)"),
            (SegmentHeader.versionWithDictionary, tooShort, "unsupported segment format version 2 (header length 40)"),
            (SegmentHeader.versionWithPackedFrames, tooShort, "unsupported segment format version 3 (header length 40)"),
        ] as [(UInt32, UInt32?, String?)] {
            let dir = makeTemporaryDirectory()
            for name in Self.files { writeBytes(fileBytes(pinned + "/" + name), dir + "/" + name) }
            let path = dir + "/00000000000000000001.seg"
            var segment = fileBytes(path)
            segment.withUnsafeMutableBytes { bytes in
                bytes.storeBytes(of: version.littleEndian, toByteOffset: 8, as: UInt32.self)
                if let headerLength { bytes.storeBytes(of: headerLength.littleEndian, toByteOffset: 12, as: UInt32.self) }
                let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<24]))
                bytes.storeBytes(of: crc.littleEndian, toByteOffset: 24, as: UInt32.self)
            }
            writeBytes(segment, path)
            // Sealed, as every recompressed segment is.
            close(try SegmentWriter.createSegment(directory: dir, baseSeq: UInt64(golden.events.count + 1)).fd)
            guard let reason else {
                XCTAssertEqual(try EventLog.verify(directory: dir, limits: Self.limits).events, UInt64(golden.events.count))
                let log = try EventLog.open(directory: dir, limits: Self.limits, mode: .readOnly)
                XCTAssertEqual(try readAll(log), Self.expectedRecords(golden.events))
                continue
            }
            XCTAssertThrowsError(try EventLog.verify(directory: dir, limits: Self.limits), "version \(version)") { error in
                let e = error as? LogError
                XCTAssertEqual(e?.code, .corruption)
                XCTAssertTrue(e?.message.contains(reason) ?? false, e?.message ?? "\(error)")
            }
        }
    }
}
