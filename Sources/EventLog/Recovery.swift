#if canImport(Glibc)
import Glibc
#endif

extension EventLog {
    /// Opens (creating if needed, in `.readWrite`) the log in `directory`.
    ///
    /// Sealed segments are loaded through their indexes (rebuilt when missing
    /// or stale); the newest segment is read and checked frame by frame, and a
    /// torn tail is cut and kept aside (FORMAT.md, "Recovery on open").
    /// Corruption anywhere else fails with the file and offset.
    public static func open(
        directory: String, limits: LogLimits = LogLimits(), mode: Mode = .readWrite,
        clock: @escaping @Sendable () -> Int64 = EventLog.systemClock
    ) throws(LogError) -> EventLog {
        try limits.validate()
        let directory = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        var lockFD: Int32 = -1
        if mode == .readWrite {
            try FileIO.makeDirectory(directory)
            lockFD = try acquireLock(directory: directory)
        } else if !FileIO.exists(directory) {
            throw LogError(.io, "no log directory", file: directory)
        }
        do {
            var report = RecoveryReport()
            let loader = SegmentLoader(directory: directory, limits: limits, repair: mode == .readWrite)
            var segments = try loader.loadAll(report: &report)
            var writer: SegmentWriter?
            if mode == .readWrite {
                if segments.isEmpty {
                    let created = try SegmentWriter.createSegment(directory: directory, baseSeq: 1)
                    Glibc.close(created.fd)
                    segments.append(SegmentState(baseSeq: 1, path: created.path, length: Int64(SegmentHeader.size), entries: []))
                }
                writer = try loader.resumeWriter(after: segments)
            }
            report.segments = segments.count
            var markWriter: DurableMarkWriter?
            if mode == .readWrite, let last = segments.last {
                // What recovery kept is durable (it was synced or fsynced).
                markWriter = try DurableMarkWriter(directory: directory)
                try markWriter?.write(DurableMark(segmentBase: last.baseSeq, length: last.length, lastSeq: last.lastSeq))
            }
            return EventLog(
                directory: directory, limits: limits, mode: mode, state: Shared(segments: segments),
                writer: writer, lockFD: lockFD, recovery: report, clock: clock, durableMark: markWriter)
        } catch {
            if lockFD >= 0 { Glibc.close(lockFD) }
            throw error
        }
    }

    private static func acquireLock(directory: String) throws(LogError) -> Int32 {
        let path = directory + "/LOCK"
        let fd = try FileIO.open(path, flags: O_RDWR | O_CREAT)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(fd)
            throw LogError(.locked, "another process is appending to this log (its LOCK is held); stop it or use a read-only command", file: path)
        }
        return fd
    }

    /// Picks up frames another process has appended since this read-only
    /// log was opened or last refreshed. Returns the new last seq.
    @discardableResult
    public func refresh() throws(LogError) -> UInt64 {
        precondition(mode == .readOnly, "refresh() is for read-only logs; the writer's own appends publish themselves")
        shared.lock()
        let known = state.segments
        shared.unlock()
        let loader = SegmentLoader(directory: directory, limits: limits, repair: false)
        let updated = try loader.refresh(known: known)
        shared.lock()
        state.segments = updated
        shared.broadcast()
        let last = state.lastSeq
        shared.unlock()
        return last
    }
}

/// Reads the segment files of a log directory into `SegmentState`s, checking
/// them as FORMAT.md says, repairing only a torn tail and only when allowed.
struct SegmentLoader {
    let directory: String
    let limits: LogLimits
    /// True for the appender: cut torn tails and write rebuilt indexes.
    let repair: Bool
    /// For readers (not the appender): how far the appender's last sync got.
    let mark: DurableMark?

    init(directory: String, limits: LogLimits, repair: Bool) {
        self.directory = directory
        self.limits = limits
        self.repair = repair
        self.mark = repair ? nil : DurableMark.read(directory: directory)
    }

    /// The bytes of segment `base` this loader may read: all of them for the
    /// appender; up to the durable mark for a reader.
    func readableSize(_ file: SegmentFile, base: UInt64) throws(LogError) -> Int64 {
        let size = try file.size()
        return mark?.readableLength(ofSegment: base, size: size) ?? size
    }

    typealias SegmentState = EventLog.SegmentState

    func segmentBases() throws(LogError) -> [UInt64] {
        try FileIO.list(directory).compactMap(SegmentName.baseSeq).sorted()
    }

    func path(_ base: UInt64) -> String { directory + "/" + SegmentName.fileName(baseSeq: base) }

    func loadAll(report: inout RecoveryReport) throws(LogError) -> [SegmentState] {
        let bases = try segmentBases()
        var segments: [SegmentState] = []
        for (i, base) in bases.enumerated() {
            try checkContinuity(base: base, after: segments.last)
            if i == bases.count - 1 {
                segments.append(try recoverNewest(base: base, report: &report))
            } else {
                segments.append(try loadSealed(base: base, report: &report))
            }
        }
        return segments
    }

    private func checkContinuity(base: UInt64, after previous: SegmentState?) throws(LogError) {
        guard let previous else { return }
        guard base == previous.lastSeq + 1 else {
            throw LogError(.corruption, "segment starts at seq \(base) but the previous segment ends at seq \(previous.lastSeq)", file: path(base), offset: 0)
        }
    }

    /// A sealed segment: trusted through an intact index, else fully re-read.
    func loadSealed(base: UInt64, report: inout RecoveryReport) throws(LogError) -> SegmentState {
        let file = try SegmentFile(path: path(base), limits: limits)
        let size = try file.size()
        try checkHeader(file, base: base, size: size)
        let indexPath = SegmentIndexFile.path(forSegment: file.path)
        if let bytes = try? readWholeFile(indexPath),
           let entries = SegmentIndexFile.decode(bytes, segmentBase: base, segmentLength: size) {
            return SegmentState(baseSeq: base, path: file.path, length: size, entries: entries)
        }
        var entries: [IndexEntry] = []
        var offset = Int64(SegmentHeader.size)
        var expected = base
        while offset < size {
            switch try file.readFrame(at: offset, end: size) {
            case .failure(let failure):
                throw LogError(.corruption, "sealed segment: \(failure.reason)", file: file.path, offset: offset)
            case .success(let frame):
                try checkSeq(frame, expected: expected, file: file.path)
                entries.append(IndexEntry(header: frame.header, offset: offset))
                expected = frame.header.lastSeq + 1
                offset = frame.end
            }
        }
        if repair {
            let bytes = SegmentIndexFile.encode(entries: entries, segmentBase: base, segmentLength: size)
            try FileIO.writeAtomically(bytes, to: indexPath, directory: directory)
        }
        report.indexesRebuilt.append(indexPath)
        return SegmentState(baseSeq: base, path: file.path, length: size, entries: entries)
    }

    private func checkHeader(_ file: SegmentFile, base: UInt64, size: Int64) throws(LogError) {
        switch try file.readHeader(fileLength: size) {
        case .failure(let failure):
            throw LogError(.corruption, failure.reason, file: file.path, offset: 0)
        case .success(let header):
            guard header.baseSeq == base else {
                throw LogError(.corruption, "segment header says base seq \(header.baseSeq), its name says \(base)", file: file.path, offset: 16)
            }
        }
    }

    private func checkSeq(_ frame: SegmentFile.Frame, expected: UInt64, file: String) throws(LogError) {
        guard frame.header.baseSeq == expected else {
            throw LogError(.corruption, "frame starts at seq \(frame.header.baseSeq) where seq \(expected) was expected", file: file, offset: frame.offset)
        }
    }

    /// The newest segment: every frame is read and checked; a torn tail is
    /// cut (when repairing) or ignored (read-only); damage with a good frame
    /// after it is corruption.
    func recoverNewest(base: UInt64, report: inout RecoveryReport) throws(LogError) -> SegmentState {
        let file = try SegmentFile(path: path(base), limits: limits)
        let size = try readableSize(file, base: base)
        if case .failure(let failure) = try file.readHeader(fileLength: size) {
            // A header that never reached the disk (short, or zeros) means the
            // segment was being created when the process stopped: a torn tail.
            // A damaged header with frames after it is corruption.
            var torn = failure.torn || size <= Int64(SegmentHeader.size)
            if !torn { torn = try allZero(file, from: 0, to: size) }
            let later = try file.validFrameExists(after: Int64(SegmentHeader.size) - 1, end: size)
            if !torn || later != nil {
                throw LogError(.corruption, failure.reason, file: file.path, offset: 0)
            }
            guard repair else {
                return SegmentState(baseSeq: base, path: file.path, length: 0, entries: [])
            }
            try cutTail(file, at: 0, size: size, reason: failure.reason, report: &report)
            let fd = try writableFD(file.path)
            defer { close(fd) }
            try FileIO.pwrite(fd, SegmentHeader(baseSeq: base).encoded(), at: 0, path: file.path)
            try FileIO.fdatasync(fd, path: file.path)
            return SegmentState(baseSeq: base, path: file.path, length: Int64(SegmentHeader.size), entries: [])
        }
        try checkHeader(file, base: base, size: size)
        // A read-only view (replay, status) trusts an index written at a clean
        // close for the prefix it covers and reads only the tail after it;
        // its readers still check every frame they read. The appender reads
        // the whole newest segment, so damage anywhere in it stops the open.
        if !repair, let bytes = try? readWholeFile(SegmentIndexFile.path(forSegment: file.path)),
           let (entries, length) = SegmentIndexFile.decode(bytes, segmentBase: base), length <= size,
           let last = entries.last, last.offset < length {
            return try scanFrames(file, base: base, from: length, expected: last.lastSeq + 1, entries: entries, size: size, report: &report)
        }
        return try scanFrames(file, base: base, from: Int64(SegmentHeader.size), expected: base, entries: [], size: size, report: &report)
    }

    private func scanFrames(
        _ file: SegmentFile, base: UInt64, from start: Int64, expected start_expected: UInt64,
        entries initial: [IndexEntry], size: Int64, report: inout RecoveryReport
    ) throws(LogError) -> SegmentState {
        var entries = initial
        var offset = start
        var expected = start_expected
        while offset < size {
            switch try file.readFrame(at: offset, end: size) {
            case .success(let frame):
                try checkSeq(frame, expected: expected, file: file.path)
                entries.append(IndexEntry(header: frame.header, offset: offset))
                expected = frame.header.lastSeq + 1
                offset = frame.end
            case .failure(let failure):
                if let later = try file.validFrameExists(after: offset, end: size) {
                    throw LogError(.corruption, "\(failure.reason); a valid frame follows at offset \(later), so this is damage inside the log, not a torn tail", file: file.path, offset: offset)
                }
                if repair {
                    try cutTail(file, at: offset, size: size, reason: failure.reason, report: &report)
                }
                return SegmentState(baseSeq: base, path: file.path, length: offset, entries: entries)
            }
        }
        return SegmentState(baseSeq: base, path: file.path, length: offset, entries: entries)
    }

    private func allZero(_ file: SegmentFile, from: Int64, to: Int64) throws(LogError) -> Bool {
        let buffer = RawBuffer().reserve(Int(min(to - from, 1 << 20)))
        let n = try FileIO.pread(file.fd, buffer, at: from, path: file.path)
        return buffer[0..<n].allSatisfy { $0 == 0 }
    }

    private func writableFD(_ path: String) throws(LogError) -> Int32 {
        try FileIO.open(path, flags: O_RDWR)
    }

    /// Copies the bytes from `offset` to the end into
    /// `<segment>.broken-<offset>` (fsynced), then truncates and fsyncs.
    private func cutTail(_ file: SegmentFile, at offset: Int64, size: Int64, reason: String, report: inout RecoveryReport) throws(LogError) {
        let savedAs = file.path + ".broken-\(offset)"
        let out = try FileIO.open(savedAs, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(out) }
        let chunk = RawBuffer()
        var position = offset
        while position < size {
            let buffer = chunk.reserve(Int(min(size - position, 4 << 20)))
            let n = try FileIO.pread(file.fd, buffer, at: position, path: file.path)
            guard n > 0 else { break }
            try FileIO.pwrite(out, UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: position - offset, path: savedAs)
            position += Int64(n)
        }
        try FileIO.fsync(out, path: savedAs)
        let fd = try writableFD(file.path)
        defer { close(fd) }
        try FileIO.truncate(fd, to: offset, path: file.path)
        try FileIO.fsync(fd, path: file.path)
        try FileIO.fsyncDirectory(directory)
        report.truncations.append(.init(file: file.path, offset: offset, bytes: size - offset, savedAs: savedAs, reason: reason))
    }

    /// Opens the newest segment for appending where recovery left it.
    func resumeWriter(after segments: [SegmentState]) throws(LogError) -> SegmentWriter {
        let last = segments[segments.count - 1]
        let fd = try writableFD(last.path)
        var lastRecorded: Int64 = .min
        // The newest recorded time is in the last frame's header.
        if let segment = segments.last(where: { !$0.entries.isEmpty }), let entry = segment.entries.last {
            let file = try SegmentFile(path: segment.path, limits: limits)
            if case .success(let frame) = try file.readFrame(at: entry.offset, end: segment.length) {
                lastRecorded = frame.header.lastRecorded
            }
        }
        return SegmentWriter(
            directory: directory, limits: limits, fd: fd, path: last.path, baseSeq: last.baseSeq,
            length: last.length, nextSeq: last.lastSeq + 1, lastRecorded: lastRecorded)
    }

    /// Read-only: extends the known segments with what has been appended since.
    func refresh(known: [SegmentState]) throws(LogError) -> [SegmentState] {
        var segments = known
        var report = RecoveryReport()
        let bases = try segmentBases()
        // Continue the newest known segment from where it ended.
        if var last = segments.popLast() {
            let file = try SegmentFile(path: last.path, limits: limits)
            let size = try readableSize(file, base: last.baseSeq)
            if last.length == 0 {
                segments.append(try recoverNewest(base: last.baseSeq, report: &report))
            } else {
                last = try scanFrames(file, base: last.baseSeq, from: last.length, expected: last.lastSeq + 1, entries: last.entries, size: size, report: &report)
                segments.append(last)
            }
        }
        let newer = bases.filter { $0 > (segments.last?.baseSeq ?? 0) }
        for (i, base) in newer.enumerated() {
            try checkContinuity(base: base, after: segments.last)
            segments.append(i == newer.count - 1 ? try recoverNewest(base: base, report: &report) : try loadSealed(base: base, report: &report))
        }
        return segments
    }

    private func readWholeFile(_ path: String) throws(LogError) -> [UInt8] {
        let fd = try FileIO.open(path, flags: O_RDONLY)
        defer { close(fd) }
        let size = Int(try FileIO.fileSize(fd, path: path))
        var bytes = [UInt8](repeating: 0, count: size)
        let result: Result<Int, LogError> = bytes.withUnsafeMutableBytes { b in
            do throws(LogError) { return .success(try FileIO.pread(fd, b, at: 0, path: path)) } catch { return .failure(error) }
        }
        guard try result.get() == size else { throw LogError(.io, "short read", file: path) }
        return bytes
    }
}
