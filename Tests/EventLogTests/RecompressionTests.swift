import Foundation
import TestSupport
import XCTest

@testable import EventLog

/// Sealed segments recompressed with LZ4 HC and a dictionary (FORMAT.md,
/// "Recompressed segments"): the same events, a crash at any point leaves
/// a valid log, readers crossing a swap miss nothing, damage is reported.
final class RecompressionTests: XCTestCase {
    /// Several sealed segments of several frames each.
    static let limits: LogLimits = {
        var limits = LogLimits()
        limits.frameTargetBytes = 4 << 10
        limits.segmentBytesMax = 48 << 10
        return limits
    }()

    private func makeLog(_ dir: String, events: Int = 1500) throws -> (EventLog, [LogEvent]) {
        let input = makeEvents(events, seed: 7, dataBytes: 60...300)
        let log = try EventLog.open(directory: dir, limits: Self.limits)
        var i = 0
        while i < input.count {
            try log.append(Array(input[i..<min(i + 100, input.count)]))
            try log.sync()
            i += 100
        }
        XCTAssertGreaterThanOrEqual(segmentFiles(dir).count, 4, "the log spans several segments")
        return (log, input)
    }

    private func segmentBytes(_ dir: String) -> Int {
        segmentFiles(dir).reduce(0) { $0 + fileBytes(dir + "/" + $1).count }
    }

    func testRecompressionKeepsEveryEventByteIdentical() throws {
        let dir = makeTemporaryDirectory()
        let (log, input) = try makeLog(dir)
        let before = try readAll(log)
        XCTAssertEqual(before.map(\.event), input)
        let sizeBefore = segmentBytes(dir)
        let report = try log.recompressSealedSegments()
        XCTAssertEqual(report.segments.count, segmentFiles(dir).count - 1, "every sealed segment, not the newest")
        XCTAssertEqual(report.remaining, 0)
        XCTAssertLessThan(report.bytesAfter, report.bytesBefore)
        XCTAssertLessThan(segmentBytes(dir), sizeBefore)
        XCTAssertEqual(try readAll(log), before, "the appender's readers")
        XCTAssertEqual(try readAll(log, from: 777), Array(before[776...]), "a reader seeking by seq")
        // Appending goes on; a second run finds nothing to do but the new sealed ones.
        try log.append(Array(input[0..<200]))
        try log.sync()
        _ = try log.recompressSealedSegments()
        let all = try readAll(log)
        XCTAssertEqual(Array(all[0..<before.count]), before)
        try log.close()
        // Reopened through the rewritten indexes, read-only, and from the
        // segments alone (indexes deleted): the same records.
        XCTAssertEqual(try readAll(EventLog.open(directory: dir, limits: Self.limits, mode: .readOnly)), all)
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasSuffix(".idx") {
            try FileManager.default.removeItem(atPath: dir + "/" + name)
        }
        let reopened = try EventLog.open(directory: dir, limits: Self.limits)
        XCTAssertEqual(try readAll(reopened), all)
        XCTAssertEqual(reopened.state.segments.dropLast().filter { $0.dataStart == Int64(SegmentHeader.size) }.count, 0, "all sealed segments recompressed")
        try reopened.close()
        let summary = try EventLog.verify(directory: dir, limits: Self.limits)
        XCTAssertEqual(summary.events, UInt64(all.count))
    }

    /// What a crash leaves at each point is what the directory holds then:
    /// a copy of it, taken at each stage, must open as a whole log with every
    /// event, verify, and recompress to the end on the next run.
    func testACrashAtAnyStageLeavesAValidLog() throws {
        for crashAt in [RecompressionStage.written, .verified, .swapped] {
            let dir = makeTemporaryDirectory("crash")
            let (log, _) = try makeLog(dir)
            let before = try readAll(log)
            let snapshot = makeTemporaryDirectory("snapshot")
            struct Crash: Error {}
            XCTAssertThrowsError(try log.recompressSealedSegments(stage: { (stage: RecompressionStage) throws(LogError) in
                guard stage == crashAt else { return }
                for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                    try? FileManager.default.copyItem(atPath: dir + "/" + name, toPath: snapshot + "/" + name)
                }
                throw LogError(.io, "injected crash at \(stage)")
            }), "\(crashAt)")
            // The process that saw the failure goes on with a valid log.
            XCTAssertEqual(try readAll(log), before, "\(crashAt): the failing process")
            try log.close()
            XCTAssertEqual(try EventLog.verify(directory: dir, limits: Self.limits).events, UInt64(before.count), "\(crashAt)")
            // The crashed copy.
            try? FileManager.default.removeItem(atPath: snapshot + "/LOCK")
            XCTAssertEqual(try EventLog.verify(directory: snapshot, limits: Self.limits).events, UInt64(before.count), "\(crashAt): verify after the crash")
            let recovered = try EventLog.open(directory: snapshot, limits: Self.limits)
            XCTAssertEqual(try readAll(recovered), before, "\(crashAt): events after the crash")
            let report = try recovered.recompressSealedSegments()
            XCTAssertEqual(report.remaining, 0)
            XCTAssertEqual(try readAll(recovered), before, "\(crashAt): events after the next run")
            XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: snapshot).contains { $0.hasSuffix(".recompress") }, "the leftover is removed")
            try recovered.close()
        }
    }

    func testAFailedWriteDuringRecompressionLeavesTheLogAsItWas() throws {
        let dir = makeTemporaryDirectory()
        let (log, input) = try makeLog(dir)
        let before = try readAll(log)
        let files = segmentFiles(dir).map { fileBytes(dir + "/" + $0) }
        FaultInjection.arm(.pwrite, errno: ENOSPC)
        defer { FaultInjection.disarm() }
        XCTAssertThrowsError(try log.recompressSealedSegments())
        FaultInjection.disarm()
        XCTAssertEqual(segmentFiles(dir).map { fileBytes(dir + "/" + $0) }, files, "no segment changed")
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.hasSuffix(".recompress") })
        XCTAssertEqual(try readAll(log), before)
        try log.append(Array(input[0..<10]))
        try log.sync()
        try log.close()
        XCTAssertEqual(try EventLog.verify(directory: dir, limits: Self.limits).events, UInt64(before.count + 10))
    }

    /// Readers part-way through the log when the segments are swapped: the
    /// appender's own, one in another view (as another process has), one
    /// filtered by event time, and one reading on another thread throughout.
    func testReadersCrossingASwapReadEveryEvent() throws {
        let dir = makeTemporaryDirectory()
        let (log, _) = try makeLog(dir)
        let before = try readAll(log)
        let other = try EventLog.open(directory: dir, limits: Self.limits, mode: .readOnly)
        let own = log.reader()
        let foreign = other.reader()
        let timed = log.reader()
        let range = before[100].event.time.microseconds...before[1200].event.time.microseconds
        timed.eventTimeRange = range
        let timedExpected: [EventRecord] = try {
            let r = log.reader()
            r.eventTimeRange = range
            var out: [EventRecord] = []
            while let record = try r.next() { out.append(record) }
            return out
        }()
        XCTAssertLessThan(timedExpected.count, before.count, "the range skips frames")
        var ownRead: [EventRecord] = [], foreignRead: [EventRecord] = [], timedRead: [EventRecord] = []
        for _ in 0..<350 { ownRead.append(try XCTUnwrap(try own.next())) }
        for _ in 0..<10 { foreignRead.append(try XCTUnwrap(try foreign.next())) }
        for _ in 0..<5 { if let r = try timed.next() { timedRead.append(r) } }
        // A reader on another thread, reading the whole log again and again.
        let done = Locked(false)
        let failures = Locked<[String]>([])
        let passes = Locked(0)
        let thread = Thread {
            while !done.value {
                do {
                    let got = try readAll(log)
                    if got != before { failures.mutate { $0.append("a pass read \(got.count) records, not the \(before.count) written") } }
                } catch {
                    failures.mutate { $0.append("\(error)") }
                }
                passes.mutate { $0 += 1 }
            }
        }
        thread.start()
        try waitUntil("the reader thread has read the log once") { passes.value >= 1 }
        let report = try log.recompressSealedSegments()
        XCTAssertGreaterThan(report.segments.count, 2)
        let after = passes.value
        try waitUntil("the reader thread has read the recompressed log") { passes.value >= after + 2 }
        done.value = true
        while !thread.isFinished { usleep(1000) }
        XCTAssertEqual(failures.value, [])
        while let r = try own.next() { ownRead.append(r) }
        while let r = try foreign.next() { foreignRead.append(r) }
        while let r = try timed.next() { timedRead.append(r) }
        XCTAssertTrue(ownRead == before, "the appender's reader: \(ownRead.count) of \(before.count)")
        XCTAssertTrue(foreignRead == before, "another view's reader: \(foreignRead.count) of \(before.count)")
        XCTAssertTrue(timedRead == timedExpected, "the time-filtered reader: \(timedRead.count) of \(timedExpected.count)")
        // A view opened before the swap and read only after it.
        let late = try EventLog.open(directory: dir, limits: Self.limits, mode: .readOnly)
        _ = try log.recompressSealedSegments()
        XCTAssertTrue(try readAll(late) == before, "a view opened before the swap")
        try log.close()
    }

    /// `serve`'s recompressor: recompresses every sealed segment while
    /// appends go on, and stops when asked.
    func testTheBackgroundRecompressorCatchesUpWhileAppendsGoOn() throws {
        let dir = makeTemporaryDirectory()
        let (log, input) = try makeLog(dir)
        let recompressed = Locked(0)
        let recompressor = BackgroundRecompressor(log: log, interval: .milliseconds(20), dutyCycle: 0.5,
                                                  onSegment: { report in recompressed.mutate { $0 += report.segments.count } })
        recompressor.start()
        for i in 0..<10 {
            try log.append(Array(input[(i * 100)..<(i * 100 + 100)]))
            try log.sync()
        }
        let sealedVersion1: () -> Int = {
            log.shared.lock()
            defer { log.shared.unlock() }
            return log.state.segments.dropLast().filter { $0.dataStart == Int64(SegmentHeader.size) }.count
        }
        // Generous: the recompressor runs at idle priority, and gets no CPU
        // while anything else keeps both cores busy.
        XCTAssertTrue(waitUntil("every sealed segment is recompressed", timeout: .seconds(180)) { sealedVersion1() == 0 })
        recompressor.stop()
        XCTAssertGreaterThanOrEqual(recompressed.value, 4)
        XCTAssertEqual(try readAll(log).map(\.event), input + Array(input[0..<1000]))
        try log.close()
        XCTAssertEqual(try EventLog.verify(directory: dir, limits: Self.limits).events, UInt64(input.count + 1000))
    }

    func testADamagedRecompressedSegmentIsReportedAsCorruption() throws {
        let dir = makeTemporaryDirectory()
        let (log, _) = try makeLog(dir)
        let before = try readAll(log)
        _ = try log.recompressSealedSegments()
        try log.close()
        let first = dir + "/" + segmentFiles(dir)[0]
        let pristine = fileBytes(first)
        let dataStart = Int(pristine.withUnsafeBytes { $0.loadLE(UInt32.self, at: 12) })
        XCTAssertEqual(pristine.withUnsafeBytes { $0.loadLE(UInt32.self, at: 8) }, SegmentHeader.versionWithDictionary)
        XCTAssertEqual(pristine[dataStart + 5], FrameHeader.Codec.lz4Dictionary.rawValue)
        // A byte of a frame's payload, then a byte of the dictionary.
        for (offset, reason) in [(dataStart + FrameHeader.size + 20, "frame checksum mismatch"), (SegmentHeader.size + 100, "segment dictionary checksum mismatch")] {
            var damaged = pristine
            damaged[offset] ^= 0x40
            writeBytes(damaged, first)
            XCTAssertThrowsError(try EventLog.verify(directory: dir, limits: Self.limits)) { error in
                let e = error as? LogError
                XCTAssertEqual(e?.code, .corruption)
                XCTAssertEqual(e?.file, first)
                XCTAssertTrue(e?.message.contains(reason) ?? false, "\(e?.message ?? "")")
            }
            // A reader trusting the index meets it when it reads that frame.
            XCTAssertThrowsError(try readAll(EventLog.open(directory: dir, limits: Self.limits, mode: .readOnly))) { error in
                XCTAssertEqual((error as? LogError)?.code, .corruption)
            }
        }
        writeBytes(pristine, first)
        XCTAssertEqual(try readAll(EventLog.open(directory: dir, limits: Self.limits, mode: .readOnly)), before)
    }
}

/// A value shared with a test's thread.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
    func mutate(_ change: (inout Value) -> Void) { lock.lock(); change(&stored); lock.unlock() }
}

