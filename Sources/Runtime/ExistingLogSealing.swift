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

/// Why a log cannot be sealed as it is (the operator acts, then runs again).
public struct ExistingLogSealError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Seals a log written before sealing existed (PII in clear in its
/// segments), keeping every seq, recorded time and producer: the log is
/// copied through the writer's sealer into `<data-dir>/log.sealing`, the
/// copy is read back and compared event by event with the original, then
/// the two directories are exchanged in one atomic rename and the old one
/// (the clear bytes) is deleted. A crash leaves either the old log in place
/// or the new one, never a mix; what is left under `log.sealing` is
/// deleted by the next run. Offline: it holds the log's writer lock, so a
/// running server makes it refuse.
public enum ExistingLogSealing {
    /// Where the sealed copy is built beside the log.
    public static func workDirectory(_ data: DataDirectory) -> String { data.path + "/log.sealing" }

    /// Events appended (and sealed) per call: one recorded time each, so
    /// the copy keeps the original's.
    static let batchEventsMax = 4096

    public static func run(
        data: DataDirectory, sealer: EventSealer, limits: LogLimits = LogLimits(),
        progress: (_ copied: UInt64, _ of: UInt64) -> Void = { _, _ in }
    ) throws -> ExistingLogSealReport {
        try requireLog(data)
        let work = workDirectory(data)
        if FileManager.default.fileExists(atPath: work) { try FileManager.default.removeItem(atPath: work) }
        let old = try EventLog.open(directory: data.logDirectory, limits: limits)
        var closed = false
        defer { if !closed { try? old.close() } }
        try refuseWhatACopyCannotKeep(old, directory: data.logDirectory)

        var report = ExistingLogSealReport()
        report.erasuresApplied = try sealer.reapplyErasures(log: old)
        report.events = old.lastSeq
        guard try holdsPIIInClear(old, table: sealer.table) else { return report }
        report.bytesBefore = directoryBytes(data.logDirectory)

        let clock = RecordedClock()
        let copy = try EventLog.open(directory: work, limits: limits, clock: { clock.value })
        do {
            try copyThroughSealer(from: old, to: copy, sealer: sealer, clock: clock, report: &report, progress: progress)
            try copy.sync()
            try copy.close()
        } catch {
            try? copy.close()
            try? FileManager.default.removeItem(atPath: work)
            throw error
        }
        do {
            try compare(old, withCopyIn: work, opener: RecordOpener(mode: .include(sealer.store), table: sealer.table), limits: limits)
        } catch {
            try? FileManager.default.removeItem(atPath: work)
            throw error
        }
        report.bytesAfter = directoryBytes(work)

        // The swap: one atomic exchange of the two directory entries, made
        // durable under the writer lock. The log is closed first (its close
        // writes the durable mark and index by path, which after the
        // exchange would land in the sealed log), then locked again without
        // opening: no appender can write between the check and the exchange.
        try old.close()
        closed = true
        do {
            try swapInTheCopy(work, data: data, limits: limits, copied: report.events)
        } catch {
            try? FileManager.default.removeItem(atPath: work)
            throw error
        }
        try FileManager.default.removeItem(atPath: work)  // now the old log: the clear bytes
        try fsyncDirectory(data.path)
        return report
    }

    private static func swapInTheCopy(_ work: String, data: DataDirectory, limits: LogLimits, copied: UInt64) throws {
        try EventLog.withWriterLock(directory: data.logDirectory) {
            let now = try EventLog.open(directory: data.logDirectory, limits: limits, mode: .readOnly)
            let last = now.lastSeq
            try? now.close()
            guard last == copied else {
                throw ExistingLogSealError("a process appended to the log while it was being sealed (last seq \(last), \(copied) copied); "
                    + "nothing was changed: stop it and run again")
            }
            try exchange(work, data.logDirectory)
            try fsyncDirectory(data.path)
        }
    }

    /// Refuses a data directory without a log (opening one for writing
    /// would make an empty log; the caller checks before making keys too).
    public static func requireLog(_ data: DataDirectory) throws {
        let segments = (try? FileManager.default.contentsOfDirectory(atPath: data.logDirectory))?.filter { $0.hasSuffix(".seg") } ?? []
        guard !segments.isEmpty else {
            throw ExistingLogSealError("no event log in \(data.path) (\(data.logDirectory) holds no segment): nothing to seal")
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

    /// Whether any record holds a PII value in clear (one read of the log).
    private static func holdsPIIInClear(_ log: EventLog, table: PIIPathTable) throws -> Bool {
        let reader = log.reader(fromSeq: 1)
        while let record = try reader.next() {
            guard record.event.flags & PIISealer.sealedFlag == 0 else { continue }
            let paths = table.paths(type: record.event.type, version: record.event.dataVersion)
            guard !paths.isEmpty, case .object(let data)? = try? JSONParser.parse(record.event.data) else { continue }
            if paths.hasValue(in: data) { return true }
        }
        return false
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
            guard x.seq == y.seq, x.recorded == y.recorded, envelopeX == envelopeY,
                  try JSONParser.parse(x.event.data) == JSONParser.parse(y.event.data) else {
                throw ExistingLogSealError("the sealed copy differs from the log at seq \(a.seq); nothing was changed")
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
