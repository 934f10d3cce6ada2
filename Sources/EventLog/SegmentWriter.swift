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
    /// Bytes of the current segment known durable (synced), and the seq
    /// after them: where a failed write is cut back to.
    private var durableLength: Int64
    private var durableNextSeq: UInt64
    /// Set when the file could not be put back to its durable state after a
    /// failure: nothing more is appended until the log is reopened.
    private(set) var fatalFailure: LogError?
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
        self.durableLength = length
        self.nextSeq = nextSeq
        self.durableNextSeq = nextSeq
        self.lastRecorded = lastRecorded
        self.builder = FrameBuilder(capacity: limits.frameTargetBytes + 4096)
        pending.reserveCapacity(limits.frameTargetBytes * 2)
    }

    func closeFile() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Appends `events`. On an I/O error the file is cut back to its last
    /// durable frame and the error thrown: the events are not stored, and the
    /// next append tries again (a disk that was full may have room now).
    func append(_ events: [LogEvent], now: Int64, log: EventLog) throws(LogError) -> ClosedRange<UInt64> {
        if let fatalFailure { throw fatalFailure }
        do {
            // Recorded times never step back, so the time index stays sorted.
            let recorded = max(now, lastRecorded)
            lastRecorded = recorded
            let first = nextSeq
            for event in events {
                // A version 1 frame takes no event with a producer.
                if !builder.canHold(event) { try cutFrame(log: log) }
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
            throw cutBackAfterWriteFailure(error)
        }
    }

    /// Makes the appended frames durable and visible. A failed `fdatasync`
    /// is never retried (after one, the kernel may have dropped the unsynced
    /// pages and a second call can succeed without them: PostgreSQL's
    /// "fsyncgate"): the unsynced frames are cut, and the file is reopened
    /// and read back before anything else is appended.
    func sync(log: EventLog) throws(LogError) {
        if let fatalFailure { throw fatalFailure }
        do {
            try flushPending()
        } catch {
            throw cutBackAfterWriteFailure(error)
        }
        guard dirty else { return }
        do {
            try FileIO.fdatasync(fd, path: path)
        } catch {
            throw recoverAfterFailedSync(error, log: log)
        }
        markDurable(nextSeq: nextSeq)
        do {
            try log.publish(baseSeq: baseSeq, path: path, length: writtenLength, newEntries: unpublished)
        } catch {
            // Durable and visible in this process; only `DURABLE` lags.
            unpublished.removeAll(keepingCapacity: true)
            throw error
        }
        unpublished.removeAll(keepingCapacity: true)
    }

    private func markDurable(nextSeq: UInt64) {
        durableLength = writtenLength
        durableNextSeq = nextSeq
        dirty = false
    }

    /// Forgets what was not durable and cuts the file back to it (synced, so
    /// a frame answered "not stored" cannot come back after a crash).
    /// Returns the error to throw: `error`, or the fatal one if the cut failed.
    private func cutBackAfterWriteFailure(_ error: LogError) -> LogError {
        forgetUnsynced()
        do {
            if try FileIO.fileSize(fd, path: path) != durableLength {
                try FileIO.truncate(fd, to: durableLength, path: path)
                try FileIO.fdatasync(fd, path: path)
            }
        } catch let cutError {
            return fail(LogError(.io, "\(error.message); cutting the segment back to its last durable frame then failed too (\(cutError.message)): "
                + "stop the server, free the disk, and start it again (recovery checks the tail)", file: path, offset: durableLength))
        }
        return error
    }

    private func forgetUnsynced() {
        pending.removeAll(keepingCapacity: true)
        unpublished.removeAll(keepingCapacity: true)
        builder.discard()
        nextSeq = durableNextSeq
        writtenLength = durableLength
        dirty = false
    }

    /// After a failed `fdatasync`: cut the unsynced frames, reopen the file,
    /// make the cut durable, and read back every frame of the segment from
    /// the disk (not the page cache) against the index. Only if all of that
    /// holds are appends accepted again; otherwise the writer stops for good.
    private func recoverAfterFailedSync(_ error: LogError, log: EventLog) -> LogError {
        forgetUnsynced()
        do {
            try FileIO.truncate(fd, to: durableLength, path: path)
            let reopened = try FileIO.open(path, flags: O_RDWR)
            closeFile()
            fd = reopened
            try FileIO.fdatasync(fd, path: path)
            try readBack(expected: log.segmentEntries(baseSeq: baseSeq))
        } catch let checkError {
            return fail(LogError(.io, "\(error.message); afterwards the segment does not read back as it was synced (\(checkError.message)): "
                + "stop the server and run `careerlog log verify` before starting it again", file: path, offset: durableLength))
        }
        return error
    }

    /// Reads the segment's frames up to `durableLength`, bypassing the page
    /// cache where the system allows, and checks them against `expected`.
    private func readBack(expected: [IndexEntry]) throws(LogError) {
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        let file = try SegmentFile(path: path, limits: limits)
        _ = posix_fadvise(file.fd, 0, 0, POSIX_FADV_DONTNEED)
        guard case .success(var offset) = try file.dataStart() else {
            throw LogError(.corruption, "the segment header does not read back", file: path, offset: 0)
        }
        for entry in expected {
            guard entry.offset == offset, case .success(let frame) = try file.readFrame(at: offset, end: durableLength),
                  frame.header.baseSeq == entry.baseSeq, frame.header.lastSeq == entry.lastSeq
            else { throw LogError(.corruption, "frame of seqs \(entry.baseSeq)...\(entry.lastSeq) does not read back", file: path, offset: offset) }
            offset = frame.end
        }
        guard offset == durableLength else {
            throw LogError(.corruption, "the synced frames end at \(offset), the segment's durable length is \(durableLength)", file: path, offset: offset)
        }
    }

    private func fail(_ error: LogError) -> LogError {
        fatalFailure = error
        return error
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
    /// The next segment is created before the current one is let go, so a
    /// roll that fails (no space, no descriptor) leaves the writer on the
    /// current segment, whose frames so far are durable; the roll is tried
    /// again with the next append.
    private func roll(newBase: UInt64, log: EventLog) throws(LogError) {
        try flushPending()
        if dirty {
            do {
                try FileIO.fdatasync(fd, path: path)
            } catch {
                throw recoverAfterFailedSync(error, log: log)
            }
        }
        markDurable(nextSeq: newBase)
        try log.publish(baseSeq: baseSeq, path: path, length: writtenLength, newEntries: unpublished)
        unpublished.removeAll(keepingCapacity: true)
        try writeIndex(entries: log.segmentEntries(baseSeq: baseSeq), directory: directory)
        let created = try SegmentWriter.createSegment(directory: directory, baseSeq: newBase)
        closeFile()
        fd = created.fd
        path = created.path
        baseSeq = newBase
        writtenLength = Int64(SegmentHeader.size)
        markDurable(nextSeq: newBase)
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
            // Not left half made: a retry creates it again (O_EXCL).
            close(fd)
            unlink(path)
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
