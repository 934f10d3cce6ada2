import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A run of seqs that were assigned once and then given up by an operator's
/// `careerlog log repair`: seqs `after + 1 ..< next` are not in the log and
/// never will be (a seq is never assigned twice).
public struct SeqGap: Sendable, Equatable, Hashable {
    /// The last seq kept before the gap.
    public var after: UInt64
    /// The first seq after the gap.
    public var next: UInt64

    public init(after: UInt64, next: UInt64) {
        self.after = after
        self.next = next
    }
}

/// What `EventLog.repair` did.
public struct RepairReport: Sendable, Equatable {
    /// The last seq kept.
    public var truncateAfter: UInt64 = 0
    /// The seq the next append gets: after the highest seq ever durable.
    public var nextSeq: UInt64 = 0
    /// Bytes taken out of the log (kept aside in `savedAs`).
    public var bytesCut: Int64 = 0
    /// Where the cut bytes are kept.
    public var savedAs: [String] = []
}

/// `<log>/REPAIRS`: one line per operator repair, appended and fsynced
/// before the log is changed, so every gap in the seqs is explained:
///
///     2026-12-04T15:02:11Z truncate-after=300 next-seq=306 bytes=512 files=00000000000000000001.seg.broken-4096
///
/// The loader accepts a gap between two segments only where a line records it.
struct RepairJournal {
    static let fileName = "REPAIRS"
    /// A line per repair an operator runs by hand: 1 MiB is thousands of
    /// repairs, far past any real log, and bounds what open reads.
    static let fileBytesMax = 1 << 20

    struct Entry: Equatable {
        var time: String
        var truncateAfter: UInt64
        var nextSeq: UInt64
        var bytes: Int64
        var files: [String]

        var line: String {
            "\(time) truncate-after=\(truncateAfter) next-seq=\(nextSeq) bytes=\(bytes) files=\(files.joined(separator: ","))\n"
        }
    }

    var entries: [Entry] = []

    var gaps: [SeqGap] {
        var seen = Set<SeqGap>()
        return entries.compactMap { e in
            let gap = SeqGap(after: e.truncateAfter, next: e.nextSeq)
            guard e.nextSeq > e.truncateAfter + 1, seen.insert(gap).inserted else { return nil }
            return gap
        }
    }

    static func read(directory: String) throws(LogError) -> RepairJournal {
        let path = directory + "/" + fileName
        guard FileIO.exists(path) else { return RepairJournal() }
        let fd = try FileIO.open(path, flags: O_RDONLY)
        defer { close(fd) }
        let size = try FileIO.fileSize(fd, path: path)
        guard size <= Int64(fileBytesMax) else {
            throw LogError(.corruption, "the repair journal is \(size) bytes, more than \(fileBytesMax)", file: path)
        }
        let storage = RawBuffer()
        let buffer = storage.reserve(Int(size))
        let n = try FileIO.pread(fd, buffer, at: 0, path: path)
        let text = withExtendedLifetime(storage) { String(decoding: buffer[0..<n], as: UTF8.self) }
        var journal = RepairJournal()
        var offset: Int64 = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            defer { offset += Int64(line.utf8.count + 1) }
            guard !line.isEmpty else { continue }
            guard let entry = parse(line) else {
                throw LogError(.corruption, "unreadable repair journal line; the gaps it records cannot be trusted", file: path, offset: offset)
            }
            journal.entries.append(entry)
        }
        return journal
    }

    private static func parse(_ line: Substring) -> Entry? {
        let fields = line.split(separator: " ")
        guard fields.count == 5 else { return nil }
        var values: [Substring: Substring] = [:]
        for field in fields.dropFirst() {
            guard let eq = field.firstIndex(of: "=") else { return nil }
            values[field[..<eq]] = field[field.index(after: eq)...]
        }
        guard let after = values["truncate-after"].flatMap({ UInt64($0) }),
              let next = values["next-seq"].flatMap({ UInt64($0) }), next > after,
              let bytes = values["bytes"].flatMap({ Int64($0) }),
              let files = values["files"] else { return nil }
        return Entry(time: String(fields[0]), truncateAfter: after, nextSeq: next, bytes: bytes,
                     files: files.split(separator: ",").map(String.init))
    }

    /// Appends `entry` and makes it durable before the log is touched.
    static func append(_ entry: Entry, directory: String) throws(LogError) {
        let path = directory + "/" + fileName
        let fd = try FileIO.open(path, flags: O_WRONLY | O_CREAT | O_APPEND)
        defer { close(fd) }
        let bytes = Array(entry.line.utf8)
        try FileIO.pwrite(fd, bytes, at: try FileIO.fileSize(fd, path: path), path: path)
        try FileIO.fsync(fd, path: path)
        try FileIO.fsyncDirectory(directory)
    }
}

extension EventLog {
    /// Seq gaps left by operator repairs, in order: seqs `after + 1 ..< next`
    /// were assigned and given up. A projector whose checkpoint is inside or
    /// before a gap sees the next event's seq jump over it.
    public var gaps: [SeqGap] {
        shared.lock()
        defer { shared.unlock() }
        return zip(state.segments, state.segments.dropFirst()).compactMap { previous, next in
            next.baseSeq == previous.lastSeq + 1 ? nil : SeqGap(after: previous.lastSeq, next: next.baseSeq)
        }
    }

    /// Copies segment bytes from `offset` to `size` into
    /// `<segment>.broken-<offset>` and fsyncs the copy. Returns its path.
    static func keepAside(_ file: SegmentFile, from offset: Int64, size: Int64) throws(LogError) -> String {
        let savedAs = file.path + ".broken-\(offset)"
        let out = try FileIO.open(savedAs, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { Glibc.close(out) }
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
        return savedAs
    }
}

extension EventLog {
    /// Accepts a loss knowingly: keeps seqs up to `seq` (which must end a
    /// good frame), moves every byte after it aside (`.broken-<offset>`
    /// copies, whole later segments renamed `.broken-0`), records the
    /// decision in `REPAIRS`, and makes the next append continue after the
    /// highest seq that was ever durable, leaving a recorded gap. Takes the
    /// log's lock: the server must be stopped. Safe to run again with the
    /// same `seq` if it was interrupted. `now` is µs since the epoch.
    public static func repair(
        directory: String, truncateAfter seq: UInt64, limits: LogLimits = LogLimits(), now: Int64
    ) throws(LogError) -> RepairReport {
        guard FileIO.exists(directory) else { throw LogError(.io, "no log directory", file: directory) }
        let lockFD = try acquireLock(directory: directory)
        defer { Glibc.close(lockFD) }
        let loader = try SegmentLoader(directory: directory, limits: limits, purpose: .read)
        let bases = try loader.segmentBases()
        guard let k = bases.lastIndex(where: { $0 <= seq &+ 1 }) else {
            throw LogError(.invalidArgument, "the log has no segment holding seq \(seq); its first segment starts at seq \(bases.first ?? 0)", file: directory)
        }
        let file = try SegmentFile(path: loader.path(bases[k]), limits: limits)
        let size = try file.size()
        let cut = try repairCutOffset(file, base: bases[k], keeping: seq, size: size)
        var highest = max(seq, loader.mark?.lastSeq ?? 0, try highestValidSeq(file, from: cut, end: size))
        var bytesCut = size - cut
        var later: [(path: String, file: SegmentFile)] = []
        for base in bases[(k + 1)...] {
            let segment = try SegmentFile(path: loader.path(base), limits: limits)
            let segmentSize = try segment.size()
            let start = (try? segment.dataStart().get()) ?? Int64(SegmentHeader.size)
            highest = max(highest, base - 1, try highestValidSeq(segment, from: start, end: segmentSize))
            bytesCut += segmentSize
            later.append((segment.path, segment))
        }
        for entry in try RepairJournal.read(directory: directory).entries { highest = max(highest, entry.nextSeq - 1) }
        var savedAs: [String] = []
        if cut < size { savedAs.append(try keepAside(file, from: cut, size: size)) }
        savedAs += later.map { $0.path + ".broken-0" }
        let time = Date(timeIntervalSince1970: Double(now) / 1e6).formatted(.iso8601)
        try RepairJournal.append(.init(time: time, truncateAfter: seq, nextSeq: highest + 1, bytes: bytesCut,
                                       files: savedAs.map { ($0 as NSString).lastPathComponent }), directory: directory)
        try repairApply(directory: directory, file: file, cut: cut, later: later.map(\.path))
        var newest = (base: bases[k], length: cut)
        if highest > seq {
            // The next segment starts past every seq ever handed out.
            let created = try SegmentWriter.createSegment(directory: directory, baseSeq: highest + 1)
            Glibc.close(created.fd)
            newest = (highest + 1, Int64(SegmentHeader.size))
        }
        let mark = try DurableMarkWriter(directory: directory)
        try mark.write(DurableMark(segmentBase: newest.base, length: newest.length, lastSeq: highest))
        try mark.sync()
        return RepairReport(truncateAfter: seq, nextSeq: highest + 1, bytesCut: bytesCut, savedAs: savedAs)
    }

    /// Where segment `base` must be cut to keep seqs up to `seq`: the end of
    /// the good frame holding `seq`. Anything else is the operator's mistake,
    /// answered with the seq to use instead.
    private static func repairCutOffset(_ file: SegmentFile, base: UInt64, keeping seq: UInt64, size: Int64) throws(LogError) -> Int64 {
        var offset: Int64
        switch try file.readHeader(fileLength: size) {
        case .failure(let failure):
            throw LogError(.invalidArgument, "the segment header is damaged (\(failure.reason)); use --truncate-after \(base - 1)", file: file.path, offset: 0)
        case .success(let header):
            offset = Int64(header.headerLength)
        }
        var expected = base
        while expected <= seq {
            guard offset < size else {
                throw LogError(.invalidArgument, "the log ends at seq \(expected - 1), before seq \(seq); use --truncate-after \(expected - 1)", file: file.path, offset: offset)
            }
            switch try file.readFrame(at: offset, end: size) {
            case .failure(let failure):
                throw LogError(.invalidArgument, "the frame after seq \(expected - 1) is damaged (\(failure.reason)); the last good seq is \(expected - 1): use --truncate-after \(expected - 1)", file: file.path, offset: offset)
            case .success(let frame):
                guard frame.header.baseSeq == expected else {
                    throw LogError(.invalidArgument, "the frame after seq \(expected - 1) starts at seq \(frame.header.baseSeq); use --truncate-after \(expected - 1)", file: file.path, offset: offset)
                }
                guard frame.header.lastSeq <= seq else {
                    throw LogError(.invalidArgument, "seq \(seq) is inside the frame holding seqs \(frame.header.baseSeq)...\(frame.header.lastSeq); a repair cuts whole frames: use --truncate-after \(frame.header.baseSeq - 1) or \(frame.header.lastSeq)", file: file.path, offset: offset)
                }
                expected = frame.header.lastSeq + 1
                offset = frame.end
            }
        }
        return offset
    }

    /// The highest seq of any good frame in `from..<end` (0 if none): events
    /// that may have been acknowledged although `DURABLE` lagged.
    private static func highestValidSeq(_ file: SegmentFile, from start: Int64, end: Int64) throws(LogError) -> UInt64 {
        var highest: UInt64 = 0
        var offset = start
        while offset < end {
            if case .success(let frame) = try file.readFrame(at: offset, end: end) {
                highest = max(highest, frame.header.lastSeq)
                offset = frame.end
            } else if let next = try file.validFrameExists(after: offset, end: end) {
                offset = next
            } else {
                break
            }
        }
        return highest
    }

    /// Truncates the kept segment at `cut`, renames later segments aside,
    /// drops their (and the cut segment's) now stale indexes, all durable.
    private static func repairApply(directory: String, file: SegmentFile, cut: Int64, later: [String]) throws(LogError) {
        let fd = try FileIO.open(file.path, flags: O_RDWR)
        defer { Glibc.close(fd) }
        try FileIO.truncate(fd, to: cut, path: file.path)
        try FileIO.fsync(fd, path: file.path)
        for path in [file.path] + later {
            let index = SegmentIndexFile.path(forSegment: path)
            guard unlink(index) == 0 || errno == ENOENT else { throw LogError(.io, FileIO.errorText("unlink"), file: index) }
        }
        for path in later {
            guard rename(path, path + ".broken-0") == 0 else { throw LogError(.io, FileIO.errorText("rename"), file: path) }
        }
        try FileIO.fsyncDirectory(directory)
    }
}
