#if canImport(Glibc)
import Glibc
#endif

/// The appending half of the log: frames records, writes them at the end of
/// the newest segment, syncs, and rolls to a new segment at the size limit.
/// Owned by `EventLog`, which serializes calls to it.
final class SegmentWriter {
    let directory: String
    let limits: LogLimits
    private(set) var fd: Int32
    private(set) var path: String
    private(set) var baseSeq: UInt64
    /// Bytes written to the file so far (all `pwrite`s done).
    private var writtenLength: Int64
    /// Frames built but not yet written; flushed at the end of each append.
    private var pending: [UInt8] = []
    /// Index entries of frames written (or pending) but not yet published.
    private var unpublished: [IndexEntry] = []
    private var builder: FrameBuilder
    private(set) var nextSeq: UInt64
    private var lastRecorded: Int64
    /// Set after an I/O error: the file's tail is unknown, so nothing more is
    /// appended until the log is reopened (and recovered).
    private var failure: LogError?
    private var dirty = false

    /// Flush pending frames once they reach this size, bounding memory while
    /// keeping one `pwrite` per append for ordinary batches.
    private static let pendingBytesMax = 4 << 20

    init(directory: String, limits: LogLimits, fd: Int32, path: String, baseSeq: UInt64,
         length: Int64, nextSeq: UInt64, lastRecorded: Int64) {
        self.directory = directory
        self.limits = limits
        self.fd = fd
        self.path = path
        self.baseSeq = baseSeq
        self.writtenLength = length
        self.nextSeq = nextSeq
        self.lastRecorded = lastRecorded
        self.builder = FrameBuilder(capacity: limits.frameTargetBytes + 4096)
        pending.reserveCapacity(limits.frameTargetBytes * 2)
    }

    func closeFile() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    func append(_ events: [LogEvent], now: Int64, log: EventLog) throws(LogError) -> ClosedRange<UInt64> {
        if let failure { throw failure }
        do {
            // Recorded times never step back, so the time index stays sorted.
            let recorded = max(now, lastRecorded)
            lastRecorded = recorded
            let first = nextSeq
            for event in events {
                builder.add(event, seq: nextSeq, recorded: recorded)
                nextSeq += 1
                if builder.rawCount >= limits.frameTargetBytes || builder.count >= limits.frameEventsMax {
                    try cutFrame(log: log)
                }
            }
            try cutFrame(log: log)
            try flushPending()
            return first...(nextSeq - 1)
        } catch {
            failure = error
            throw error
        }
    }

    func sync(log: EventLog) throws(LogError) {
        if let failure { throw failure }
        do {
            try flushPending()
            guard dirty else { return }
            try FileIO.fdatasync(fd, path: path)
            dirty = false
            try log.publish(baseSeq: baseSeq, path: path, length: writtenLength, newEntries: unpublished)
            unpublished.removeAll(keepingCapacity: true)
        } catch {
            failure = error
            throw error
        }
    }

    private func cutFrame(log: EventLog) throws(LogError) {
        guard !builder.isEmpty else { return }
        let frameStart = pending.count
        let header = builder.finish(into: &pending)
        let frameLength = pending.count - frameStart
        let offset = writtenLength + Int64(frameStart)
        if offset > Int64(SegmentHeader.size), offset + Int64(frameLength) > Int64(limits.segmentBytesMax) {
            // This frame opens the next segment; everything before it stays.
            let frame = Array(pending[frameStart...])
            pending.removeSubrange(frameStart...)
            try roll(newBase: header.baseSeq, log: log)
            pending.append(contentsOf: frame)
        }
        unpublished.append(IndexEntry(header: header, offset: writtenLength + Int64(pending.count - frameLength)))
        dirty = true
        if pending.count >= SegmentWriter.pendingBytesMax { try flushPending() }
    }

    private func flushPending() throws(LogError) {
        guard !pending.isEmpty else { return }
        try FileIO.pwrite(fd, pending, at: writtenLength, path: path)
        writtenLength += Int64(pending.count)
        pending.removeAll(keepingCapacity: true)
        dirty = true
    }

    /// Seals the current segment (sync, publish, index) and starts the next.
    private func roll(newBase: UInt64, log: EventLog) throws(LogError) {
        try flushPending()
        if dirty {
            try FileIO.fdatasync(fd, path: path)
            dirty = false
        }
        try log.publish(baseSeq: baseSeq, path: path, length: writtenLength, newEntries: unpublished)
        unpublished.removeAll(keepingCapacity: true)
        try writeIndex(entries: log.segmentEntries(baseSeq: baseSeq), directory: directory)
        closeFile()
        let created = try SegmentWriter.createSegment(directory: directory, baseSeq: newBase)
        fd = created.fd
        path = created.path
        baseSeq = newBase
        writtenLength = Int64(SegmentHeader.size)
        try log.publish(baseSeq: newBase, path: path, length: writtenLength, newEntries: [])
        // The mark now names the new segment; made durable so that losing
        // the sealed segment's successor is noticed after a power cut too.
        try log.durableMark?.sync()
    }

    /// Writes this segment's index file (atomically).
    func writeIndex(entries: [IndexEntry], directory: String) throws(LogError) {
        let bytes = SegmentIndexFile.encode(entries: entries, segmentBase: baseSeq, segmentLength: writtenLength)
        try FileIO.writeAtomically(bytes, to: SegmentIndexFile.path(forSegment: path), directory: directory)
    }

    /// Creates a segment file with its header, durable with its name.
    static func createSegment(directory: String, baseSeq: UInt64) throws(LogError) -> (fd: Int32, path: String) {
        let path = directory + "/" + SegmentName.fileName(baseSeq: baseSeq)
        let fd = try FileIO.open(path, flags: O_RDWR | O_CREAT | O_EXCL)
        do {
            try FileIO.pwrite(fd, SegmentHeader(baseSeq: baseSeq).encoded(), at: 0, path: path)
            try FileIO.fdatasync(fd, path: path)
            try FileIO.fsyncDirectory(directory)
        } catch {
            close(fd)
            throw error
        }
        return (fd, path)
    }
}

extension FileIO {
    static func pwrite(_ fd: Int32, _ bytes: [UInt8], at offset: Int64, path: String) throws(LogError) {
        let failure: LogError? = bytes.withUnsafeBytes { b -> LogError? in
            do throws(LogError) { try pwrite(fd, b, at: offset, path: path); return nil } catch { return error }
        }
        if let failure { throw failure }
    }
}
