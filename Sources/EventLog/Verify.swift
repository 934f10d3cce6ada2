#if canImport(Glibc)
import Glibc
#endif

/// What `EventLog.verify` checked.
public struct VerifySummary: Sendable, Equatable {
    public var segments = 0
    public var frames = 0
    public var events: UInt64 = 0
    public var bytes: Int64 = 0
    public var lastSeq: UInt64 = 0
    /// Torn tails past the durable mark that the appender cuts (and keeps
    /// aside) on its next open; nothing durable is in them.
    public var tornTails: [RecoveryReport.Truncation] = []
    /// Seq gaps recorded by operator repairs (`REPAIRS`).
    public var gaps: [SeqGap] = []
}

extension EventLog {
    /// Re-reads every frame of every segment and checks all of it: segment
    /// headers, frame headers, CRCs, decompression, every record's fields,
    /// seq continuity within and across segments, and the log against its
    /// durable mark. Modifies nothing, takes no lock (safe beside a running
    /// appender). It runs the appender's own recovery rules in a dry run, so
    /// it fails exactly where opening the log would, and reports (in
    /// `tornTails`) what opening would cut. Throws the first problem with
    /// its file and offset.
    public static func verify(
        directory: String, limits: LogLimits = LogLimits(), progress: ((VerifySummary) -> Void)? = nil
    ) throws(LogError) -> VerifySummary {
        guard FileIO.exists(directory) else { throw LogError(.io, "no log directory", file: directory) }
        let directoryLockFD = try lockDirectory(directory, access: .shared)
        defer { Glibc.close(directoryLockFD) }
        let loader = try SegmentLoader(directory: directory, limits: limits, purpose: .verify)
        var summary = VerifySummary()
        var report = RecoveryReport()
        let segments = try loader.loadAll(report: &report) { segment in
            summary.segments += 1
            summary.frames += segment.entries.count
            summary.events += segment.entries.reduce(0) { $0 + UInt64($1.count) }
            summary.bytes += segment.length
            summary.lastSeq = segment.lastSeq
            progress?(summary)
        }
        summary.lastSeq = segments.last?.lastSeq ?? 0
        summary.tornTails = report.truncations
        summary.gaps = loader.gaps
        return summary
    }

    /// Decodes every record of a good frame (verify only: readers decode
    /// them anyway): fields in range and recorded times non-decreasing.
    static func verifyRecords(_ frame: SegmentFile.Frame, file: String) throws(LogError) {
        var typeCache = TypeNameCache()
        let context: (base: FrameBase, pairs: [(source: String, type: String)], producers: [String], recordsStart: Int)
        do {
            context = try RecordCodec.context(frame.records, header: frame.header, cache: &typeCache)
        } catch {
            throw LogError(.corruption, error.reason, file: file, offset: frame.offset)
        }
        var recordOffset = context.recordsStart
        var previousRecorded = Int64.min
        for _ in 0..<frame.header.count {
            let record: EventRecord
            do {
                record = try RecordCodec.decode(frame.records, at: &recordOffset, base: context.base, pairs: context.pairs, producers: context.producers)
            } catch {
                throw LogError(.corruption, "record: \(error.reason)", file: file, offset: frame.offset)
            }
            guard record.recorded >= previousRecorded else {
                throw LogError(.corruption, "record \(record.seq) recorded before its predecessor", file: file, offset: frame.offset)
            }
            previousRecorded = record.recorded
        }
    }
}
