import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The append-only, segmented, compressed event log (see FORMAT.md).
///
/// One process appends (enforced by a lock file); any number of readers, in
/// this process or others, read concurrently. In this process readers see an
/// event only once a `sync()` has made it durable, so nothing derived from
/// the log (a projection, an acknowledgement) can get ahead of the disk.
///
/// `append` and `sync` may be called from any thread; they serialize on an
/// internal lock. Readers are independent objects, one per thread.
public final class EventLog: @unchecked Sendable {
    public enum Mode: Sendable {
        /// The single appender: takes the lock, repairs a torn tail.
        case readWrite
        /// Another process's view: no lock, never modifies a file; reads up to
        /// the last complete frame. `refresh()` picks up new events.
        case readOnly
    }

    /// How the log directory itself is shared (an `flock` on it, held while
    /// the log is open). Every open log and `verify` hold it shared, so a
    /// tool that replaces the directory as a whole (`privacy
    /// seal-existing`), which holds it exclusively, runs only while no
    /// other process has the log open, and no process opens it meanwhile.
    public enum DirectoryAccess: Sendable {
        case shared
        /// With `.readWrite` only.
        case exclusive
    }

    public let directory: String
    public let limits: LogLimits
    public let mode: Mode
    /// What recovery did on open (torn tails cut, indexes rebuilt).
    public let recovery: RecoveryReport

    /// Segments and the durable end, shared with readers. Guarded by `shared`.
    struct Shared {
        var segments: [SegmentState]
        var closed = false

        var lastSeq: UInt64 { segments.last.map { $0.lastSeq } ?? 0 }
    }

    struct SegmentState {
        var baseSeq: UInt64
        var path: String
        /// Bytes of the file readers may read (durable, complete frames).
        var length: Int64
        var entries: [IndexEntry]
        /// Where the first frame starts (32, or after a dictionary).
        var dataStart = Int64(SegmentHeader.size)
        /// The file the offsets above are in; nil: the file the writer
        /// created (never replaced since). A recompressed segment is a new
        /// file: readers holding the old one remap by seq (FORMAT.md,
        /// "Recompressed segments").
        var identity: FileIdentity?
        var lastSeq: UInt64 { entries.last?.lastSeq ?? baseSeq - 1 }
    }

    let shared: NSCondition
    var state: Shared
    /// Sealed segments recompression left as they were (not smaller). Guarded by `shared`.
    var recompressionDeclined: Set<UInt64> = []
    private let writerLock = NSLock()
    /// The appender's `DURABLE` file; nil for read-only logs.
    let durableMark: DurableMarkWriter?
    private var writer: SegmentWriter?
    private var lockFD: Int32
    /// The `flock` on the log directory (`DirectoryAccess`).
    private var directoryLockFD: Int32
    private let clock: @Sendable () -> Int64

    init(
        directory: String, limits: LogLimits, mode: Mode, state: Shared, writer: SegmentWriter?,
        lockFD: Int32, directoryLockFD: Int32, recovery: RecoveryReport, clock: @escaping @Sendable () -> Int64,
        durableMark: DurableMarkWriter?
    ) {
        self.directory = directory
        self.limits = limits
        self.mode = mode
        self.state = state
        self.writer = writer
        self.lockFD = lockFD
        self.directoryLockFD = directoryLockFD
        self.recovery = recovery
        self.clock = clock
        self.shared = NSCondition()
        self.durableMark = durableMark
    }

    deinit {
        if let writer { writer.closeFile() }
        if lockFD >= 0 { Glibc.close(lockFD) }
        if directoryLockFD >= 0 { Glibc.close(directoryLockFD) }
    }

    /// Microseconds since the Unix epoch, from the system clock.
    public static let systemClock: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    // MARK: - Appending

    /// Appends `events` in order and returns their seqs. The events are
    /// written to the file but not yet durable nor visible to readers: call
    /// `sync()`. Either every event is appended or, for a limit error, none.
    /// After an I/O error (in `append` or `sync`) everything not yet durable
    /// is dropped and cut from the file, so `lastSeq` says exactly which
    /// events are stored and `nextSeq` continues after it; the next call
    /// tries again. Only when the file cannot be put back to a known state
    /// does the log refuse appends for good (`writerFailure`).
    @discardableResult
    public func append(_ events: [LogEvent]) throws(LogError) -> ClosedRange<UInt64>? {
        guard !events.isEmpty else { return nil }
        for (i, event) in events.enumerated() {
            if event.encodedSize > limits.eventBytesMax {
                throw LogError(.eventTooLarge, "event \(i) of the batch is \(event.encodedSize) bytes; the limit is \(limits.eventBytesMax)")
            }
            if let producer = event.producer, producer.utf8.isEmpty || producer.utf8.count > RecordCodec.producerBytesMax {
                throw LogError(.invalidArgument, "event \(i) of the batch has a producer name of \(producer.utf8.count) bytes; "
                    + "the log holds names of 1 to \(RecordCodec.producerBytesMax) bytes")
            }
        }
        writerLock.lock()
        defer { writerLock.unlock() }
        guard let writer else { throw LogError(.notWritable, "the log is open read-only or closed", file: directory) }
        return try writer.append(events, now: clock(), log: self)
    }

    /// Makes everything appended so far durable (`fdatasync`), then visible
    /// to readers. Returns the last durable seq.
    @discardableResult
    public func sync() throws(LogError) -> UInt64 {
        writerLock.lock()
        defer { writerLock.unlock() }
        guard let writer else { throw LogError(.notWritable, "the log is open read-only or closed", file: directory) }
        try writer.sync(log: self)
        return lastSeq
    }

    /// Why the log refuses appends for good: closed, read-only, or a failure
    /// after which its newest segment is not in a known state (stop, check
    /// with `careerlog log verify`, reopen). Nil while appends may succeed.
    public var writerFailure: LogError? {
        writerLock.lock()
        defer { writerLock.unlock() }
        guard let writer else { return LogError(.notWritable, "the log is open read-only or closed", file: directory) }
        return writer.fatalFailure
    }

    /// The next seq `append` will assign.
    public var nextSeq: UInt64 {
        writerLock.lock()
        defer { writerLock.unlock() }
        return writer?.nextSeq ?? (lastSeq + 1)
    }

    /// The last durable (and readable) seq; 0 for an empty log.
    public var lastSeq: UInt64 {
        shared.lock()
        defer { shared.unlock() }
        return state.lastSeq
    }

    /// Syncs, writes the newest segment's index and releases the lock.
    /// Throws when what was appended cannot be made durable; an index that
    /// cannot be written (a full disk) is left out, since recovery rebuilds it.
    public func close() throws(LogError) {
        writerLock.lock()
        defer { writerLock.unlock() }
        if let writer {
            try writer.sync(log: self)
            // The index is derived: a full disk must not turn a clean close
            // into a failure (the next open rebuilds it).
            try? writer.writeIndex(entries: segmentEntries(baseSeq: writer.baseSeq), directory: directory)
            // A clean close leaves a mark that survives a power cut, so the
            // next open tells damage to any synced frame from a torn tail.
            try durableMark?.sync()
            writer.closeFile()
            self.writer = nil
        }
        releaseLocks()
    }

    /// Lets go of the log without writing anything more to it (no sync, no
    /// index, no durable mark): for a tool whose directory was replaced
    /// under it (`privacy seal-existing` after its exchange), where a
    /// close would write into the new log by path.
    public func abandon() {
        writerLock.lock()
        defer { writerLock.unlock() }
        writer?.closeFile()
        writer = nil
        releaseLocks()
    }

    private func releaseLocks() {
        if lockFD >= 0 {
            Glibc.close(lockFD)
            lockFD = -1
        }
        if directoryLockFD >= 0 {
            Glibc.close(directoryLockFD)
            directoryLockFD = -1
        }
        shared.lock()
        state.closed = true
        shared.broadcast()
        shared.unlock()
    }

    /// Sealed segments in the recompressed form (FORMAT.md, "Recompressed segments").
    public var recompressedSegments: Int {
        shared.lock()
        defer { shared.unlock() }
        return state.segments.filter { $0.dataStart != Int64(SegmentHeader.size) }.count
    }

    // MARK: - Shared state, for the writer and readers

    /// Called by the writer after `fdatasync`: makes frames visible, here
    /// and (through `DURABLE`) to other processes.
    func publish(baseSeq: UInt64, path: String, length: Int64, newEntries: [IndexEntry]) throws(LogError) {
        shared.lock()
        if let last = state.segments.last, last.baseSeq == baseSeq {
            // Readers may already be reading up to the old length.
            precondition(length >= last.length, "a published segment length went back from \(last.length) to \(length)")
            state.segments[state.segments.count - 1].length = length
            state.segments[state.segments.count - 1].entries.append(contentsOf: newEntries)
        } else {
            precondition(baseSeq == state.lastSeq + 1, "a new segment must continue the log")
            state.segments.append(SegmentState(baseSeq: baseSeq, path: path, length: length, entries: newEntries))
        }
        let mark = DurableMark(segmentBase: baseSeq, length: length, lastSeq: state.lastSeq)
        shared.broadcast()
        shared.unlock()
        try durableMark?.write(mark)
    }

    /// What a reader needs of segment `i`, read under the lock without
    /// copying the index (the writer appends to it concurrently).
    func segmentView(_ i: Int) -> SegmentView? {
        shared.lock()
        defer { shared.unlock() }
        guard i < state.segments.count else { return nil }
        let segment = state.segments[i]
        return SegmentView(path: segment.path, length: segment.length, hasNext: i + 1 < state.segments.count,
                           baseSeq: segment.baseSeq, dataStart: segment.dataStart, identity: segment.identity)
    }

    struct SegmentView {
        var path: String
        var length: Int64
        var hasNext: Bool
        var baseSeq: UInt64
        var dataStart: Int64
        var identity: FileIdentity?
    }

    /// Where the frame starting at `seq` is in segment `i` as it is now (the
    /// offset, or the segment's end when `seq` is past its last frame), with
    /// the file identity the offset is for; nil when no frame starts there.
    func frameOffset(_ i: Int, startingAt seq: UInt64) -> (offset: Int64, identity: FileIdentity?)? {
        shared.lock()
        defer { shared.unlock() }
        guard i < state.segments.count else { return nil }
        let segment = state.segments[i]
        if seq > segment.lastSeq { return (segment.length, segment.identity) }
        guard let e = segment.entries.entryIndex(containing: seq) else {
            return seq <= segment.baseSeq ? (segment.dataStart, segment.identity) : nil
        }
        guard segment.entries[e].baseSeq == seq else { return nil }
        return (segment.entries[e].offset, segment.identity)
    }

    /// Replaces segment `i`'s state with one loaded from `file` (another
    /// process recompressed the segment since this view loaded it), unless
    /// the state already describes that file.
    func reloadSegment(_ i: Int, from file: SegmentFile, identity: FileIdentity) throws(LogError) {
        shared.lock()
        let current = i < state.segments.count ? state.segments[i] : nil
        shared.unlock()
        guard let current, current.identity != identity else { return }
        let loader = try SegmentLoader(directory: directory, limits: limits, purpose: .read)
        var report = RecoveryReport()
        let loaded = try loader.loadSealed(file: file, base: current.baseSeq, report: &report)
        guard loaded.lastSeq == current.lastSeq else {
            throw LogError(.corruption, "the segment was replaced by one ending at seq \(loaded.lastSeq) instead of \(current.lastSeq)", file: file.path)
        }
        shared.lock()
        if i < state.segments.count, state.segments[i].baseSeq == loaded.baseSeq { state.segments[i] = loaded }
        shared.unlock()
    }

    /// The index entry of the frame starting at `offset` in segment `i`,
    /// if the segment is still the file `identity` names.
    func frameEntry(_ i: Int, offset: Int64, identity: FileIdentity?) -> IndexEntry? {
        shared.lock()
        defer { shared.unlock() }
        guard i < state.segments.count, state.segments[i].identity == identity else { return nil }
        let entries = state.segments[i].entries
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].offset < offset { low = mid + 1 } else { high = mid }
        }
        return low < entries.count && entries[low].offset == offset ? entries[low] : nil
    }

    /// Where the frame of `entry` ends: the next frame's start, or the end.
    func frameEnd(_ i: Int, entry: IndexEntry, segmentLength: Int64, identity: FileIdentity?) -> Int64? {
        shared.lock()
        defer { shared.unlock() }
        guard state.segments[i].identity == identity else { return nil }
        let entries = state.segments[i].entries
        guard let e = entries.entryIndex(containing: entry.baseSeq), e + 1 < entries.count else { return segmentLength }
        return entries[e + 1].offset
    }

    func segmentEntries(baseSeq: UInt64) -> [IndexEntry] {
        shared.lock()
        defer { shared.unlock() }
        return state.segments.last(where: { $0.baseSeq == baseSeq })?.entries ?? []
    }

    /// Blocks until an event after `seq` is readable, the log is closed, or
    /// `timeout` passes. Returns whether one is readable.
    public func waitForEvents(after seq: UInt64, timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        shared.lock()
        defer { shared.unlock() }
        while state.lastSeq <= seq && !state.closed {
            if !shared.wait(until: deadline) { break }
        }
        return state.lastSeq > seq
    }

    // MARK: - Facts

    /// Counts and sizes, from the indexes (no payload is read).
    public func statistics() throws(LogError) -> LogStatistics {
        shared.lock()
        let segments = state.segments
        shared.unlock()
        var stats = LogStatistics()
        stats.segments = segments.count
        for segment in segments {
            stats.bytesOnDisk += segment.length
            for entry in segment.entries {
                stats.events += UInt64(entry.count)
                stats.rawBytes += Int64(entry.rawLength)
            }
        }
        if let first = segments.first(where: { !$0.entries.isEmpty }), let firstEntry = first.entries.first {
            stats.firstSeq = firstEntry.baseSeq
            stats.firstRecorded = firstEntry.firstRecorded
        }
        stats.lastSeq = segments.last?.lastSeq ?? 0
        if stats.events == 0 { stats.lastSeq = 0 }
        stats.frames = segments.reduce(0) { $0 + $1.entries.count }
        if let lastFrame = segments.last(where: { !$0.entries.isEmpty })?.entries.last,
           let segment = segments.last(where: { !$0.entries.isEmpty }) {
            // The last recorded time is in the frame header, not the index.
            let file = try SegmentFile(path: segment.path, limits: limits)
            if case .success(let frame) = try file.readFrame(at: lastFrame.offset, end: segment.length) {
                stats.lastRecorded = frame.header.lastRecorded
            }
        }
        var minTime = Int64.max, maxTime = Int64.min
        for segment in segments {
            for entry in segment.entries {
                minTime = min(minTime, entry.minEventTime)
                maxTime = max(maxTime, entry.maxEventTime)
            }
        }
        if stats.events > 0 {
            stats.minEventTime = minTime
            stats.maxEventTime = maxTime
        }
        return stats
    }
}

/// What `EventLog.statistics()` reports.
public struct LogStatistics: Sendable, Equatable {
    public var events: UInt64 = 0
    public var segments = 0
    public var frames = 0
    /// Segment files' bytes (headers, frames) as readers see them.
    public var bytesOnDisk: Int64 = 0
    /// The records before compression.
    public var rawBytes: Int64 = 0
    public var firstSeq: UInt64 = 0
    public var lastSeq: UInt64 = 0
    /// Recorded times of the first and last event (µs since the epoch).
    public var firstRecorded: Int64?
    public var lastRecorded: Int64?
    /// Earliest and latest event `time` (µs since the epoch).
    public var minEventTime: Int64?
    public var maxEventTime: Int64?

    /// Raw bytes per byte on disk.
    public var compressionRatio: Double {
        bytesOnDisk > 0 ? Double(rawBytes) / Double(bytesOnDisk) : 0
    }
}

/// What recovery found and did when the log was opened.
public struct RecoveryReport: Sendable, Equatable {
    public struct Truncation: Sendable, Equatable {
        public var file: String
        public var offset: Int64
        public var bytes: Int64
        /// Where the cut bytes were kept; nil when they could not be (the
        /// filesystem was full: they were never acknowledged, so the cut
        /// goes ahead rather than keep the log from opening).
        public var savedAs: String?
        public var reason: String
    }

    public var truncations: [Truncation] = []
    public var indexesRebuilt: [String] = []
    public var segments = 0
}
