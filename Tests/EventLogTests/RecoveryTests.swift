import Foundation
import TestSupport
import XCTest

@testable import EventLog

final class RecoveryTests: XCTestCase {
    private func copyDirectory(_ from: String) -> String {
        let to = makeTemporaryDirectory("copy")
        for name in try! FileManager.default.contentsOfDirectory(atPath: from) where name != "LOCK" {
            try! FileManager.default.copyItem(atPath: from + "/" + name, toPath: to + "/" + name)
        }
        return to
    }

    /// Frame start offsets of every segment, from the log's own index.
    private func frames(_ dir: String, limits: LogLimits) throws -> [(path: String, offsets: [Int64], size: Int64)] {
        let log = try EventLog.open(directory: dir, limits: limits, mode: .readOnly)
        return log.state.segments.map { segment in
            (segment.path, segment.entries.map(\.offset), segment.length)
        }
    }

    /// Until the durable mark was trusted, recovery cut a cleanly closed
    /// log's truncated last frame as a torn tail, dropping synced events
    /// (issue 10). Its bytes are at or before the mark: every such cut is
    /// missing durable data, refused with the file and offset, and nothing
    /// is cut. (Truncation past the mark: DurableMarkRecoveryTests.)
    func testTruncatingTheLastFrameOfACleanlyClosedLogAtEveryOffsetIsCorruption() throws {
        let dir = makeTemporaryDirectory()
        let events = makeEvents(305, dataBytes: 20...60)
        do {
            let log = try EventLog.open(directory: dir)
            try log.append(Array(events[0..<300]))
            try log.sync()
            try log.append(Array(events[300...]))  // the last frame: 5 small events
            try log.sync()
            try log.close()
        }
        let segment = try frames(dir, limits: LogLimits())[0]
        let lastFrame = segment.offsets.last!
        let original = fileBytes(segment.path)
        XCTAssertEqual(Int64(original.count), segment.size)
        let name = (segment.path as NSString).lastPathComponent

        for cut in Int(lastFrame)..<original.count {
            let copy = copyDirectory(dir)
            try? FileManager.default.removeItem(atPath: copy + "/" + name.replacingOccurrences(of: ".seg", with: ".idx"))
            writeBytes(Array(original[0..<cut]), copy + "/" + name)
            XCTAssertThrowsError(try EventLog.open(directory: copy), "cut at \(cut)") { error in
                let e = error as! LogError
                XCTAssertEqual(e.code, .corruption, "cut at \(cut)")
                XCTAssertEqual(e.file, copy + "/" + name)
                XCTAssertEqual(e.offset, Int64(cut), "cut at \(cut)")
            }
            XCTAssertEqual(fileBytes(copy + "/" + name).count, cut, "nothing cut at \(cut)")
            try FileManager.default.removeItem(atPath: copy)
        }
    }

    func testGarbageOrZerosAfterTheLastFrameAreATornTail() throws {
        let dir = makeTemporaryDirectory()
        let log = try EventLog.open(directory: dir)
        try log.append(makeEvents(50))
        try log.sync()
        try log.close()
        let path = dir + "/" + segmentFiles(dir)[0]
        let original = fileBytes(path)
        for tail in [[UInt8](repeating: 0, count: 8192), Array("CLF1 then nonsense".utf8), [0x43, 0x4C, 0x46]] {
            let copy = copyDirectory(dir)
            let copyPath = copy + "/" + segmentFiles(copy)[0]
            writeBytes(original + tail, copyPath)
            let reopened = try EventLog.open(directory: copy)
            XCTAssertEqual(reopened.lastSeq, 50)
            XCTAssertEqual(reopened.recovery.truncations.first?.bytes, Int64(tail.count))
            XCTAssertEqual(fileBytes(copyPath), original)
        }
    }

    /// Where a damaged byte must be reported: the start of the frame that
    /// holds it, or 0 inside the segment header.
    private func expectedOffset(_ position: Int, offsets: [Int64]) -> Int64 {
        offsets.last(where: { $0 <= Int64(position) }) ?? 0
    }

    private func buildSealedLog() throws -> (dir: String, limits: LogLimits) {
        let dir = makeTemporaryDirectory()
        var limits = LogLimits(segmentBytesMax: 48 << 10)
        limits.frameTargetBytes = 4 << 10
        let log = try EventLog.open(directory: dir, limits: limits)
        let events = makeEvents(1200)
        for chunk in stride(from: 0, to: 1200, by: 60) {
            try log.append(Array(events[chunk..<chunk + 60]))
            try log.sync()
        }
        try log.close()
        XCTAssertGreaterThanOrEqual(segmentFiles(dir).count, 3)
        return (dir, limits)
    }

    func testBitFlipsInASealedSegmentAreFoundAtTheirFrame() throws {
        let (dir, limits) = try buildSealedLog()
        let sealed = try frames(dir, limits: limits)[1]
        let original = fileBytes(sealed.path)
        let name = (sealed.path as NSString).lastPathComponent
        var random = SplitMix(seed: 42)
        var positions = [0, 5, 16, 24, 31, 32, 33, 40, 60, 64, 95, 96, original.count - 1]
        positions += sealed.offsets.flatMap { [Int($0), Int($0) + 20, Int($0) + 28, Int($0) + 63] }
        for _ in 0..<60 { positions.append(random.int(0...original.count - 1)) }
        for position in positions {
            var damaged = original
            damaged[position] ^= UInt8(1 << random.int(0...7))
            let copy = copyDirectory(dir)
            writeBytes(damaged, copy + "/" + name)
            let expected = position < SegmentHeader.size ? 0 : expectedOffset(position, offsets: sealed.offsets)
            XCTAssertThrowsError(try EventLog.verify(directory: copy, limits: limits), "flip at \(position)") { error in
                let e = error as! LogError
                XCTAssertEqual(e.code, .corruption)
                XCTAssertEqual(e.file, copy + "/" + name, "flip at \(position)")
                XCTAssertEqual(e.offset, expected, "flip at \(position): \(e)")
            }
            // Opening without the index must re-read the segment and refuse.
            try FileManager.default.removeItem(atPath: copy + "/" + name.replacingOccurrences(of: ".seg", with: ".idx"))
            XCTAssertThrowsError(try EventLog.open(directory: copy, limits: limits)) { error in
                XCTAssertEqual((error as? LogError)?.code, .corruption)
                XCTAssertEqual((error as? LogError)?.offset, expected, "flip at \(position)")
            }
            try FileManager.default.removeItem(atPath: copy)
        }
    }

    func testZeroedRunsInASealedSegmentAreFoundAndNeverSkipped() throws {
        let (dir, limits) = try buildSealedLog()
        let sealed = try frames(dir, limits: limits)[0]
        let original = fileBytes(sealed.path)
        let name = (sealed.path as NSString).lastPathComponent
        var random = SplitMix(seed: 7)
        let starts = [0, 32, Int(sealed.offsets[1]), original.count - 4096] + (0..<15).map { _ in random.int(0...original.count - 4096) }
        for start in starts {
            var damaged = original
            for i in start..<start + 4096 { damaged[i] = 0 }
            // The first byte that actually changed decides the frame.
            guard let changed = (start..<start + 4096).first(where: { original[$0] != 0 }) else { continue }
            let expected = changed < SegmentHeader.size ? 0 : expectedOffset(changed, offsets: sealed.offsets)
            let copy = copyDirectory(dir)
            writeBytes(damaged, copy + "/" + name)
            XCTAssertThrowsError(try EventLog.verify(directory: copy, limits: limits)) { error in
                XCTAssertEqual((error as? LogError)?.offset, expected, "zeros at \(start)")
            }
            if expected == 0 {
                // A damaged segment header is found on open, index or not.
                XCTAssertThrowsError(try EventLog.open(directory: copy, limits: limits)) { error in
                    XCTAssertEqual((error as? LogError)?.offset, 0)
                }
                continue
            }
            // A reader with the (intact) index trusts it but still checks each
            // frame it reads: it stops at the damage instead of skipping it.
            let log = try EventLog.open(directory: copy, limits: limits)
            let reader = log.reader()
            var lastGood: UInt64 = 0
            XCTAssertThrowsError(try { while let r = try reader.next() { lastGood = r.seq } }()) { error in
                XCTAssertEqual((error as? LogError)?.code, .corruption)
                XCTAssertEqual((error as? LogError)?.offset, expected)
            }
            let entry = log.state.segments[0].entries.first { $0.offset == expected }
            XCTAssertEqual(lastGood, expected == 0 ? 0 : (entry?.baseSeq ?? 0) - 1)
            try log.close()
            try FileManager.default.removeItem(atPath: copy)
        }
    }

    func testDamageInTheMiddleOfTheNewestSegmentIsCorruptionNotATornTail() throws {
        let dir = makeTemporaryDirectory()
        var limits = LogLimits()
        limits.frameTargetBytes = 2 << 10
        let log = try EventLog.open(directory: dir, limits: limits)
        try log.append(makeEvents(400))
        try log.sync()
        try log.close()
        let segment = try frames(dir, limits: limits)[0]
        XCTAssertGreaterThan(segment.offsets.count, 4)
        var damaged = fileBytes(segment.path)
        let target = Int(segment.offsets[2]) + 100
        damaged[target] ^= 0x10
        writeBytes(damaged, segment.path)
        XCTAssertThrowsError(try EventLog.open(directory: dir, limits: limits)) { error in
            let e = error as! LogError
            XCTAssertEqual(e.code, .corruption)
            XCTAssertEqual(e.offset, segment.offsets[2])
            XCTAssertTrue(e.message.contains("not a torn tail"), e.message)
        }
        // Nothing was cut.
        XCTAssertEqual(fileBytes(segment.path), damaged)
    }

    func testTornSegmentHeaderOfANewSegmentIsRepaired() throws {
        let dir = makeTemporaryDirectory()
        let log = try EventLog.open(directory: dir)
        try log.append(makeEvents(10))
        try log.sync()
        try log.close()
        // The process died while creating the next segment: 10 bytes of header.
        let next = dir + "/" + "00000000000000000011.seg"
        writeBytes(Array(SegmentHeader(baseSeq: 11).encoded()[0..<10]), next)
        let reopened = try EventLog.open(directory: dir)
        XCTAssertEqual(reopened.lastSeq, 10)
        XCTAssertEqual(try reopened.append(makeEvents(1, seed: 4)), 11...11)
        try reopened.sync()
        try reopened.close()
        XCTAssertEqual(try EventLog.verify(directory: dir).events, 11)
    }

    func testMissingSegmentIsAGap() throws {
        let (dir, limits) = try buildSealedLog()
        let files = segmentFiles(dir)
        try FileManager.default.removeItem(atPath: dir + "/" + files[1])
        XCTAssertThrowsError(try EventLog.open(directory: dir, limits: limits)) { error in
            XCTAssertEqual((error as? LogError)?.code, .corruption)
            XCTAssertEqual((error as? LogError)?.file, dir + "/" + files[2])
        }
        XCTAssertThrowsError(try EventLog.verify(directory: dir, limits: limits))
    }
}
