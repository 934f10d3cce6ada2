import CareerEvents
import EventLog
import Foundation
import StoredEventCodec
import SubjectKeys
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What `careerlog privacy seal-existing` did.
public struct ExistingLogSealReport: Sendable, Equatable {
    /// Events the log holds (all copied, seqs and times kept).
    public var events: UInt64 = 0
    /// Events whose PII was in clear and is sealed now.
    public var sealed = 0
    /// Events whose PII was in clear and is `null` now (their subject is erased).
    public var nulled = 0
    /// Erasures in the log whose key destruction was finished first.
    public var erasuresApplied = 0
    /// Log bytes before and after (segments and their files).
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0

    /// True when there was nothing in clear and the log was left as it was.
    public var unchanged: Bool { sealed == 0 && nulled == 0 }
}

/// Where a seal-existing run is (the crash tests kill it at each point).
public enum ExistingLogSealStage: String, Sendable, CaseIterable {
    /// The first batch is in the copy.
    case copying
    /// The copy is complete, compared and scanned; not exchanged yet.
    case copied
    /// Exchanged and synced; the old (clear) log not yet deleted.
    case exchanged
}

/// Why a log cannot be sealed as it is (the operator acts, then runs again).
public struct ExistingLogSealError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Seals a log written before sealing existed (PII in clear in its
/// segments), keeping every seq, recorded time and producer: the log is
/// copied through the writer's sealer into `<data-dir>/log.sealing`, the
/// copy is read back, compared event by event with the original and
/// scanned for PII left in clear, then the two directories are exchanged
/// in one atomic rename and the old one (the clear bytes) is deleted.
///
/// Offline, and sure of it: `prepare` takes the data directory's `flock`
/// (one run at a time), then opens the log as its appender with exclusive
/// access to the log directory (`EventLog.DirectoryAccess`), so it refuses
/// while any process has the log open (a server, a projector, a replay)
/// and none can open it until the exchange is made. One lock is held from
/// the first look to the last delete.
///
/// A crash leaves either the old log in place or the new one, never a mix;
/// what is left under `log.sealing` (a partial copy, or after the exchange
/// the clear log) is deleted by the next run or the next `serve`
/// (`removeLeftover`).
public final class ExistingLogSealing {
    /// Where the sealed copy is built beside the log.
    public static func workDirectory(_ data: DataDirectory) -> String { data.path + "/log.sealing" }

    /// Events appended (and sealed) per call: one recorded time each, so
    /// the copy keeps the original's.
    static let batchEventsMax = 4096

    private let data: DataDirectory
    private let limits: LogLimits
    private let old: EventLog
    private var dataLockFD: Int32
    private var finished = false

    private init(data: DataDirectory, limits: LogLimits, old: EventLog, dataLockFD: Int32) {
        self.data = data
        self.limits = limits
        self.old = old
        self.dataLockFD = dataLockFD
    }

    deinit {
        if !finished { try? old.close() }
        if dataLockFD >= 0 { close(dataLockFD) }
    }

    /// Takes the locks and makes every check that needs no key, so a
    /// refusal comes before the key store is opened (or made): a data
    /// directory without a log, a log that is a symbolic link or a mount
    /// point, a log in use, repair gaps and saved torn tails. Deletes what
    /// an interrupted run left in `log.sealing`.
    public static func prepare(data: DataDirectory, limits: LogLimits = LogLimits()) throws -> ExistingLogSealing {
        try requireLog(data)
        try refuseLinkedLog(data)
        let dataLockFD = try lockDataDirectory(data)
        guard dataLockFD >= 0 else {
            throw ExistingLogSealError("another privacy seal-existing is running on \(data.path); let it finish")
        }
        let old: EventLog
        do {
            old = try EventLog.open(directory: data.logDirectory, limits: limits, access: .exclusive)
        } catch let error where error.code == .locked {
            close(dataLockFD)
            throw ExistingLogSealError("the log is in use: \(error.message) (\(data.logDirectory)); nothing was changed")
        } catch {
            close(dataLockFD)
            throw error
        }
        let job = ExistingLogSealing(data: data, limits: limits, old: old, dataLockFD: dataLockFD)
        try job.removeWorkDirectory()
        try refuseWhatACopyCannotKeep(old, directory: data.logDirectory)
        return job
    }

    /// Seals the log `prepare` opened. Call once.
    /// `stage` is for the crash tests.
    public func run(
        sealer: EventSealer, progress: (_ copied: UInt64, _ of: UInt64) -> Void = { _, _ in },
        stage: (ExistingLogSealStage) -> Void = { _ in }
    ) throws -> ExistingLogSealReport {
        precondition(!finished, "ExistingLogSealing.run is called once")
        var report = ExistingLogSealReport()
        report.erasuresApplied = try sealer.reapplyErasures(log: old)
        report.events = old.lastSeq
        guard try Self.firstPIIInClear(old, table: sealer.table) != nil else {
            finished = true
            try old.close()
            return report
        }
        report.bytesBefore = Self.directoryBytes(data.logDirectory)

        let work = Self.workDirectory(data)
        do {
            var first = true
            try buildCopy(in: work, sealer: sealer, report: &report) { copied, of in
                progress(copied, of)
                if first { stage(.copying) }
                first = false
            }
            try Self.compare(old, withCopyIn: work, opener: RecordOpener(mode: .include(sealer.store), table: sealer.table), limits: limits)
            let copy = try EventLog.open(directory: work, limits: limits, mode: .readOnly)
            defer { try? copy.close() }
            if let seq = try Self.firstPIIInClear(copy, table: sealer.table) {
                throw ExistingLogSealError("the sealed copy still holds PII in clear at seq \(seq); nothing was changed")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: work)
            throw error
        }
        report.bytesAfter = Self.directoryBytes(work)
        stage(.copied)

        // The swap, under the locks held since `prepare`: one atomic
        // exchange of the two directory entries. From here the sealed log
        // is the log; the old one is let go without writing (a close would
        // write its durable mark and index by path, into the sealed log).
        do {
            try Self.exchange(work, data.logDirectory)
        } catch {
            try? FileManager.default.removeItem(atPath: work)
            throw error
        }
        finished = true
        old.abandon()
        do {
            try Self.fsyncDirectory(data.path)
        } catch {
            throw ExistingLogSealError("the sealed log is in place, but \(error); a power cut now could bring the unsealed log back: "
                + "run privacy seal-existing again once the disk is healthy")
        }
        stage(.exchanged)
        do {
            try FileManager.default.removeItem(atPath: work)  // now the old log: the clear bytes
            try Self.fsyncDirectory(data.path)
        } catch {
            throw ExistingLogSealError("the sealed log is in place, but the unsealed one in \(work) could not be deleted (\(error)); "
                + "it holds PII in clear: delete it, or run privacy seal-existing or serve again, which delete it")
        }
        return report
    }

    private func buildCopy(
        in work: String, sealer: EventSealer, report: inout ExistingLogSealReport, progress: (UInt64, UInt64) -> Void
    ) throws {
        let clock = RecordedClock()
        let copy = try EventLog.open(directory: work, limits: limits, clock: { clock.value })
        do {
            try Self.copyThroughSealer(from: old, to: copy, sealer: sealer, clock: clock, report: &report, progress: progress)
            // The form the segments had: recompressed ones stay recompressed.
            if old.recompressedSegments > 0 { _ = try copy.recompressSealedSegments() }
            try copy.sync()
            try copy.close()
        } catch {
            try? copy.close()
            throw error
        }
        // The record of operator repairs goes with the log.
        let repairs = data.logDirectory + "/REPAIRS"
        if FileManager.default.fileExists(atPath: repairs) {
            try FileManager.default.copyItem(atPath: repairs, toPath: work + "/REPAIRS")
            try Self.fsyncFile(work + "/REPAIRS")
        }
        try Self.fsyncDirectory(work)
    }

    private func removeWorkDirectory() throws {
        let work = Self.workDirectory(data)
        guard FileManager.default.fileExists(atPath: work) else { return }
        try FileManager.default.removeItem(atPath: work)
        try Self.fsyncDirectory(data.path)
    }

    /// Deletes `<data-dir>/log.sealing` when an interrupted run left it (a
    /// partial copy, or after the exchange the unsealed log with its PII in
    /// clear). Returns false when there is none, or a run is in progress.
    /// `serve` calls it on start.
    public static func removeLeftover(_ data: DataDirectory) throws -> Bool {
        guard FileManager.default.fileExists(atPath: workDirectory(data)) else { return false }
        let fd = try lockDataDirectory(data)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard FileManager.default.fileExists(atPath: workDirectory(data)) else { return false }
        try FileManager.default.removeItem(atPath: workDirectory(data))
        try fsyncDirectory(data.path)
        return true
    }

    /// The data directory's `flock` (one seal-existing at a time); -1 when
    /// another process holds it.
    private static func lockDataDirectory(_ data: DataDirectory) throws -> Int32 {
        let fd = open(data.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ExistingLogSealError("cannot open \(data.path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(fd)
            guard reason == EWOULDBLOCK else { throw ExistingLogSealError("cannot lock \(data.path): \(String(cString: strerror(reason)))") }
            return -1
        }
        return fd
    }

    /// Refuses a data directory without a log (opening one for writing
    /// would make an empty log; the caller checks before making keys too).
    public static func requireLog(_ data: DataDirectory) throws {
        let segments = (try? FileManager.default.contentsOfDirectory(atPath: data.logDirectory))?.filter { $0.hasSuffix(".seg") } ?? []
        guard !segments.isEmpty else {
            throw ExistingLogSealError("no event log in \(data.path) (\(data.logDirectory) holds no segment): nothing to seal")
        }
    }

    /// The exchange swaps directory entries: a `log` that is a symbolic
    /// link would swap the link and leave the clear log at its target, and
    /// a mount point cannot be renamed at all.
    private static func refuseLinkedLog(_ data: DataDirectory) throws {
        var log = stat(), parent = stat()
        guard lstat(data.logDirectory, &log) == 0, stat(data.path, &parent) == 0 else {
            throw ExistingLogSealError("cannot look at \(data.logDirectory): \(String(cString: strerror(errno)))")
        }
        if (log.st_mode & S_IFMT) == S_IFLNK {
            throw ExistingLogSealError("\(data.logDirectory) is a symbolic link: the exchange would replace the link and leave the "
                + "unsealed log at its target; run with --data-dir at the directory that holds the log itself")
        }
        if log.st_dev != parent.st_dev {
            throw ExistingLogSealError("\(data.logDirectory) is a mount point (another file system than \(data.path)): the sealed copy "
                + "cannot be exchanged with it in one rename; copy the data directory onto one file system first")
        }
    }

    /// A copy made by appending renumbers nothing only when the log has no
    /// gap; torn tails saved by recovery may hold PII in clear that the
    /// swap would delete unseen.
    private static func refuseWhatACopyCannotKeep(_ log: EventLog, directory: String) throws {
        if let gap = log.gaps.first {
            throw ExistingLogSealError("the log has seqs a repair gave up (\(gap.after + 1)...\(gap.next - 1), see REPAIRS); "
                + "a sealed copy keeps every seq only for a log without gaps; re-import it instead (README, \"Logs written before sealing\")")
        }
        let broken = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.contains(".broken-") }.sorted() ?? []
        if !broken.isEmpty {
            throw ExistingLogSealError("\(directory) holds torn tails that recovery saved (\(broken.joined(separator: ", "))); "
                + "they may hold PII in clear and would be deleted with the old log: look at them, move or remove them, then run again")
        }
    }

    /// The first record holding a PII value in clear (one read of the log).
    /// Refuses a type the schemas do not define: its PII paths are unknown,
    /// and a copy would keep whatever PII it holds in clear.
    private static func firstPIIInClear(_ log: EventLog, table: PIIPathTable) throws -> UInt64? {
        let reader = log.reader(fromSeq: 1)
        while let record = try reader.next() {
            guard table.defines(type: record.event.type, version: record.event.dataVersion) else {
                throw ExistingLogSealError("seq \(record.seq) is a \(record.event.type) (data version \(record.event.dataVersion)) that the "
                    + "schemas do not define, so its PII fields are unknown; run with --schemas naming the schemas the log was written "
                    + "with; nothing was changed")
            }
            guard record.event.flags & PIISealer.sealedFlag == 0 else { continue }
            let paths = table.paths(type: record.event.type, version: record.event.dataVersion)
            guard !paths.isEmpty, case .object(let data)? = try? JSONParser.parse(record.event.data) else { continue }
            if paths.hasValue(in: data) { return record.seq }
        }
        return nil
    }

    private static func copyThroughSealer(
        from old: EventLog, to copy: EventLog, sealer: EventSealer, clock: RecordedClock,
        report: inout ExistingLogSealReport, progress: (UInt64, UInt64) -> Void
    ) throws {
        let reader = old.reader(fromSeq: 1)
        var batch: [EventRecord] = []
        func flush() throws {
            guard let first = batch.first else { return }
            var events = batch.map(\.event)
            let redacted = try sealer.seal(&events)
            for (i, event) in events.enumerated() where event.flags & PIISealer.sealedFlag != 0 && batch[i].event.flags & PIISealer.sealedFlag == 0 {
                report.sealed += 1
            }
            report.nulled += redacted.count
            if let i = events.firstIndex(where: { $0.encodedSize > copy.limits.eventBytesMax }) {
                throw ExistingLogSealError("seq \(batch[i].seq) (\(batch[i].event.type)) is \(events[i].encodedSize) bytes once sealed, over "
                    + "the log's event limit of \(copy.limits.eventBytesMax) bytes (sealing makes each PII value longer); nothing was changed: "
                    + "this log cannot be sealed in place (README, \"Logs written before sealing\")")
            }
            clock.value = first.recorded
            let seqs = try copy.append(events)
            guard seqs?.lowerBound == first.seq else {
                throw ExistingLogSealError("the copy numbered seq \(first.seq) as \(seqs.map { "\($0.lowerBound)" } ?? "nothing"); nothing was changed")
            }
            progress(batch.last!.seq, old.lastSeq)
            batch.removeAll(keepingCapacity: true)
        }
        while let record = try reader.next() {
            if let first = batch.first, first.recorded != record.recorded || batch.count == batchEventsMax { try flush() }
            batch.append(record)
        }
        try flush()
    }

    /// Reads the copy back from disk and checks it event by event against
    /// the original: same seq, recorded time, producer, envelope and clear
    /// data, and the same PII where the subject's key exists (`null` where
    /// it was destroyed), as the read models and `--include-pii` see it.
    private static func compare(_ old: EventLog, withCopyIn directory: String, opener: RecordOpener, limits: LogLimits) throws {
        _ = try EventLog.verify(directory: directory, limits: limits)
        let copy = try EventLog.open(directory: directory, limits: limits, mode: .readOnly)
        defer { try? copy.close() }
        let before = old.reader(fromSeq: 1), after = copy.reader(fromSeq: 1)
        while let a = try before.next() {
            guard let b = try after.next() else {
                throw ExistingLogSealError("the sealed copy ends before seq \(a.seq); nothing was changed")
            }
            let x = try opener.open(a).record, y = try opener.open(b).record
            var envelopeX = x.event, envelopeY = y.event
            envelopeX.data = []
            envelopeY.data = []
            let dataX = try JSONParser.parse(x.event.data), dataY = try JSONParser.parse(y.event.data)
            var differences: [String] = []
            if x.seq != y.seq { differences.append("seq \(y.seq)") }
            if x.recorded != y.recorded { differences.append("recorded time") }
            if envelopeX != envelopeY { differences.append("envelope") }
            if dataX != dataY {
                // Names, never values (they may be PII).
                if case .object(let ox) = dataX, case .object(let oy) = dataY {
                    let fields = Set(ox.keys).union(oy.keys).filter { ox[$0] != oy[$0] }.sorted()
                    differences.append("data field" + (fields.count == 1 ? " " : "s ") + fields.joined(separator: ", "))
                } else {
                    differences.append("data")
                }
            }
            guard differences.isEmpty else {
                throw ExistingLogSealError("the sealed copy differs from the log at seq \(a.seq) (\(differences.joined(separator: "; "))); "
                    + "nothing was changed")
            }
        }
        if let extra = try after.next() {
            throw ExistingLogSealError("the sealed copy holds seq \(extra.seq) past the log's end; nothing was changed")
        }
    }

    /// renameat2(RENAME_EXCHANGE): both names stay bound at every instant.
    /// Looked up at run time (Swift's Glibc module does not declare it).
    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private static let renameExchange: UInt32 = 2

    private static func exchange(_ a: String, _ b: String) throws {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else {
            throw ExistingLogSealError("this system's C library has no renameat2 (Linux 3.15 and glibc 2.28 or newer); the log was left as it was")
        }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        guard renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0 else {
            throw ExistingLogSealError("cannot exchange \(a) and \(b): \(String(cString: strerror(errno))); the log was left as it was")
        }
    }

    private static func fsyncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ExistingLogSealError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ExistingLogSealError("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    private static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw ExistingLogSealError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ExistingLogSealError("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    private static func directoryBytes(_ path: String) -> Int64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.reduce(0) { sum, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? NSNumber)?.int64Value ?? 0
            return sum + size
        }
    }
}

/// The copy's clock: the recorded time of the batch being appended.
private final class RecordedClock: Sendable {
    private let microseconds = Atomic<Int64>(0)
    var value: Int64 {
        get { microseconds.load(ordering: .relaxed) }
        set { microseconds.store(newValue, ordering: .relaxed) }
    }
}
