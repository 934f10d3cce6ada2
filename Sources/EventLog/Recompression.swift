import CLZ4
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What `EventLog.recompressSealedSegments` did.
public struct RecompressionReport: Sendable, Equatable {
    /// Segments replaced by their recompressed form.
    public var segments: [String] = []
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0
    /// Sealed segments still in the fast form (left for a later call).
    public var remaining = 0
}

/// Where a recompression is (tests stop it at each point, as a crash would).
public enum RecompressionStage: Sendable, Equatable {
    /// The new file is written and synced, not yet checked nor renamed.
    case written
    /// Checked, about to be renamed over the segment.
    case verified
    /// Renamed over the segment, its index not yet rewritten.
    case swapped
}

extension EventLog {
    /// The LZ4 HC level sealed segments are recompressed with (the highest).
    static let recompressionLevel: Int32 = 12
    /// The dictionary: this many pieces of this many bytes, sampled evenly
    /// across the segment's frames (FORMAT.md, "Recompressed segments").
    static let dictionaryPieces = 64
    static let dictionaryPieceBytes = 1024

    /// The temporary name a recompressed segment is written under before
    /// it replaces the segment (never read as a segment: the loader takes
    /// only `*.seg`; a leftover from a crash is deleted by the next run).
    static func recompressionTemporary(_ segmentPath: String) -> String { segmentPath + ".recompress" }

    /// Recompresses up to `limit` sealed segments still in the fast form
    /// (oldest first) with LZ4 HC against a dictionary stored once in each
    /// (FORMAT.md, "Recompressed segments"), and swaps each in atomically:
    /// written beside the segment, synced, read back and compared frame by
    /// frame with the original (every payload byte-identical), then renamed
    /// over it. Readers of the old file finish reading it; readers that
    /// arrive later read the new one; a reader crossing the swap finds its
    /// place again by seq. Appenders are not blocked: only the rename and
    /// the swap of the in-memory index happen under the readers' lock.
    /// The appender's process only (it must know no one else swaps).
    /// `stop` is asked between frames; `stage` is for tests.
    public func recompressSealedSegments(
        limit: Int = .max, stop: () -> Bool = { false }, stage: ((RecompressionStage) throws(LogError) -> Void)? = nil
    ) throws(LogError) -> RecompressionReport {
        guard mode == .readWrite else { throw LogError(.notWritable, "recompression needs the appender's open log", file: directory) }
        var report = RecompressionReport()
        for name in try FileIO.list(directory) where name.hasSuffix(".seg.recompress") {
            unlink(directory + "/" + name)
        }
        shared.lock()
        let candidates = state.segments.dropLast().filter {
            $0.dataStart == Int64(SegmentHeader.size) && !$0.entries.isEmpty && !recompressionDeclined.contains($0.baseSeq)
        }.map(\.baseSeq)
        shared.unlock()
        for base in candidates.prefix(limit) {
            if stop() { break }
            guard let (before, after, path) = try recompressSegment(base: base, stop: stop, stage: stage) else { continue }
            report.segments.append(path)
            report.bytesBefore += before
            report.bytesAfter += after
        }
        shared.lock()
        report.remaining = state.segments.dropLast().filter {
            $0.dataStart == Int64(SegmentHeader.size) && !$0.entries.isEmpty && !recompressionDeclined.contains($0.baseSeq)
        }.count
        shared.unlock()
        return report
    }

    /// One segment; nil when it was left as it is (stopped, or no smaller).
    private func recompressSegment(
        base: UInt64, stop: () -> Bool, stage: ((RecompressionStage) throws(LogError) -> Void)?
    ) throws(LogError) -> (Int64, Int64, String)? {
        shared.lock()
        guard let i = state.segments.firstIndex(where: { $0.baseSeq == base }), i + 1 < state.segments.count else {
            shared.unlock()
            return nil
        }
        let old = state.segments[i]
        shared.unlock()
        let source = try SegmentFile(path: old.path, limits: limits)
        let sourceIdentity = try source.identity()
        if let known = old.identity, known != sourceIdentity { return nil }
        let dictionary = try sampleDictionary(source, segment: old)
        let temporary = EventLog.recompressionTemporary(old.path)
        unlink(temporary)
        let fd = try FileIO.open(temporary, flags: O_RDWR | O_CREAT | O_EXCL)
        var keep = false
        defer {
            Glibc.close(fd)
            if !keep { unlink(temporary) }
        }
        // 1. Write: header and dictionary, then every frame recompressed.
        var out = SegmentHeader(baseSeq: base).encoded(dictionary: dictionary)
        let dataStart = Int64(out.count)
        var written: Int64 = 0
        var entries: [IndexEntry] = []
        entries.reserveCapacity(old.entries.count)
        let stream = LZ4_createStreamHC()!
        defer { LZ4_freeStreamHC(stream) }
        var compressed = [UInt8](repeating: 0, count: LZ4.compressBound(PayloadPacking.packedBound(limits.frameBytesMax)))
        var packed: [UInt8] = []
        var packedFrames = false
        for entry in old.entries {
            if stop() { return nil }
            let frame = try readOldFrame(source, entry: entry, segment: old)
            let (n, isPacked) = PayloadPacking.withCompressionInput(frame.records, scratch: &packed) { input, isPacked in
                let n = compressed.withUnsafeMutableBytes { dst in
                    dictionary.withUnsafeBytes { LZ4.compressHC(input, into: dst, dictionary: $0, level: EventLog.recompressionLevel, stream: stream) }
                }
                return (n, isPacked)
            }
            var header = frame.header
            let useDictionary = n > 0 && n < Int(header.storedLength) && header.codec != .none
            let frameStart = out.count
            out.append(contentsOf: repeatElement(0, count: FrameHeader.size))
            if useDictionary {
                header.codec = isPacked ? .lz4DictionaryPacked : .lz4Dictionary
                packedFrames = packedFrames || isPacked
                header.storedLength = UInt32(n)
                out.append(contentsOf: compressed[0..<n])
            } else {
                // Kept as it was (this rarely pays: a frame HC cannot shrink).
                try appendStoredPayload(source, entry: entry, header: frame.header, segment: old, to: &out)
            }
            out.withUnsafeMutableBytes { all in
                let headerBytes = UnsafeMutableRawBufferPointer(rebasing: all[frameStart..<frameStart + FrameHeader.size])
                header.write(into: headerBytes, payload: UnsafeRawBufferPointer(rebasing: all[(frameStart + FrameHeader.size)...]))
            }
            entries.append(IndexEntry(header: header, offset: written + Int64(frameStart)))
            if out.count >= 4 << 20 {
                try FileIO.pwrite(fd, out, at: written, path: temporary)
                written += Int64(out.count)
                out.removeAll(keepingCapacity: true)
            }
        }
        try FileIO.pwrite(fd, out, at: written, path: temporary)
        written += Int64(out.count)
        if packedFrames {
            // Version 3 once a frame is packed (same length: only the
            // version and the header's CRC change).
            try FileIO.pwrite(fd, SegmentHeader(baseSeq: base).encoded(dictionary: dictionary, packedFrames: true), at: 0, path: temporary)
        }
        try FileIO.fdatasync(fd, path: temporary)
        guard written < old.length else {
            // Not smaller (a tiny or incompressible segment): left as it is,
            // and not tried again while this log is open.
            shared.lock()
            recompressionDeclined.insert(base)
            shared.unlock()
            return nil
        }
        try stage?(.written)
        // 2. Check: the new file, read from disk as a reader would, holds
        // exactly the old frames' records, byte for byte, with the same headers.
        let check = try SegmentFile(path: temporary, limits: limits)
        guard case .success(let checkHeader) = try check.readHeader(fileLength: written), Int64(checkHeader.headerLength) == dataStart,
              checkHeader.baseSeq == base,
              checkHeader.version == (packedFrames ? SegmentHeader.versionWithPackedFrames : SegmentHeader.versionWithDictionary) else {
            throw LogError(.corruption, "the recompressed segment's header does not read back", file: temporary, offset: 0)
        }
        for (k, entry) in old.entries.enumerated() {
            if stop() { return nil }
            let before = try readOldFrame(source, entry: entry, segment: old)
            let newEntry = entries[k]
            let after: SegmentFile.Frame
            switch try check.readFrame(at: newEntry.offset, end: written) {
            case .failure(let failure):
                throw LogError(.corruption, "the recompressed frame of seqs \(entry.baseSeq)...\(entry.lastSeq) does not read back: \(failure.reason)", file: temporary, offset: newEntry.offset)
            case .success(let frame): after = frame
            }
            var expected = before.header
            expected.codec = after.header.codec
            expected.storedLength = after.header.storedLength
            expected.crc = after.header.crc
            guard after.header == expected, after.records.count == before.records.count,
                  memcmp(after.records.baseAddress!, before.records.baseAddress!, after.records.count) == 0 else {
                throw LogError(.corruption, "the recompressed frame of seqs \(entry.baseSeq)...\(entry.lastSeq) differs from the original", file: temporary, offset: newEntry.offset)
            }
            try EventLog.verifyRecords(after, file: temporary)
        }
        guard entries.last.map({ Int64($0.offset) < written }) ?? false else { return nil }
        try stage?(.verified)
        // 3. Swap: rename over the segment and switch the readers' view in
        // one step (the rename is atomic on disk: a crash leaves the old
        // file or the new one under the name, both whole and synced).
        let identity = try check.identity()
        shared.lock()
        guard let j = state.segments.firstIndex(where: { $0.baseSeq == base }), state.segments[j].identity == old.identity,
              state.segments[j].length == old.length else {
            shared.unlock()
            return nil
        }
        guard rename(temporary, old.path) == 0 else {
            shared.unlock()
            throw LogError(.io, FileIO.errorText("rename"), file: old.path)
        }
        keep = true
        state.segments[j] = SegmentState(baseSeq: base, path: old.path, length: written, entries: entries, dataStart: dataStart, identity: identity)
        shared.broadcast()
        shared.unlock()
        try FileIO.fsyncDirectory(directory)
        try stage?(.swapped)
        // 4. The index (derived: until it is rewritten, its length no longer
        // matches the segment's and the next open rebuilds it).
        let index = SegmentIndexFile.encode(entries: entries, segmentBase: base, segmentLength: written)
        try FileIO.writeAtomically(index, to: SegmentIndexFile.path(forSegment: old.path), directory: directory)
        return (old.length, written, old.path)
    }

    private func readOldFrame(_ file: SegmentFile, entry: IndexEntry, segment: SegmentState) throws(LogError) -> SegmentFile.Frame {
        let end = entry.offset + Int64(FrameHeader.size) + Int64(limits.frameBytesMax) * 2
        switch try file.readFrame(at: entry.offset, end: min(end, segment.length)) {
        case .failure(let failure):
            throw LogError(.corruption, "sealed segment: \(failure.reason)", file: file.path, offset: entry.offset)
        case .success(let frame):
            guard frame.header.baseSeq == entry.baseSeq, frame.header.count == entry.count else {
                throw LogError(.corruption, "frame at this offset is not the one the index names (seq \(entry.baseSeq))", file: file.path, offset: entry.offset)
            }
            return frame
        }
    }

    /// The frame's payload as stored (a frame left as it was).
    private func appendStoredPayload(_ file: SegmentFile, entry: IndexEntry, header: FrameHeader, segment: SegmentState, to out: inout [UInt8]) throws(LogError) {
        let storage = RawBuffer()
        let buffer = storage.reserve(Int(header.storedLength))
        let got = try FileIO.pread(file.fd, buffer, at: entry.offset + Int64(FrameHeader.size), path: file.path)
        guard got == buffer.count else { throw LogError(.corruption, "sealed segment: frame payload is short", file: file.path, offset: entry.offset) }
        out.append(contentsOf: UnsafeRawBufferPointer(buffer))
        withExtendedLifetime(storage) {}
    }

    /// 64 pieces of 1 KiB from frames spread evenly over the segment (past
    /// each frame's prefix, where the records are): what the segment's
    /// frames have in common (field names, enumerations, sources, types,
    /// recurring subjects), in at most LZ4's 64 KiB window.
    private func sampleDictionary(_ file: SegmentFile, segment: SegmentState) throws(LogError) -> [UInt8] {
        var dictionary: [UInt8] = []
        dictionary.reserveCapacity(EventLog.dictionaryPieces * EventLog.dictionaryPieceBytes)
        let n = segment.entries.count
        let pieces = min(EventLog.dictionaryPieces, n)
        // A small segment gets a small dictionary (it is stored in the
        // segment): at most 1/32 of its records, and 64 KiB.
        let raw = segment.entries.reduce(0) { $0 + Int($1.rawLength) }
        let pieceBytes = max(16, min(EventLog.dictionaryPieceBytes, raw / 32 / pieces))
        var packed: [UInt8] = []
        for p in 0..<pieces {
            let entry = segment.entries[p * n / pieces]
            let frame = try readOldFrame(file, entry: entry, segment: segment)
            // From what the frame's compression will see: its packed form
            // when packing applies (FORMAT.md, "Packed payloads").
            PayloadPacking.withCompressionInput(frame.records, scratch: &packed) { records, _ in
                let start = records.count > 2 * pieceBytes ? min(EventLog.dictionaryPieceBytes, records.count - pieceBytes) : 0
                let end = min(records.count, start + pieceBytes)
                dictionary.append(contentsOf: records[start..<end])
            }
        }
        return Array(dictionary.prefix(LZ4.dictionaryBytesMax))
    }
}

/// Recompresses sealed segments on a thread of its own at the lowest CPU
/// priority (`SCHED_IDLE`): one segment at a time, checking every
/// `interval` (and at once after a start), never on the append path, and
/// paced: after each frame it rests so that it works at most `dutyCycle`
/// of the time (on a small machine even an idle-priority thread competes
/// for caches, memory bandwidth and a hyperthread's core with ingest). `stop()`
/// interrupts a recompression between frames (the segment is left as it
/// was) and returns when the thread has ended: call it before `close()`.
public final class BackgroundRecompressor: @unchecked Sendable {
    private let log: EventLog
    private let interval: Double
    private let condition = NSCondition()
    private var stopped = false
    private var finished = false
    private let onError: @Sendable (LogError) -> Void
    private let onSegment: @Sendable (RecompressionReport) -> Void
    private let dutyCycle: Double

    public init(
        log: EventLog, interval: Duration = .seconds(10), dutyCycle: Double = 0.25,
        onSegment: @escaping @Sendable (RecompressionReport) -> Void = { _ in },
        onError: @escaping @Sendable (LogError) -> Void = { _ in }
    ) {
        self.log = log
        self.interval = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        self.onError = onError
        self.onSegment = onSegment
        self.dutyCycle = min(1, max(0.01, dutyCycle))
    }

    /// Called between frames: rests `worked * (1 / dutyCycle - 1)`; true
    /// when stopped.
    private func pace(since start: inout ContinuousClock.Instant) -> Bool {
        let worked = ContinuousClock.now - start
        let rest = Double(worked.components.seconds) + Double(worked.components.attoseconds) / 1e18
        condition.lock()
        if !stopped, dutyCycle < 1 { _ = condition.wait(until: Date().addingTimeInterval(rest * (1 / dutyCycle - 1))) }
        let result = stopped
        condition.unlock()
        start = ContinuousClock.now
        return result
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "careerlog-recompress"
        thread.start()
    }

    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    private func run() {
        // The lowest CPU priority Linux has: runs only on otherwise idle cores.
        var param = sched_param()
        param.sched_priority = 0
        _ = pthread_setschedparam(pthread_self(), 5 /* SCHED_IDLE */, &param)
        while !isStopped {
            do {
                var start = ContinuousClock.now
                let report = try log.recompressSealedSegments(limit: 1, stop: { [self] in pace(since: &start) })
                if !report.segments.isEmpty {
                    onSegment(report)
                    if report.remaining > 0 { continue }
                }
            } catch {
                if !isStopped { onError(error) }
            }
            condition.lock()
            if !stopped { _ = condition.wait(until: Date().addingTimeInterval(interval)) }
            condition.unlock()
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
