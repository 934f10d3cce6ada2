/// What `EventLog.verify` checked.
public struct VerifySummary: Sendable, Equatable {
    public var segments = 0
    public var frames = 0
    public var events: UInt64 = 0
    public var bytes: Int64 = 0
    public var lastSeq: UInt64 = 0
}

extension EventLog {
    /// Re-reads every frame of every segment and checks all of it: segment
    /// headers, frame headers, CRCs, decompression, every record's fields,
    /// seq continuity within and across segments. Modifies nothing, takes no
    /// lock (safe beside a running appender). Throws the first problem with
    /// its file and offset; an incomplete tail counts as a problem too (the
    /// appender cuts it on its next open).
    public static func verify(
        directory: String, limits: LogLimits = LogLimits(), progress: ((VerifySummary) -> Void)? = nil
    ) throws(LogError) -> VerifySummary {
        let loader = SegmentLoader(directory: directory, limits: limits, repair: false)
        let bases = try loader.segmentBases()
        var summary = VerifySummary()
        var expected: UInt64? = nil
        var typeCache = TypeNameCache()
        for base in bases {
            let file = try SegmentFile(path: loader.path(base), limits: limits)
            // Beside a running appender, frames past its last sync are not
            // durable yet: checked next time, not reported as a torn tail.
            let size = try loader.readableSize(file, base: base)
            switch try file.readHeader(fileLength: size) {
            case .failure(let failure):
                throw LogError(.corruption, failure.reason, file: file.path, offset: 0)
            case .success(let header):
                guard header.baseSeq == base else {
                    throw LogError(.corruption, "segment header says base seq \(header.baseSeq), its name says \(base)", file: file.path, offset: 16)
                }
            }
            if let expected, base != expected {
                throw LogError(.corruption, "segment starts at seq \(base) but the previous one ends at seq \(expected - 1)", file: file.path, offset: 0)
            }
            var next = base
            var offset = Int64(SegmentHeader.size)
            while offset < size {
                switch try file.readFrame(at: offset, end: size) {
                case .failure(let failure):
                    let tail = failure.torn ? " (an incomplete frame at the end: the appender cuts it when it next opens the log)" : ""
                    throw LogError(.corruption, failure.reason + tail, file: file.path, offset: offset)
                case .success(let frame):
                    guard frame.header.baseSeq == next else {
                        throw LogError(.corruption, "frame starts at seq \(frame.header.baseSeq) where seq \(next) was expected", file: file.path, offset: offset)
                    }
                    var previousRecorded = Int64.min
                    let context: (base: FrameBase, pairs: [(source: String, type: String)], recordsStart: Int)
                    do {
                        context = try RecordCodec.context(frame.records, header: frame.header, cache: &typeCache)
                    } catch {
                        throw LogError(.corruption, error.reason, file: file.path, offset: offset)
                    }
                    var recordOffset = context.recordsStart
                    for _ in 0..<frame.header.count {
                        let record: EventRecord
                        do {
                            record = try RecordCodec.decode(frame.records, at: &recordOffset, base: context.base, pairs: context.pairs)
                        } catch {
                            throw LogError(.corruption, "record: \(error.reason)", file: file.path, offset: offset)
                        }
                        guard record.recorded >= previousRecorded else {
                            throw LogError(.corruption, "record \(record.seq) recorded before its predecessor", file: file.path, offset: offset)
                        }
                        previousRecorded = record.recorded
                    }
                    next = frame.header.lastSeq + 1
                    summary.frames += 1
                    summary.events += UInt64(frame.header.count)
                    offset = frame.end
                }
            }
            summary.segments += 1
            summary.bytes += size
            summary.lastSeq = next - 1
            expected = next
            progress?(summary)
        }
        return summary
    }
}
