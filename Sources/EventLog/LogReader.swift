/// Reads events forward from a position, with memory bounded by one frame.
///
/// Runs concurrently with the appender: it sees only durable events (in the
/// appender's process) or complete frames (in another process, after
/// `EventLog.refresh()`). One reader belongs to one thread at a time.
///
///     let reader = try log.reader(fromSeq: 1)
///     while let record = try reader.next() { ... }          // to the current end
///     while let record = try reader.next(waitingUpTo: .seconds(1)) { ... }  // tail
public final class LogReader {
    public enum Start: Sendable {
        case seq(UInt64)
        /// The first event recorded at or after this time (µs since the epoch).
        case recorded(Int64)
    }

    private let log: EventLog
    private var segmentIndex: Int
    private var file: SegmentFile?
    /// Which segment `file` is and the identity its state had when opened.
    private var fileSegment = -1
    private var fileIdentity: FileIdentity?
    /// The next frame: at `offset` in the file whose state identity is
    /// `offsetIdentity`, starting at seq `nextFrameSeq` (how a reader finds
    /// its place again after a sealed segment was recompressed).
    private var offset: Int64
    private var offsetIdentity: FileIdentity?
    private var nextFrameSeq: UInt64 = 1
    private var records = UnsafeRawBufferPointer(start: nil, count: 0)
    private var recordOffset = 0
    private var recordsLeft = 0
    private var frameBase = FrameBase(seq: 0, recorded: 0)
    private var framePairs: [(source: String, type: String)] = []
    private var frameProducers: [String] = []
    /// Where the current frame starts (for error reports).
    private var frameOffset: Int64 = 0
    /// Records before this seq are skipped (a seek lands on a frame start).
    private var skipBeforeSeq: UInt64
    /// Records recorded before this time are skipped (recorded-time seek).
    private var skipBeforeRecorded: Int64
    private var typeCache = TypeNameCache()
    /// True until the first record at or past the seek target is reached.
    private var seeking = true
    /// Frames whose event-time range misses [min, max] are skipped unread.
    public var eventTimeRange: ClosedRange<Int64>?
    /// Which (source, type) pairs are wanted (a replay's `--type`/`--source`):
    /// a frame whose pair table has none is passed over once decompressed,
    /// and unwanted records in the others are stepped over without being
    /// decoded. Nil: every event is returned.
    public var pairFilter: ((_ source: String, _ type: String) -> Bool)?
    /// The current frame's wanted pairs; nil when every pair is wanted.
    private var pairWanted: [Bool]?
    /// Which producers are wanted (a replay's `--producer`; nil: an event
    /// without one). Like `pairFilter`: a frame whose producer table has
    /// none wanted (every version 1 frame, unless nil is wanted) is passed
    /// over once decompressed, and unwanted records in the others are
    /// stepped over undecoded. Nil: every event is returned.
    public var producerFilter: ((_ producer: String?) -> Bool)?
    /// The current frame's wanted producer indexes (0: none); nil when
    /// every one is wanted.
    private var producerWanted: [Bool]?

    /// The seq the next returned event will have at least.
    public private(set) var position: UInt64
    /// Frames read and decompressed so far (frames skipped by
    /// `eventTimeRange` are not counted): shows what a time filter saved.
    public private(set) var framesRead = 0

    init(log: EventLog, start: Start) {
        self.log = log
        self.offset = Int64(SegmentHeader.size)
        self.segmentIndex = 0
        self.skipBeforeSeq = 1
        self.skipBeforeRecorded = .min
        self.position = 1
        log.shared.lock()
        defer { log.shared.unlock() }
        let segments = log.state.segments
        if let first = segments.first {
            offset = first.dataStart
            offsetIdentity = first.identity
            nextFrameSeq = first.baseSeq
        }
        switch start {
        case .seq(let seq):
            skipBeforeSeq = max(seq, 1)
            position = skipBeforeSeq
            guard let i = segments.lastIndex(where: { $0.baseSeq <= skipBeforeSeq }) else { return }
            segmentIndex = i
            offset = segments[i].dataStart
            offsetIdentity = segments[i].identity
            nextFrameSeq = segments[i].baseSeq
            if let e = segments[i].entries.entryIndex(containing: skipBeforeSeq) {
                offset = segments[i].entries[e].offset
                nextFrameSeq = segments[i].entries[e].baseSeq
            }
        case .recorded(let time):
            skipBeforeRecorded = time
            // The last segment whose first frame is older than `time`.
            let i = segments.lastIndex(where: { ($0.entries.first?.firstRecorded ?? .max) < time }) ?? 0
            guard i < segments.count else { return }
            segmentIndex = i
            offset = segments[i].dataStart
            offsetIdentity = segments[i].identity
            nextFrameSeq = segments[i].baseSeq
            let entries = segments[i].entries
            if !entries.isEmpty {
                let e = entries.entryIndex(recordedAtLeast: time)
                offset = entries[e].offset
                nextFrameSeq = entries[e].baseSeq
                position = entries[e].baseSeq
            }
        }
    }

    /// The next event, or nil at the current end of the log.
    public func next() throws(LogError) -> EventRecord? {
        while true {
            if recordsLeft > 0 {
                recordsLeft -= 1
                if seeking || pairWanted != nil || producerWanted != nil {
                    if let record = try skipOrDecode() { return record }
                    continue
                }
                return try decode()
            }
            guard try loadNextFrame() else { return nil }
        }
    }

    /// The next event, waiting up to `timeout` for one to be appended.
    /// Returns nil when none arrived in time or the log was closed.
    public func next(waitingUpTo timeout: Duration) throws(LogError) -> EventRecord? {
        if let record = try next() { return record }
        if log.mode == .readOnly {
            // Another process appends: poll the files.
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if try log.refresh() >= position, let record = try next() { return record }
                let step = min(Duration.milliseconds(50), deadline - ContinuousClock.now)
                if step > .zero { Thread_sleep(step) }
            }
            return nil
        }
        guard log.waitForEvents(after: position - 1, timeout: timeout) else { return nil }
        return try next()
    }

    private func decode() throws(LogError) -> EventRecord {
        let start = recordOffset
        do {
            let record = try RecordCodec.decode(records, at: &recordOffset, base: frameBase, pairs: framePairs, producers: frameProducers)
            position = record.seq + 1
            return record
        } catch {
            throw LogError(.corruption, "record at payload offset \(start): \(error.reason)", file: file?.path, offset: frameOffset)
        }
    }

    /// Skips records before the seek target, and records of unwanted
    /// (source, type) pairs or producers, cheaply; decodes the rest.
    private func skipOrDecode() throws(LogError) -> EventRecord? {
        let peeked: (seq: UInt64, recorded: Int64, pair: UInt64, producer: UInt64, end: Int)
        do {
            peeked = try RecordCodec.peekPair(records, at: recordOffset, base: frameBase)
        } catch {
            throw LogError(.corruption, "record at payload offset \(recordOffset): \(error.reason)", file: file?.path, offset: frameOffset)
        }
        if let wanted = pairWanted {
            guard peeked.pair < UInt64(wanted.count) else {
                throw LogError(.corruption, "record \(peeked.seq) names source/type \(peeked.pair) of \(wanted.count)", file: file?.path, offset: frameOffset)
            }
            if !wanted[Int(peeked.pair)] { return skip(peeked.seq, end: peeked.end) }
        }
        if let wanted = producerWanted {
            guard peeked.producer < UInt64(wanted.count) else {
                throw LogError(.corruption, "record \(peeked.seq) names producer \(peeked.producer) of \(wanted.count - 1)", file: file?.path, offset: frameOffset)
            }
            if !wanted[Int(peeked.producer)] { return skip(peeked.seq, end: peeked.end) }
        }
        if peeked.seq < skipBeforeSeq || peeked.recorded < skipBeforeRecorded {
            recordOffset = peeked.end
            position = max(position, peeked.seq + 1)
            return nil
        }
        // Past the target: seqs and recorded times only grow from here.
        seeking = false
        return try decode()
    }

    /// Steps over the record `seq` ending at `end` without decoding it.
    private func skip(_ seq: UInt64, end: Int) -> EventRecord? {
        recordOffset = end
        position = max(position, seq + 1)
        return nil
    }

    /// Applies `pairFilter` and `producerFilter` to the frame just loaded:
    /// false when nothing of it is wanted (the caller moves on); otherwise
    /// sets which pairs and producers are (nil: all of them).
    private func frameWanted() -> Bool {
        pairWanted = nil
        producerWanted = nil
        if let pairFilter {
            let wanted = framePairs.map { pairFilter($0.source, $0.type) }
            guard wanted.contains(true) else { return false }
            pairWanted = wanted.contains(false) ? wanted : nil
        }
        if let producerFilter {
            // Index 0 is "no producer"; a version 1 frame has only that.
            let wanted = [producerFilter(nil)] + frameProducers.map { producerFilter($0) }
            let possible = frameBase.hasProducers ? wanted : [wanted[0]]
            guard possible.contains(true) else { return false }
            producerWanted = possible.contains(false) ? possible : nil
        }
        return true
    }

    /// Moves to the next readable frame; false at the current end.
    private func loadNextFrame() throws(LogError) -> Bool {
        while true {
            guard let segment = log.segmentView(segmentIndex) else { return false }
            if segment.identity != offsetIdentity {
                // The segment was recompressed (a new file under its name)
                // since `offset` was found: the same frame, in the new file.
                guard let mapped = log.frameOffset(segmentIndex, startingAt: nextFrameSeq) else {
                    throw LogError(.corruption, "no frame starts at seq \(nextFrameSeq) in the replaced segment", file: segment.path)
                }
                (offset, offsetIdentity) = mapped
                continue
            }
            if offset < segment.length {
                if file == nil || fileSegment != segmentIndex || fileIdentity != segment.identity {
                    let opened = try SegmentFile(path: segment.path, limits: log.limits)
                    if let expected = segment.identity {
                        let actual = try opened.identity()
                        if actual != expected {
                            // Another process replaced it since this view loaded it.
                            try log.reloadSegment(segmentIndex, from: opened, identity: actual)
                            continue
                        }
                    }
                    // This process's recompressor may have swapped it between
                    // the view and the open: then look again.
                    guard log.segmentView(segmentIndex)?.identity == segment.identity else { continue }
                    file = opened
                    fileSegment = segmentIndex
                    fileIdentity = segment.identity
                }
                if let range = eventTimeRange, let entry = log.frameEntry(segmentIndex, offset: offset, identity: segment.identity),
                   entry.maxEventTime < range.lowerBound || entry.minEventTime > range.upperBound {
                    // Nothing in this frame is in the time range: skip it unread.
                    guard let end = log.frameEnd(segmentIndex, entry: entry, segmentLength: segment.length, identity: segment.identity) else { continue }
                    offset = end
                    nextFrameSeq = entry.lastSeq + 1
                    position = entry.lastSeq + 1
                    continue
                }
                switch try file!.readFrame(at: offset, end: segment.length) {
                case .failure(let failure):
                    throw LogError(.corruption, failure.reason, file: segment.path, offset: offset)
                case .success(let frame):
                    records = frame.records
                    frameOffset = frame.offset
                    do {
                        (frameBase, framePairs, frameProducers, recordOffset) = try RecordCodec.context(frame.records, header: frame.header, cache: &typeCache)
                    } catch {
                        throw LogError(.corruption, error.reason, file: segment.path, offset: frame.offset)
                    }
                    recordsLeft = Int(frame.header.count)
                    offset = frame.end
                    nextFrameSeq = frame.header.lastSeq + 1
                    framesRead += 1
                    guard frameWanted() else {
                        // Nothing of this frame is wanted: on to the next.
                        recordsLeft = 0
                        position = max(position, frameBase.seq + UInt64(frame.header.count))
                        continue
                    }
                    return true
                }
            }
            guard segment.hasNext, let next = log.segmentView(segmentIndex + 1) else { return false }
            segmentIndex += 1
            offset = next.dataStart
            offsetIdentity = next.identity
            nextFrameSeq = next.baseSeq
            file = nil
        }
    }
}

extension EventLog {
    /// A reader starting at `seq` (1 for the beginning).
    public func reader(fromSeq seq: UInt64 = 1) -> LogReader {
        LogReader(log: self, start: .seq(seq))
    }

    /// A reader starting at the first event recorded at or after `time`
    /// (µs since the epoch), found through the index.
    public func reader(fromRecorded time: Int64) -> LogReader {
        LogReader(log: self, start: .recorded(time))
    }
}

#if canImport(Glibc)
import Glibc
#endif

private func Thread_sleep(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    nanosleep(&ts, nil)
}
