import ArgumentParser
import CareerEvents
import EventGenerator
import EventLog
import Foundation
import StoredEventCodec

/// The benchmarks and the crash tests' helpers, kept out of `careerlog` so
/// that its help lists only what users run.
@main
struct CareerlogBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "careerlog-bench",
        abstract: "Benchmarks that print the figures recorded in BENCHMARKS.md.",
        subcommands: [LogBench.self, ProjectorBench.self, IngestBench.self, DedupeBench.self, DebugCommand.self])
}

/// Appends generated events with a sync per batch, reads them back decoding
/// every record, and verifies the log; prints rates and sizes.
struct LogBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Append, read and verify rates of the event log on generated events.")

    @Option(help: ArgumentHelp("How many events.", valueName: "count")) var events: Int = 1_000_000
    @Option(help: ArgumentHelp("Events per append + sync.", valueName: "count")) var batch: Int = 1000
    @Option(help: ArgumentHelp("Generator seed.", valueName: "n")) var seed: UInt64 = 1
    @Option(name: .customLong("frame-kib"), help: ArgumentHelp("Frame target size in KiB.", valueName: "kib")) var frameKiB: Int = LogLimits().frameTargetBytes >> 10
    @Option(help: ArgumentHelp("Where to put the benchmark log (removed first).", valueName: "dir")) var directory: String = "./.careerlog-bench/log"
    @Option(name: .customLong("segment-mib"), help: ArgumentHelp("Segment size limit in MiB.", valueName: "mib")) var segmentMiB: Int = LogLimits().segmentBytesMax >> 20
    @Option(help: ArgumentHelp("Also recompress a copy of the log (`careerlog log compact`) and read and verify both, alternately, this many rounds.", valueName: "rounds"))
    var recompressRounds: Int = 0

    func run() throws {
        // 1. Input: generated NDJSON, decoded to log events (not timed).
        var generator = HistoryGenerator(options: GeneratorOptions(users: max(1, events / 190), seed: seed, months: 12))
        var line: [UInt8] = []
        var input: [LogEvent] = []
        input.reserveCapacity(events)
        var ndjsonBytes = 0
        // NDJSON bytes of the first i + 1 events (for the sealed segments' ratio).
        var ndjsonUpTo: [Int] = []
        ndjsonUpTo.reserveCapacity(events)
        while input.count < events {
            line.removeAll(keepingCapacity: true)
            guard generator.nextLine(into: &line) else { break }
            ndjsonBytes += line.count
            ndjsonUpTo.append(ndjsonBytes)
            let event = try Envelope.decode(line: line)
            input.append(LogEvent(event))
        }
        print("input: \(input.count) events, \(ndjsonBytes) bytes of NDJSON (\(ndjsonBytes / max(1, input.count)) bytes/event)")

        try? FileManager.default.removeItem(atPath: directory)
        // 2. Append, sync per batch.
        var limits = LogLimits()
        limits.frameTargetBytes = frameKiB << 10
        limits.segmentBytesMax = segmentMiB << 20
        let log = try EventLog.open(directory: directory, limits: limits)
        let appendStart = ContinuousClock.now
        var i = 0
        var syncs = 0
        while i < input.count {
            let end = min(i + batch, input.count)
            try log.append(Array(input[i..<end]))
            try log.sync()
            syncs += 1
            i = end
        }
        let appendSeconds = (ContinuousClock.now - appendStart).seconds
        try log.close()
        report("append (sync every \(batch))", count: input.count, seconds: appendSeconds)
        print("  fsyncs: \(syncs), \(Int(Double(syncs) / appendSeconds))/s")

        // 3. Sequential read decoding every record.
        let reopened = try EventLog.open(directory: directory, mode: .readOnly)
        let readStart = ContinuousClock.now
        let reader = reopened.reader()
        var checksum: UInt64 = 0
        var read = 0
        while let record = try reader.next() {
            checksum &+= record.seq &+ UInt64(record.event.data.count) &+ UInt64(record.event.type.utf8.count)
            read += 1
        }
        let readSeconds = (ContinuousClock.now - readStart).seconds
        precondition(read == input.count, "read \(read) of \(input.count)")
        report("read (decode every record)", count: read, seconds: readSeconds)

        // 4. Size on disk.
        let stats = try reopened.statistics()
        print(String(format: "size: %d bytes on disk, %.1f bytes/event, %.1f%% of the NDJSON input, compression ratio %.2f (raw records / disk)",
                     stats.bytesOnDisk, Double(stats.bytesOnDisk) / Double(read),
                     100 * Double(stats.bytesOnDisk) / Double(ndjsonBytes), stats.compressionRatio))

        // 5. verify.
        let verifyStart = ContinuousClock.now
        let summary = try EventLog.verify(directory: directory)
        let verifySeconds = (ContinuousClock.now - verifyStart).seconds
        report("verify", count: Int(summary.events), seconds: verifySeconds)
        print(String(format: "  %.0f MB/s of log", Double(summary.bytes) / verifySeconds / 1e6))
        _ = checksum
        if recompressRounds > 0 { try compareRecompressed(limits: limits, ndjsonUpTo: ndjsonUpTo, events: read) }
    }

    /// Copies the log, recompresses the copy's sealed segments, then reads
    /// and verifies the original and the copy alternately.
    private func compareRecompressed(limits: LogLimits, ndjsonUpTo: [Int], events: Int) throws {
        let ndjsonBytes = ndjsonUpTo.last ?? 0
        let copy = directory + "-recompressed"
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: directory, toPath: copy)
        let log = try EventLog.open(directory: copy, limits: limits)
        let start = ContinuousClock.now
        let report = try log.recompressSealedSegments()
        let seconds = (ContinuousClock.now - start).seconds
        try log.close()
        print(String(format: "recompress: %d sealed segments in %.2f s (%.1f MB/s of segment), sealed bytes %d -> %d (%.3f)",
                     report.segments.count, seconds, Double(report.bytesBefore) / seconds / 1e6, report.bytesBefore, report.bytesAfter,
                     Double(report.bytesAfter) / Double(max(1, report.bytesBefore))))
        for (name, dir) in [("fast", directory), ("recompressed", copy)] {
            let stats = try EventLog.open(directory: dir, limits: limits, mode: .readOnly).statistics()
            print(String(format: "size %@: %d bytes, %.1f bytes/event, %.4f of the NDJSON", name, stats.bytesOnDisk,
                         Double(stats.bytesOnDisk) / Double(events), Double(stats.bytesOnDisk) / Double(ndjsonBytes)))
        }
        // The sealed segments alone: every segment but the newest (named by
        // its base seq), against the NDJSON of the events they hold.
        let names = try FileManager.default.contentsOfDirectory(atPath: copy).filter { $0.hasSuffix(".seg") }.sorted()
        if let newest = names.last, let newestBase = Int(newest.prefix(20)), newestBase > 1, newestBase - 1 <= ndjsonUpTo.count {
            let sealedNDJSON = ndjsonUpTo[newestBase - 2]
            print(String(format: "sealed segments / their NDJSON (%d events, %d bytes of NDJSON): fast %.4f, recompressed %.4f",
                         newestBase - 1, sealedNDJSON, Double(report.bytesBefore) / Double(sealedNDJSON),
                         Double(report.bytesAfter) / Double(sealedNDJSON)))
        }
        for round in 1...recompressRounds {
            for (name, dir) in [("fast", directory), ("recompressed", copy)] {
                let reopened = try EventLog.open(directory: dir, limits: limits, mode: .readOnly)
                let readStart = ContinuousClock.now
                let reader = reopened.reader()
                var read = 0
                var checksum: UInt64 = 0
                while let record = try reader.next() {
                    checksum &+= record.seq &+ UInt64(record.event.data.count)
                    read += 1
                }
                let readSeconds = (ContinuousClock.now - readStart).seconds
                precondition(read == events, "read \(read) of \(events)")
                let verifyStart = ContinuousClock.now
                let summary = try EventLog.verify(directory: dir, limits: limits)
                let verifySeconds = (ContinuousClock.now - verifyStart).seconds
                print(String(format: "round %d %@: read %.0f events/s, verify %.0f events/s", round, name,
                             Double(read) / readSeconds, Double(summary.events) / verifySeconds))
                _ = checksum
            }
        }
    }

    private func report(_ what: String, count: Int, seconds: Double) {
        print(String(format: "%@: %d events in %.3f s = %.0f events/s", what, count, seconds, Double(count) / seconds))
    }
}

/// Appends `events` generated events (seed `seed`) to `log`, 10,000 per sync.
func prefillLog(_ log: EventLog, events: Int, seed: UInt64) throws -> Int {
    var generator = HistoryGenerator(options: GeneratorOptions(users: max(1, events / 190), seed: seed, months: 12))
    var line: [UInt8] = []
    var batch: [LogEvent] = []
    var appended = 0
    while appended < events {
        line.removeAll(keepingCapacity: true)
        guard generator.nextLine(into: &line) else { break }
        batch.append(LogEvent(try Envelope.decode(line: line)))
        appended += 1
        if batch.count == 10_000 {
            try log.append(batch)
            try log.sync()
            batch.removeAll(keepingCapacity: true)
        }
    }
    if !batch.isEmpty {
        try log.append(batch)
        try log.sync()
    }
    return appended
}
