import Foundation
import TestSupport
import XCTest

@testable import EventLog

final class EventLogTests: XCTestCase {
    func testCRC32CKnownVectors() {
        // RFC 3720 appendix B.4 test vectors and the classic check value.
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        // Incremental equals one-shot at every split point.
        let bytes = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for split in 0...bytes.count {
            let a = bytes.withUnsafeBytes { CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[0..<split])) }
            let b = bytes.withUnsafeBytes { CRC32C.update(a, UnsafeRawBufferPointer(rebasing: $0[split...])) }
            XCTAssertEqual(b, CRC32C.checksum(bytes))
        }
    }

    func testCRC32CHardwareAndTablesAgreeAtEveryLengthAndAlignment() {
        // The vectors above pass through whichever path this CPU takes; the
        // portable path must give the same values too.
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { CRC32C.portableUpdate(0, $0) }, 0xE306_9283)
        #if arch(x86_64)
        XCTAssertTrue(CRC32C.usesHardware, "an x86-64 machine with SSE4.2 (every one since 2008) should use the crc32 instruction")
        #endif
        var random = SplitMix(seed: 42)
        let bytes = (0..<4096).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        bytes.withUnsafeBytes { all in
            for start in 0..<16 {
                for length in [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4000] where start + length <= all.count {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<start + length])
                    let seed = UInt32(truncatingIfNeeded: random.next())
                    XCTAssertEqual(CRC32C.update(seed, slice), CRC32C.portableUpdate(seed, slice), "start \(start), length \(length)")
                }
            }
        }
    }

    func testRoundTripAcrossReopen() throws {
        let dir = makeTemporaryDirectory()
        let events = makeEvents(2500)
        let clock = TestClock(1_800_000_000_000_000)
        let log = try EventLog.open(directory: dir, clock: clock.function)
        XCTAssertEqual(try log.append(Array(events[0..<1000])), 1...1000)
        clock.now += 5
        XCTAssertEqual(try log.append(Array(events[1000...])), 1001...2500)
        // Appended but not synced: invisible to readers.
        XCTAssertEqual(try readAll(log).count, 0)
        XCTAssertEqual(try log.sync(), 2500)
        let records = try readAll(log)
        XCTAssertEqual(records.map(\.event), events)
        XCTAssertEqual(records.map(\.seq), Array(1...2500))
        XCTAssertEqual(records[0].recorded, 1_800_000_000_000_000)
        XCTAssertEqual(records[1999].recorded, 1_800_000_000_000_005)
        try log.close()

        let reopened = try EventLog.open(directory: dir)
        XCTAssertEqual(reopened.recovery.truncations, [])
        XCTAssertEqual(try readAll(reopened).map(\.event), events)
        XCTAssertEqual(try readAll(reopened, from: 1234).map(\.seq), Array(1234...2500))
        XCTAssertEqual(try reopened.append(makeEvents(1, seed: 9)), 2501...2501)
        try reopened.sync()
        XCTAssertEqual(try readAll(reopened).count, 2501)
        let stats = try reopened.statistics()
        XCTAssertEqual(stats.events, 2501)
        XCTAssertEqual(stats.firstSeq, 1)
        XCTAssertEqual(stats.lastSeq, 2501)
        XCTAssertGreaterThan(stats.rawBytes, stats.bytesOnDisk - Int64(SegmentHeader.size) - Int64(stats.frames * FrameHeader.size))
        try reopened.close()
    }

    func testFramesBatchManyEventsAndStayNearTarget() throws {
        let dir = makeTemporaryDirectory()
        let log = try EventLog.open(directory: dir)
        try log.append(makeEvents(3000, dataBytes: 100...300))
        try log.sync()
        let stats = try log.statistics()
        // ~600 KB of records at a 32 KiB target: about 20 frames, not 3000.
        XCTAssertLessThan(stats.frames, 40)
        XCTAssertGreaterThan(stats.frames, 10)
        XCTAssertGreaterThan(stats.compressionRatio, 1.5)
        try log.close()
    }

    func testSegmentRollAndContinuity() throws {
        let dir = makeTemporaryDirectory()
        var limits = LogLimits(segmentBytesMax: 64 << 10)
        limits.frameTargetBytes = 4 << 10
        let log = try EventLog.open(directory: dir, limits: limits)
        let events = makeEvents(4000)
        for chunk in stride(from: 0, to: events.count, by: 100) {
            try log.append(Array(events[chunk..<min(chunk + 100, events.count)]))
            try log.sync()
        }
        let files = segmentFiles(dir)
        XCTAssertGreaterThan(files.count, 5)
        XCTAssertEqual(files.first, "00000000000000000001.seg")
        for file in files {
            let size = try FileManager.default.attributesOfItem(atPath: dir + "/" + file)[.size] as! Int
            XCTAssertLessThanOrEqual(size, 64 << 10, file)
        }
        // Every sealed segment has its index; names follow seqs.
        let records = try readAll(log)
        XCTAssertEqual(records.map(\.event), events)
        for file in files.dropLast() {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + file.replacingOccurrences(of: ".seg", with: ".idx")))
        }
        for file in files {
            let base = UInt64(file.prefix(20))!
            XCTAssertTrue(records.contains { $0.seq == base })
        }
        // Seeks land in the right segment.
        for seq: UInt64 in [1, 2, 999, 1000, 1001, 2750, 4000] {
            XCTAssertEqual(try log.reader(fromSeq: seq).next()?.seq, seq)
        }
        XCTAssertNil(try log.reader(fromSeq: 4001).next())
        try log.close()
        let reopened = try EventLog.open(directory: dir, limits: limits)
        XCTAssertEqual(reopened.recovery.indexesRebuilt, [])
        XCTAssertEqual(try readAll(reopened).map(\.event), events)
        XCTAssertEqual(try EventLog.verify(directory: dir, limits: limits).events, 4000)
    }

    func testIndexDeletedOrDamagedIsRebuilt() throws {
        let dir = makeTemporaryDirectory()
        var limits = LogLimits(segmentBytesMax: 32 << 10)
        limits.frameTargetBytes = 2 << 10
        let events = makeEvents(1500)
        do {
            let log = try EventLog.open(directory: dir, limits: limits)
            for chunk in stride(from: 0, to: 1500, by: 50) {
                try log.append(Array(events[chunk..<chunk + 50]))
                try log.sync()
            }
            try log.close()
        }
        let indexes = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".idx") }.sorted()
        XCTAssertGreaterThan(indexes.count, 3)
        let original = fileBytes(dir + "/" + indexes[1])
        try FileManager.default.removeItem(atPath: dir + "/" + indexes[0])
        var damaged = original
        damaged[60] ^= 0x01
        writeBytes(damaged, dir + "/" + indexes[1])
        writeBytes(Array(original[0..<20]), dir + "/" + indexes[2])

        let log = try EventLog.open(directory: dir, limits: limits)
        XCTAssertEqual(Set(log.recovery.indexesRebuilt.map { ($0 as NSString).lastPathComponent }), Set(indexes[0...2]))
        XCTAssertEqual(fileBytes(dir + "/" + indexes[1]), original, "rebuilt index equals the one written at seal")
        XCTAssertEqual(try readAll(log).map(\.event), events)
        for seq: UInt64 in [1, 77, 501, 1499] {
            XCTAssertEqual(try log.reader(fromSeq: seq).next()?.seq, seq)
        }
    }

    func testEventTooLargeAppendsNothing() throws {
        let dir = makeTemporaryDirectory()
        let log = try EventLog.open(directory: dir)
        var events = makeEvents(3)
        events[1].data = [UInt8](repeating: 0x41, count: LogLimits().eventBytesMax)
        XCTAssertThrowsError(try log.append(events)) { error in
            XCTAssertEqual((error as? LogError)?.code, .eventTooLarge)
        }
        XCTAssertEqual(log.nextSeq, 1)
        // The largest event that fits is stored and read back.
        events[1].data = [UInt8](repeating: 0x41, count: LogLimits().eventBytesMax - events[1].encodedSize + events[1].data.count)
        XCTAssertEqual(events[1].encodedSize, LogLimits().eventBytesMax)
        XCTAssertEqual(try log.append(events), 1...3)
        try log.sync()
        XCTAssertEqual(try readAll(log).map(\.event), events)
        try log.close()
        XCTAssertEqual(try EventLog.verify(directory: dir).events, 3)
    }

    func testSecondWriterIsRefused() throws {
        let dir = makeTemporaryDirectory()
        let log = try EventLog.open(directory: dir)
        XCTAssertThrowsError(try EventLog.open(directory: dir)) { error in
            XCTAssertEqual((error as? LogError)?.code, .locked)
        }
        try log.close()
        withExtendedLifetime(log) {}
    }

    func testReaderFromRecordedTime() throws {
        let dir = makeTemporaryDirectory()
        var limits = LogLimits(segmentBytesMax: 16 << 10)
        limits.frameTargetBytes = 1 << 10
        let clock = TestClock(1_000_000)
        let log = try EventLog.open(directory: dir, limits: limits, clock: clock.function)
        let events = makeEvents(600)
        for i in 0..<60 {
            try log.append(Array(events[i * 10..<i * 10 + 10]))
            try log.sync()
            clock.now += 1000
        }
        // Batch i was recorded at 1_000_000 + i*1000; seqs i*10+1 ... i*10+10.
        XCTAssertEqual(try log.reader(fromRecorded: 0).next()?.seq, 1)
        XCTAssertEqual(try log.reader(fromRecorded: 1_000_000).next()?.seq, 1)
        XCTAssertEqual(try log.reader(fromRecorded: 1_000_001).next()?.seq, 11)
        XCTAssertEqual(try log.reader(fromRecorded: 1_030_000).next()?.seq, 301)
        XCTAssertEqual(try log.reader(fromRecorded: 1_059_000).next()?.seq, 591)
        XCTAssertNil(try log.reader(fromRecorded: 1_059_001).next())
        // A clock stepping back does not make recorded times go backwards.
        clock.now = 5
        try log.append(makeEvents(1, seed: 3))
        try log.sync()
        let last = try readAll(log).last!
        XCTAssertEqual(last.recorded, 1_059_000)
    }

    func testEventTimeRangeSkipsFramesButKeepsMatches() throws {
        let dir = makeTemporaryDirectory()
        var limits = LogLimits()
        limits.frameTargetBytes = 1 << 10
        let log = try EventLog.open(directory: dir, limits: limits)
        let events = makeEvents(1000)  // times 1_700_000_000 + i*60 s
        try log.append(events)
        try log.sync()
        let reader = log.reader()
        let low = (1_700_000_000 + 500 * 60) * 1_000_000 as Int64
        let high = (1_700_000_000 + 520 * 60) * 1_000_000 as Int64 + 999_999
        reader.eventTimeRange = low...high
        var seen: [UInt64] = []
        while let record = try reader.next() {
            if (low...high).contains(record.event.time.microseconds) { seen.append(record.seq) }
        }
        XCTAssertEqual(seen, Array(501...521))
    }

    func testConcurrentReaderSeesEveryEventInOrderWhileAppending() throws {
        let dir = makeTemporaryDirectory()
        var limits = LogLimits(segmentBytesMax: 128 << 10)
        limits.frameTargetBytes = 4 << 10
        let log = try EventLog.open(directory: dir, limits: limits)
        let events = makeEvents(20_000, dataBytes: 20...200)
        let done = expectation(description: "reader")
        nonisolated(unsafe) var received: [EventRecord] = []
        nonisolated(unsafe) var readerError: Error?
        let thread = Thread {
            let reader = log.reader()
            do {
                while received.count < events.count {
                    guard let record = try reader.next(waitingUpTo: .seconds(10)) else { break }
                    received.append(record)
                }
            } catch { readerError = error }
            done.fulfill()
        }
        thread.start()
        var i = 0
        var random = SplitMix(seed: 5)
        while i < events.count {
            let n = min(random.int(1...700), events.count - i)
            try log.append(Array(events[i..<i + n]))
            if random.int(0...3) > 0 { try log.sync() }
            i += n
        }
        try log.sync()
        wait(for: [done], timeout: 60)
        XCTAssertNil(readerError)
        XCTAssertEqual(received.map(\.seq), Array(1...20_000))
        XCTAssertEqual(received.map(\.event), events)
        try log.close()
    }

    func testReadOnlyViewFollowsAnotherAppender() throws {
        let dir = makeTemporaryDirectory()
        var limits = LogLimits(segmentBytesMax: 16 << 10)
        limits.frameTargetBytes = 2 << 10
        let writer = try EventLog.open(directory: dir, limits: limits)
        try writer.append(makeEvents(100))
        try writer.sync()
        let view = try EventLog.open(directory: dir, limits: limits, mode: .readOnly)
        XCTAssertEqual(view.lastSeq, 100)
        XCTAssertThrowsError(try view.append(makeEvents(1))) { XCTAssertEqual(($0 as? LogError)?.code, .notWritable) }
        let reader = view.reader()
        var seen = 0
        while try reader.next() != nil { seen += 1 }
        XCTAssertEqual(seen, 100)
        try writer.append(makeEvents(900, seed: 2))  // rolls several segments
        try writer.sync()
        XCTAssertEqual(try view.refresh(), 1000)
        while let record = try reader.next() {
            seen += 1
            XCTAssertEqual(record.seq, UInt64(seen))
        }
        XCTAssertEqual(seen, 1000)
        try writer.close()
    }

    func testReadOnlyOpenUsesTheNewestIndexAndReadsTheTailAfterIt() throws {
        let dir = makeTemporaryDirectory()
        var limits = LogLimits()
        limits.frameTargetBytes = 2 << 10
        let first = try EventLog.open(directory: dir, limits: limits)
        try first.append(makeEvents(300))
        try first.close()  // writes the newest segment's index
        let second = try EventLog.open(directory: dir, limits: limits)
        try second.append(makeEvents(200, seed: 2))
        try second.sync()  // not closed: the index covers the first 300 only
        let view = try EventLog.open(directory: dir, limits: limits, mode: .readOnly)
        XCTAssertEqual(view.lastSeq, 500)
        let records = try readAll(view)
        XCTAssertEqual(records.map(\.seq), Array(1...500))
        XCTAssertEqual(records.suffix(200).map(\.event), makeEvents(200, seed: 2))
        try second.close()
    }

    func testReadOnlyViewSeesOnlyWhatTheAppenderSynced() throws {
        let dir = makeTemporaryDirectory()
        // One segment: a roll syncs the sealed segment, which would make
        // its events durable (and visible) before the explicit sync.
        var limits = LogLimits()
        limits.frameTargetBytes = 2 << 10
        let writer = try EventLog.open(directory: dir, limits: limits)
        try writer.append(makeEvents(100))
        try writer.sync()
        let view = try EventLog.open(directory: dir, limits: limits, mode: .readOnly)
        XCTAssertEqual(view.lastSeq, 100)
        // Written to the file but not synced yet.
        try writer.append(makeEvents(400, seed: 2))
        XCTAssertEqual(try view.refresh(), 100, "a reader must not see events before they are durable")
        XCTAssertEqual(try EventLog.open(directory: dir, limits: limits, mode: .readOnly).lastSeq, 100)
        XCTAssertEqual(try EventLog.verify(directory: dir, limits: limits).lastSeq, 100)
        try writer.sync()
        XCTAssertEqual(try view.refresh(), 500)
        XCTAssertEqual(try readAll(view).map(\.seq), Array(1...500))
        try writer.close()
    }
}
