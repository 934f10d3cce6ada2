import Foundation
import TestSupport
import XCTest

@testable import EventLog

/// Recovery trusts the durable mark (FORMAT.md, "Recovery on open"): damage
/// at or before it is corruption and stops the open; only bytes past it may
/// be cut as a torn tail. `verify` and `open` agree because both run the
/// same loader.
final class DurableMarkRecoveryTests: XCTestCase {
    private func copyDirectory(_ from: String) -> String {
        let to = makeTemporaryDirectory("copy")
        for name in try! FileManager.default.contentsOfDirectory(atPath: from) where name != "LOCK" {
            try! FileManager.default.copyItem(atPath: from + "/" + name, toPath: to + "/" + name)
        }
        return to
    }

    /// A cleanly closed log of 305 events whose last frame holds 5 of them.
    private func closedLog() throws -> (dir: String, path: String, lastFrame: Int64, events: [LogEvent]) {
        let dir = makeTemporaryDirectory()
        let events = makeEvents(305, dataBytes: 20...60)
        let log = try EventLog.open(directory: dir)
        try log.append(Array(events[0..<300]))
        try log.sync()
        try log.append(Array(events[300...]))
        try log.sync()
        let lastFrame = log.state.segments[0].entries.last!.offset
        try log.close()
        return (dir, dir + "/" + segmentFiles(dir)[0], lastFrame, events)
    }

    func testByteFlipsInTheLastFrameOfACleanlyClosedLogAreCorruptionNeverCut() throws {
        let (dir, path, lastFrame, _) = try closedLog()
        let original = fileBytes(path)
        let name = (path as NSString).lastPathComponent
        var random = SplitMix(seed: 9)
        for position in Int(lastFrame)..<original.count {
            var damaged = original
            damaged[position] ^= UInt8(1 << random.int(0...7))
            let copy = copyDirectory(dir)
            writeBytes(damaged, copy + "/" + name)
            XCTAssertThrowsError(try EventLog.open(directory: copy), "flip at \(position)") { error in
                let e = error as! LogError
                XCTAssertEqual(e.code, .corruption, "flip at \(position): \(e)")
                XCTAssertEqual(e.file, copy + "/" + name)
                XCTAssertEqual(e.offset, lastFrame, "flip at \(position): \(e)")
            }
            XCTAssertEqual(fileBytes(copy + "/" + name), damaged, "nothing is cut (flip at \(position))")
            XCTAssertThrowsError(try EventLog.verify(directory: copy), "flip at \(position)") { error in
                XCTAssertEqual((error as? LogError)?.offset, lastFrame, "flip at \(position)")
            }
            try FileManager.default.removeItem(atPath: copy)
        }
    }

    func testTruncationAtEveryOffsetPastTheDurableMarkIsATornTailAndCut() throws {
        let dir = makeTemporaryDirectory()
        let events = makeEvents(305, dataBytes: 20...60)
        let log = try EventLog.open(directory: dir)
        try log.append(Array(events[0..<300]))
        try log.sync()
        let durable = log.state.segments[0].length
        try log.append(Array(events[300...]))  // written, never synced: past the mark
        let name = segmentFiles(dir)[0]
        let written = fileBytes(dir + "/" + name)
        XCTAssertGreaterThan(written.count, Int(durable))
        XCTAssertEqual(DurableMark.read(directory: dir)?.length, durable)

        for cut in Int(durable) + 1..<written.count {
            let copy = copyDirectory(dir)
            writeBytes(Array(written[0..<cut]), copy + "/" + name)
            let recovered = try EventLog.open(directory: copy)
            XCTAssertEqual(recovered.lastSeq, 300, "cut at \(cut)")
            XCTAssertEqual(recovered.recovery.truncations.count, 1, "cut at \(cut)")
            XCTAssertEqual(recovered.recovery.truncations.first?.offset, durable)
            XCTAssertEqual(recovered.recovery.truncations.first?.bytes, Int64(cut) - durable)
            XCTAssertEqual(fileBytes(try XCTUnwrap(recovered.recovery.truncations[0].savedAs)), Array(written[Int(durable)..<cut]))
            XCTAssertEqual(fileBytes(copy + "/" + name).count, Int(durable))
            XCTAssertEqual(try recovered.append(Array(events[300...])), 301...305)
            try recovered.sync()
            XCTAssertEqual(try readAll(recovered).map(\.event), events)
            try recovered.close()
            try FileManager.default.removeItem(atPath: copy)
        }
        try log.close()
    }

    func testADeletedNewestSegmentIsMissingData() throws {
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
        let files = segmentFiles(dir)
        XCTAssertGreaterThanOrEqual(files.count, 3)
        let newest = files.last!
        try FileManager.default.removeItem(atPath: dir + "/" + newest)
        try? FileManager.default.removeItem(atPath: dir + "/" + newest.replacingOccurrences(of: ".seg", with: ".idx"))
        for open in [{ _ = try EventLog.verify(directory: dir, limits: limits) },
                     { _ = try EventLog.open(directory: dir, limits: limits) },
                     { _ = try EventLog.open(directory: dir, limits: limits, mode: .readOnly) }] {
            XCTAssertThrowsError(try open()) { error in
                let e = error as! LogError
                XCTAssertEqual(e.code, .corruption)
                XCTAssertEqual(e.file, dir + "/" + newest, "\(e)")
                XCTAssertTrue(e.message.contains("missing"), e.message)
            }
        }
    }

    func testAValidCopyOfTheLastFrameAppendedIsCorruptionForVerifyAndOpenAlike() throws {
        let (dir, path, lastFrame, _) = try closedLog()
        let original = fileBytes(path)
        writeBytes(original + Array(original[Int(lastFrame)...]), path)
        var errors: [LogError] = []
        XCTAssertThrowsError(try EventLog.verify(directory: dir)) { errors.append($0 as! LogError) }
        XCTAssertThrowsError(try EventLog.open(directory: dir)) { errors.append($0 as! LogError) }
        XCTAssertEqual(errors.count, 2)
        for e in errors {
            XCTAssertEqual(e.code, .corruption)
            XCTAssertEqual(e.file, path)
            XCTAssertEqual(e.offset, Int64(original.count), "\(e)")
        }
        XCTAssertEqual(errors.first?.message, errors.last?.message)
        XCTAssertEqual(fileBytes(path).count, original.count + original.count - Int(lastFrame))
    }

    func testASeqIsNeverAssignedTwiceAfterARepair() throws {
        let (dir, path, lastFrame, events) = try closedLog()
        var damaged = fileBytes(path)
        damaged[Int(lastFrame) + 70] ^= 0x01
        writeBytes(damaged, path)
        XCTAssertThrowsError(try EventLog.open(directory: dir))

        let repair = try EventLog.repair(directory: dir, truncateAfter: 300, now: 1_800_000_000_000_000)
        XCTAssertEqual(repair.truncateAfter, 300)
        XCTAssertEqual(repair.nextSeq, 306)
        XCTAssertEqual(repair.bytesCut, Int64(damaged.count) - lastFrame)
        XCTAssertEqual(repair.savedAs.map { fileBytes($0) }, [Array(damaged[Int(lastFrame)...])])
        let journal = String(decoding: fileBytes(dir + "/" + RepairJournal.fileName), as: UTF8.self)
        XCTAssertTrue(journal.contains("truncate-after=300 next-seq=306 bytes=\(repair.bytesCut)"), journal)

        let log = try EventLog.open(directory: dir)
        XCTAssertEqual(log.gaps, [SeqGap(after: 300, next: 306)])
        XCTAssertEqual(log.nextSeq, 306)
        let more = makeEvents(3, seed: 77)
        XCTAssertEqual(try log.append(more), 306...308)
        try log.sync()
        let read = try readAll(log)
        XCTAssertEqual(read.map(\.seq), Array(1...300) + [306, 307, 308])
        XCTAssertEqual(read.map(\.event), Array(events[0..<300]) + more)
        XCTAssertEqual(try readAll(log, from: 302).map(\.seq), [306, 307, 308])
        try log.close()
        XCTAssertEqual(try EventLog.verify(directory: dir).events, 303)
        // Reopened read-only, the gap is still known and still passed over.
        let reader = try EventLog.open(directory: dir, mode: .readOnly)
        XCTAssertEqual(reader.gaps, [SeqGap(after: 300, next: 306)])
        XCTAssertEqual(try readAll(reader).count, 303)
    }

    func testRepairRefusesASeqInsideAFrame() throws {
        let (dir, _, _, _) = try closedLog()
        XCTAssertThrowsError(try EventLog.repair(directory: dir, truncateAfter: 302, now: 0)) { error in
            XCTAssertEqual((error as? LogError)?.code, .invalidArgument)
            XCTAssertTrue((error as? LogError)?.message.contains("300") ?? false, "\(error)")
        }
    }

    func testAGapNotInTheRepairJournalIsCorruption() throws {
        let (dir, _, _, _) = try closedLog()
        _ = try SegmentWriter.createSegment(directory: dir, baseSeq: 400)
        XCTAssertThrowsError(try EventLog.open(directory: dir)) { error in
            XCTAssertEqual((error as? LogError)?.code, .corruption)
        }
    }
}

/// A torn tail found while the disk is full: the log still opens (the bytes
/// were never acknowledged, so they are cut without the courtesy copy),
/// instead of needing space freed and a restart.
final class FullDiskRecoveryTests: XCTestCase {
    func testATornTailIsCutEvenWhenItsCopyDoesNotFit() throws {
        let mountPoint = makeTemporaryDirectory()
        try TemporaryFilesystem.mount(at: mountPoint, bytes: 1 << 20)
        defer { TemporaryFilesystem.unmount(mountPoint) }
        let directory = mountPoint + "/log"
        let events = makeEvents(200)
        var log = try EventLog.open(directory: directory)
        _ = try log.append(events)
        try log.sync()
        try log.close()
        let segment = directory + "/" + segmentFiles(directory)[0]
        let durableLength = fileBytes(segment).count
        // A write that never finished: bytes past the durable mark.
        let torn = [UInt8](repeating: 0xA5, count: 64 << 10)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: segment))
        handle.seekToEndOfFile()
        handle.write(Data(torn))
        try handle.close()
        let filler = try TemporaryFilesystem.fill(mountPoint + "/filler")

        log = try EventLog.open(directory: directory)
        XCTAssertEqual(log.recovery.truncations.count, 1)
        XCTAssertEqual(log.recovery.truncations.first?.offset, Int64(durableLength))
        XCTAssertEqual(log.recovery.truncations.first?.bytes, Int64(torn.count))
        XCTAssertNil(log.recovery.truncations.first?.savedAs, "there was no room for the copy")
        XCTAssertFalse(FileManager.default.fileExists(atPath: segment + ".broken-\(durableLength)"), "no partial copy is left")
        XCTAssertEqual(try readAll(log).map(\.event.id), events.map(\.id))
        try log.close()
        try FileManager.default.removeItem(atPath: filler)
    }
}
