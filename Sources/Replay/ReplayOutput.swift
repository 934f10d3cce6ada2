import EventLog
import StoredEventCodec

/// What a replay prints: the events as NDJSON, one type's CSV to the
/// output, a CSV file per type in a directory, or counts.
public enum ReplayOutput {
    /// Each event as stored, with seq and recorded.
    case ndjson
    /// A header and one row per event, all of `type` (an event of another
    /// type is an error: the filter matched more than one).
    case csv(type: String, columns: DataColumns)
    /// `directory/<type>.csv` per type; the files of `named` types are made
    /// even when nothing matches. Ends with a JSON line naming the files
    /// and their rows.
    case csvDirectory(String, columns: DataColumns, named: [String])
    /// Counts by type and period, as a table or one JSON object.
    case stats(ReplayStats.Period, json: Bool)
}

extension ReplaySession {
    /// Pumps the session into `output`, written to `out` (flushed whenever
    /// the log has nothing more for now, and at the end). `opener` is asked
    /// for once, by the outputs that print events: it opens each event's
    /// sealed PII or withholds it (`"redacted":true`). Counts read no data,
    /// so they need no key and never ask.
    public func write(_ output: ReplayOutput, opener: () throws -> RecordOpener, to out: OutputBuffer) throws {
        switch output {
        case .ndjson:
            let opener = try opener()
            var writer = RecordJSON.Writer()
            try pump(idle: { try out.flush() }) { stored in
                let (record, redacted) = try opener.open(stored)
                try out.withBuffer { writer.appendLine(record, redacted: redacted, to: &$0) }
            }
        case .csv(let type, let columns):
            try writeCSV(type: type, columns: columns, opener: try opener(), to: out)
        case .csvDirectory(let directory, let columns, let named):
            try out.write(try writeCSVDirectory(directory, columns: columns, named: named, opener: try opener()) + "\n")
            try out.flush()
        case .stats(let period, let json):
            var counts = ReplayStats(period: period)
            try pump(idle: {}) { record in try counts.add(record) }
            try out.write(json ? counts.json() + "\n" : counts.table())
            try out.flush()
        }
    }

    private func writeCSV(type: String, columns: DataColumns, opener: RecordOpener, to out: OutputBuffer) throws {
        var table = CSVTable(type: type, dataColumns: columns.columnsByType[type])
        try out.withBuffer { table.appendHeader(to: &$0) }
        try pump(idle: { try out.flush() }) { stored in
            let record = try opener.open(stored).record
            guard record.event.type == type else {
                throw ReplayError(.invalidArgument, "event seq \(record.seq) is a \(record.event.type), not a \(type): --type matches more than one type; use --out DIR")
            }
            var result: Result<Void, ReplayError> = .success(())
            try out.withBuffer { buffer in
                result = Result { () throws(ReplayError) in try table.appendRow(record, to: &buffer) }
            }
            try result.get()
        }
    }

    /// Writes the files; returns `{"directory":D,"rows":N,"files":{"<type>.csv":N,...}}`.
    private func writeCSVDirectory(_ directory: String, columns: DataColumns, named: [String], opener: RecordOpener) throws -> String {
        let writer = try CSVDirectoryWriter(directory: directory, columns: columns, createFor: named)
        try pump(idle: { try writer.flush() }) { record in try writer.write(try opener.open(record).record) }
        try writer.close()
        let files = writer.rowsByType.sorted { $0.key < $1.key }
        let body = files.map { JSONString.quoted($0.key + ".csv") + ":\($0.value)" }.joined(separator: ",")
        return "{\"directory\":\(JSONString.quoted(directory)),\"rows\":\(files.reduce(0) { $0 + $1.value }),\"files\":{\(body)}}"
    }
}

extension ReplaySession {
    /// What `careerlog replay` runs on an open log: scans for `filter`;
    /// tells `explain` (when given) the read plan first and, at a normal
    /// end, how much was read; routes SIGINT and SIGTERM to
    /// `ReplayInterrupt` when following; draws a progress line on stderr
    /// when `progressOnTerminal` and not following; and writes `output()`
    /// to `out`. An output whose reader went away ends it quietly; a
    /// `ReplayError` or `LogError` clears the progress line, then is thrown.
    public static func replay(
        log: EventLog, filter: ReplayFilter, follow: Bool, progressOnTerminal: Bool, explain: ((String) -> Void)?,
        output: () throws -> ReplayOutput, opener: () throws -> RecordOpener, to out: OutputBuffer
    ) throws {
        let scan = ReplayScan(log: log, filter: filter)
        explain?(scan.plan.description)
        if follow { ReplayInterrupt.install() }
        let progress = ReplayProgress(enabled: progressOnTerminal && !follow, lastSeq: log.lastSeq)
        let session = ReplaySession(scan: scan, follow: follow, progress: progress)
        do {
            try session.write(try output(), opener: opener, to: out)
            explain?("read \(scan.framesRead) frames, \(scan.eventsRead) events; \(scan.eventsMatched) matched")
        } catch is OutputBuffer.OutputClosed {
            return  // the reader went away (| head): not an error
        } catch let error as ReplayError {
            progress.clear()
            throw error
        } catch let error as LogError {
            progress.clear()
            throw error
        }
    }
}
