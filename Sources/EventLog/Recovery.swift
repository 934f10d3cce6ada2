#if canImport(Glibc)
import Glibc
#endif

extension EventLog {
    /// Opens (creating if needed, in `.readWrite`) the log in `directory`.
    ///
    /// Sealed segments are loaded through their indexes (rebuilt when missing
    /// or stale); the newest segment is read and checked frame by frame, and a
    /// torn tail past the durable mark is cut and kept aside (FORMAT.md,
    /// "Recovery on open"). Damage at or before the mark, a log ending before
    /// it, and corruption anywhere else fail with the file and offset.
    public static func open(
        directory: String, limits: LogLimits = LogLimits(), mode: Mode = .readWrite,
        access: DirectoryAccess = .shared, clock: @escaping @Sendable () -> Int64 = EventLog.systemClock
    ) throws(LogError) -> EventLog {
        try limits.validate()
        precondition(access == .shared || mode == .readWrite, "exclusive access is for the appender")
        let directory = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        var lockFD: Int32 = -1
        if mode == .readWrite {
            try FileIO.makeDirectory(directory)
        } else if !FileIO.exists(directory) {
            throw LogError(.io, "no log directory", file: directory)
        }
        let directoryLockFD = try lockDirectory(directory, access: access)
        do {
            if mode == .readWrite { lockFD = try acquireLock(directory: directory) }
            var report = RecoveryReport()
            let loader = try SegmentLoader(directory: directory, limits: limits, purpose: mode == .readWrite ? .append : .read)
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
                writer: writer, lockFD: lockFD, directoryLockFD: directoryLockFD, recovery: report, clock: clock,
                durableMark: markWriter)
        } catch {
            if lockFD >= 0 { Glibc.close(lockFD) }
            Glibc.close(directoryLockFD)
            throw error
        }
    }

    /// Takes the `flock` on the log directory itself (`DirectoryAccess`);
    /// returns its descriptor, held until the log is closed.
    static func lockDirectory(_ directory: String, access: DirectoryAccess) throws(LogError) -> Int32 {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw LogError(.io, "cannot open the log directory: \(String(cString: strerror(errno)))", file: directory) }
        guard flock(fd, (access == .shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            let reason = errno
            Glibc.close(fd)
            guard reason == EWOULDBLOCK else {
                throw LogError(.io, "cannot lock the log directory: \(String(cString: strerror(reason)))", file: directory)
            }
            switch access {
            case .shared:
                throw LogError(.locked, "the log is being rewritten as a whole (privacy seal-existing holds it); run again when that is done", file: directory)
            case .exclusive:
                throw LogError(.locked, "another process has this log open (a server, a projector, a replay, a dump or another tool): "
                    + "stop every careerlog process using it, then run again", file: directory)
            }
        }
        return fd
    }

    /// Runs `body` holding the log's writer lock without opening the log,
    /// so no appender can open it meanwhile: for a tool that replaces the
    /// log directory as a whole (`privacy seal-existing`). Throws `.locked`
    /// when another process holds it.
    public static func withWriterLock<T>(directory: String, _ body: () throws -> T) throws -> T {
        let fd = try acquireLock(directory: directory)
        defer { Glibc.close(fd) }
        return try body()
    }

    static func acquireLock(directory: String) throws(LogError) -> Int32 {
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
        let loader = try SegmentLoader(directory: directory, limits: limits, purpose: .read)
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
/// them as FORMAT.md says ("Recovery on open"). The one place that decides
/// what is good, what is a torn tail and what is corruption: the appender,
/// read-only views and `verify` all load through it and differ only in what
/// they may read and whether they may repair.
struct SegmentLoader {
    enum Purpose {
        /// The appender: cut torn tails past the durable mark, write rebuilt indexes.
        case append
        /// Another process's view: never modifies a file; reads up to the mark.
        case read
        /// `verify`: decides exactly as `.append` would, re-reads every frame
        /// (no index trusted), decodes every record, and only reports what
        /// the appender would cut.
        case verify
    }

    let directory: String
    let limits: LogLimits
    let purpose: Purpose
    /// Where the appender's last sync ended, as far as `DURABLE` tells.
    /// Damage at or before it is corruption; only bytes past it are a torn tail.
    let mark: DurableMark?
    /// Reads stop at this mark (another process may be writing past it).
    let readLimit: DurableMark?
    /// Seq gaps an operator's repair recorded (the only gaps allowed).
    let gaps: [SeqGap]

    var repair: Bool { purpose == .append }

    init(directory: String, limits: LogLimits, purpose: Purpose) throws(LogError) {
        self.directory = directory
        self.limits = limits
        self.purpose = purpose
        let mark = DurableMark.read(directory: directory)
        self.mark = mark
        switch purpose {
        case .append: readLimit = nil
        case .read: readLimit = mark
        // With no appender running, verify sees every byte the appender's
        // next open would; beside one, frames past its last sync are not
        // durable yet and are checked next time.
        case .verify: readLimit = SegmentLoader.appenderIsRunning(directory) ? mark : nil
        }
        self.gaps = try RepairJournal.read(directory: directory).gaps
    }

    /// Whether a process holds the log's `LOCK` (probed, released at once).
    static func appenderIsRunning(_ directory: String) -> Bool {
        guard let fd = try? FileIO.open(directory + "/LOCK", flags: O_RDONLY) else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return true }
        flock(fd, LOCK_UN)
        return false
    }

    /// The bytes of segment `base` this loader may read: all of them for the
    /// appender; up to the durable mark for a reader.
    func readableSize(_ file: SegmentFile, base: UInt64) throws(LogError) -> Int64 {
        let size = try file.size()
        return readLimit?.readableLength(ofSegment: base, size: size) ?? size
    }

    /// The bytes of segment `base` the mark says were made durable: nothing
    /// may be cut below this. Segments sealed before the mark's are durable
    /// whole; one created after it, not at all (yet).
    func durableLength(ofSegment base: UInt64) -> Int64 {
        guard let mark else { return 0 }
        if base == mark.segmentBase { return mark.length }
        return base < mark.segmentBase ? .max : 0
    }

    typealias SegmentState = EventLog.SegmentState

    func segmentBases() throws(LogError) -> [UInt64] {
        try FileIO.list(directory).compactMap(SegmentName.baseSeq).sorted()
    }

    func path(_ base: UInt64) -> String { directory + "/" + SegmentName.fileName(baseSeq: base) }

    /// Loads every segment; `loaded` sees each one as it is done (verify's progress).
    func loadAll(report: inout RecoveryReport, loaded: ((SegmentState) -> Void)? = nil) throws(LogError) -> [SegmentState] {
        let bases = try segmentBases()
        var segments: [SegmentState] = []
        for (i, base) in bases.enumerated() {
            try checkContinuity(base: base, after: segments.last)
            if i == bases.count - 1 {
                segments.append(try recoverNewest(base: base, report: &report))
            } else {
                segments.append(try loadSealed(base: base, report: &report))
            }
            loaded?(segments[segments.count - 1])
        }
        try checkAgainstMark(segments)
        return segments
    }

    /// A log that ends before what `DURABLE` names has lost durable data
    /// (a deleted or truncated newest segment): never served as if whole.
    func checkAgainstMark(_ segments: [SegmentState]) throws(LogError) {
        guard let mark else { return }
        let newestBase = segments.last?.baseSeq ?? 0
        guard newestBase >= mark.segmentBase else {
            throw LogError(.corruption, "segment \(mark.segmentBase) is missing: DURABLE says it holds durable events up to seq \(mark.lastSeq), but the log ends at seq \(segments.last?.lastSeq ?? 0); restore it from a backup, or accept the loss with `careerlog log repair`", file: path(mark.segmentBase), offset: 0)
        }
        let lastSeq = segments.last?.lastSeq ?? 0
        guard lastSeq >= mark.lastSeq else {
            throw LogError(.corruption, "events are missing: DURABLE says seq \(mark.lastSeq) was durable, but the log ends at seq \(lastSeq); restore from a backup, or accept the loss with `careerlog log repair`", file: segments.last?.path ?? path(mark.segmentBase), offset: segments.last?.length)
        }
    }

    private func checkContinuity(base: UInt64, after previous: SegmentState?) throws(LogError) {
        guard let previous else { return }
        guard base == previous.lastSeq + 1 || gaps.contains(SeqGap(after: previous.lastSeq, next: base)) else {
            throw LogError(.corruption, "segment starts at seq \(base) but the previous segment ends at seq \(previous.lastSeq) (no repair recorded this gap in \(RepairJournal.fileName))", file: path(base), offset: 0)
        }
    }

    /// A segment shorter than its durable length has lost acknowledged bytes.
    private func checkDurableLength(_ file: SegmentFile, base: UInt64, size: Int64) throws(LogError) {
        let durable = durableLength(ofSegment: base)
        guard durable == .max || size >= durable else {
            throw LogError(.corruption, "the segment is \(size) bytes but DURABLE says \(durable) were made durable: acknowledged data is missing, not a torn tail; restore from a backup, or accept the loss with `careerlog log repair --truncate-after SEQ`", file: file.path, offset: size)
        }
    }

    /// A sealed segment: trusted through an intact index, else fully re-read
    /// (always, for verify).
    func loadSealed(base: UInt64, report: inout RecoveryReport) throws(LogError) -> SegmentState {
        try loadSealed(file: try SegmentFile(path: path(base), limits: limits), base: base, report: &report)
    }

    func loadSealed(file: SegmentFile, base: UInt64, report: inout RecoveryReport) throws(LogError) -> SegmentState {
        let size = try file.size()
        let dataStart = try checkHeader(file, base: base, size: size)
        try checkDurableLength(file, base: base, size: size)
        let identity = try file.identity()
        let indexPath = SegmentIndexFile.path(forSegment: file.path)
        if purpose != .verify, let bytes = try? readWholeFile(indexPath),
           let entries = SegmentIndexFile.decode(bytes, segmentBase: base, segmentLength: size),
           entries.first.map({ $0.offset == dataStart }) ?? (size == dataStart) {
            return SegmentState(baseSeq: base, path: file.path, length: size, entries: entries, dataStart: dataStart, identity: identity)
        }
        var entries: [IndexEntry] = []
        var offset = dataStart
        var expected = base
        while offset < size {
            switch try file.readFrame(at: offset, end: size) {
            case .failure(let failure):
                throw LogError(.corruption, "sealed segment: \(failure.reason)", file: file.path, offset: offset)
            case .success(let frame):
                try checkFrame(frame, expected: expected, file: file.path)
                entries.append(IndexEntry(header: frame.header, offset: offset))
                expected = frame.header.lastSeq + 1
                offset = frame.end
            }
        }
        if repair {
            let bytes = SegmentIndexFile.encode(entries: entries, segmentBase: base, segmentLength: size)
            try FileIO.writeAtomically(bytes, to: indexPath, directory: directory)
            report.indexesRebuilt.append(indexPath)
        }
        return SegmentState(baseSeq: base, path: file.path, length: size, entries: entries, dataStart: dataStart, identity: identity)
    }

    /// Checks the header (and dictionary); returns where the frames start.
    @discardableResult
    private func checkHeader(_ file: SegmentFile, base: UInt64, size: Int64) throws(LogError) -> Int64 {
        switch try file.readHeader(fileLength: size) {
        case .failure(let failure):
            throw LogError(.corruption, failure.reason, file: file.path, offset: 0)
        case .success(let header):
            guard header.baseSeq == base else {
                throw LogError(.corruption, "segment header says base seq \(header.baseSeq), its name says \(base)", file: file.path, offset: 16)
            }
            return Int64(header.headerLength)
        }
    }

    /// A good frame must continue the seqs; verify also decodes every record.
    private func checkFrame(_ frame: SegmentFile.Frame, expected: UInt64, file: String) throws(LogError) {
        guard frame.header.baseSeq == expected else {
            throw LogError(.corruption, "frame starts at seq \(frame.header.baseSeq) where seq \(expected) was expected", file: file, offset: frame.offset)
        }
        if purpose == .verify { try EventLog.verifyRecords(frame, file: file) }
    }

    /// The newest segment: every frame is read and checked; damage at or
    /// before the durable mark is corruption; a torn tail past it is cut
    /// (when repairing), reported (verify) or not read (read-only); damage
    /// with a good frame after it is corruption.
    func recoverNewest(base: UInt64, report: inout RecoveryReport) throws(LogError) -> SegmentState {
        let file = try SegmentFile(path: path(base), limits: limits)
        let size = try readableSize(file, base: base)
        try checkDurableLength(file, base: base, size: size)
        if case .failure(let failure) = try file.readHeader(fileLength: size) {
            return try recoverTornHeader(file, base: base, size: size, failure: failure, report: &report)
        }
        let dataStart = try checkHeader(file, base: base, size: size)
        let identity = try file.identity()
        var state = try recoverNewestFrames(file, base: base, size: size, dataStart: dataStart, report: &report)
        state.dataStart = dataStart
        state.identity = identity
        return state
    }

    private func recoverNewestFrames(
        _ file: SegmentFile, base: UInt64, size: Int64, dataStart: Int64, report: inout RecoveryReport
    ) throws(LogError) -> SegmentState {
        // A read-only view (replay, status) trusts an index written at a clean
        // close for the prefix it covers and reads only the tail after it;
        // its readers still check every frame they read. The appender and
        // verify read the whole newest segment, so damage anywhere stops them.
        if purpose == .read, let bytes = try? readWholeFile(SegmentIndexFile.path(forSegment: file.path)),
           let (entries, length) = SegmentIndexFile.decode(bytes, segmentBase: base), length <= size,
           let last = entries.last, last.offset < length {
            return try scanFrames(file, base: base, from: length, expected: last.lastSeq + 1, entries: entries, size: size, report: &report)
        }
        return try scanFrames(file, base: base, from: dataStart, expected: base, entries: [], size: size, report: &report)
    }

    /// A header that never reached the disk (short, or zeros) means the
    /// segment was being created when the process stopped: a torn tail,
    /// unless the mark says the segment was durable or a frame follows.
    private func recoverTornHeader(
        _ file: SegmentFile, base: UInt64, size: Int64, failure: DecodeFailure, report: inout RecoveryReport
    ) throws(LogError) -> SegmentState {
        var torn = failure.torn || size <= Int64(SegmentHeader.size)
        if !torn { torn = try allZero(file, from: 0, to: size) }
        let later = try file.validFrameExists(after: Int64(SegmentHeader.size) - 1, end: size)
        if !torn || later != nil || durableLength(ofSegment: base) > 0 {
            throw LogError(.corruption, failure.reason, file: file.path, offset: 0)
        }
        switch purpose {
        case .read:
            return SegmentState(baseSeq: base, path: file.path, length: 0, entries: [])
        case .verify:
            report.truncations.append(.init(file: file.path, offset: 0, bytes: size, savedAs: file.path + ".broken-0", reason: failure.reason))
            return SegmentState(baseSeq: base, path: file.path, length: Int64(SegmentHeader.size), entries: [])
        case .append:
            try cutTail(file, at: 0, size: size, reason: failure.reason, report: &report)
            let fd = try writableFD(file.path)
            defer { close(fd) }
            try FileIO.pwrite(fd, SegmentHeader(baseSeq: base).encoded(), at: 0, path: file.path)
            try FileIO.fdatasync(fd, path: file.path)
            return SegmentState(baseSeq: base, path: file.path, length: Int64(SegmentHeader.size), entries: [])
        }
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
                try checkFrame(frame, expected: expected, file: file.path)
                entries.append(IndexEntry(header: frame.header, offset: offset))
                expected = frame.header.lastSeq + 1
                offset = frame.end
            case .failure(let failure):
                try recoverTornTail(file, base: base, at: offset, size: size, failure: failure, report: &report)
                return SegmentState(baseSeq: base, path: file.path, length: offset, entries: entries)
            }
        }
        return SegmentState(baseSeq: base, path: file.path, length: offset, entries: entries)
    }

    /// At the first bad frame of the newest segment: corruption if the mark
    /// says it was durable or a good frame follows; else a torn tail.
    private func recoverTornTail(
        _ file: SegmentFile, base: UInt64, at offset: Int64, size: Int64, failure: DecodeFailure, report: inout RecoveryReport
    ) throws(LogError) {
        let durable = durableLength(ofSegment: base)
        if offset < durable {
            throw LogError(.corruption, "\(failure.reason); DURABLE says the segment was durable up to byte \(durable), so this is damage to acknowledged data, not a torn tail; restore from a backup, or accept the loss with `careerlog log repair --truncate-after SEQ`", file: file.path, offset: offset)
        }
        if let later = try file.validFrameExists(after: offset, end: size) {
            throw LogError(.corruption, "\(failure.reason); a valid frame follows at offset \(later), so this is damage inside the log, not a torn tail", file: file.path, offset: offset)
        }
        switch purpose {
        case .read: return
        case .verify:
            report.truncations.append(.init(file: file.path, offset: offset, bytes: size - offset, savedAs: file.path + ".broken-\(offset)", reason: failure.reason))
        case .append:
            try cutTail(file, at: offset, size: size, reason: failure.reason, report: &report)
        }
    }

    private func allZero(_ file: SegmentFile, from: Int64, to: Int64) throws(LogError) -> Bool {
        // The buffer is held until the check is done (a temporary would be
        // freed before `pread` writes into it).
        let storage = RawBuffer()
        let buffer = storage.reserve(Int(min(to - from, 1 << 20)))
        let n = try FileIO.pread(file.fd, buffer, at: from, path: file.path)
        return withExtendedLifetime(storage) { buffer[0..<n].allSatisfy { $0 == 0 } }
    }

    private func writableFD(_ path: String) throws(LogError) -> Int32 {
        try FileIO.open(path, flags: O_RDWR)
    }

    /// Copies the bytes from `offset` to the end into
    /// `<segment>.broken-<offset>` (fsynced), then truncates and fsyncs.
    private func cutTail(_ file: SegmentFile, at offset: Int64, size: Int64, reason: String, report: inout RecoveryReport) throws(LogError) {
        // The copy is a courtesy to whoever investigates: the bytes are past
        // the durable mark, so nothing in them was acknowledged. A full disk
        // must not keep the log from opening (it would need a restart after
        // space is freed), so without room for the copy the cut goes ahead.
        var savedAs: String?
        do {
            savedAs = try EventLog.keepAside(file, from: offset, size: size)
        } catch where error.code == .io && Self.isOutOfSpace(error) {
            unlink(file.path + ".broken-\(offset)")
        }
        let fd = try writableFD(file.path)
        defer { close(fd) }
        try FileIO.truncate(fd, to: offset, path: file.path)
        try FileIO.fsync(fd, path: file.path)
        try FileIO.fsyncDirectory(directory)
        report.truncations.append(.init(file: file.path, offset: offset, bytes: size - offset, savedAs: savedAs, reason: reason))
    }

    /// ENOSPC or EDQUOT (`FileIO.errorText` ends its message with the errno).
    static func isOutOfSpace(_ error: LogError) -> Bool {
        error.message.hasSuffix("(errno \(ENOSPC))") || error.message.hasSuffix("(errno \(EDQUOT))")
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
            try checkDurableLength(file, base: last.baseSeq, size: size)
            if last.length == 0 {
                segments.append(try recoverNewest(base: last.baseSeq, report: &report))
            } else {
                if try file.identity() != last.identity {
                    // Sealed and recompressed since: a new file under the old name.
                    segments.append(try loadSealed(file: file, base: last.baseSeq, report: &report))
                } else {
                    let (dataStart, identity) = (last.dataStart, last.identity)
                    last = try scanFrames(file, base: last.baseSeq, from: last.length, expected: last.lastSeq + 1, entries: last.entries, size: size, report: &report)
                    last.dataStart = dataStart
                    last.identity = identity
                    segments.append(last)
                }
            }
        }
        let newer = bases.filter { $0 > (segments.last?.baseSeq ?? 0) }
        for (i, base) in newer.enumerated() {
            try checkContinuity(base: base, after: segments.last)
            segments.append(i == newer.count - 1 ? try recoverNewest(base: base, report: &report) : try loadSealed(base: base, report: &report))
        }
        try checkAgainstMark(segments)
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
