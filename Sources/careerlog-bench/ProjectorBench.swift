import ArgumentParser
import CareerEvents
import EventGenerator
import EventLog
import Foundation
import StoredEventCodec
import Logging
import struct EventLog.LogEvent
import Postgres
import Projector
import Runtime

/// Live lag of the read models under a steady ingest rate: events are
/// appended (and synced) at `--rate` per second while the projector runs;
/// every 50 ms the lag is sampled as the age of the oldest event not yet in
/// every projection (0 when caught up).
struct ProjectorBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projector", abstract: "Read-model lag at a steady ingest rate (in-process log, real PostgreSQL).")

    @Option(help: ArgumentHelp("Events per second appended.", valueName: "per-second")) var rate: Int = 20_000
    @Option(help: ArgumentHelp("How long to append, in seconds.", valueName: "seconds")) var seconds: Int = 30
    @Option(help: ArgumentHelp("Generator seed.", valueName: "n")) var seed: UInt64 = 1
    @Option(help: ArgumentHelp("The benchmark's data directory (its log is removed first; its private PostgreSQL is reused).", valueName: "dir"))
    var directory: String = "./.careerlog-bench/projector"
    @Option(help: ArgumentHelp("Connections the projector applies a batch over (default: as serve does).", valueName: "count"))
    var connections: Int = Projector.Options().connections
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var projections: ProjectionOptions

    func run() throws {
        let total = rate * seconds
        var generator = HistoryGenerator(options: GeneratorOptions(users: max(1, total / 190), seed: seed, months: 12))
        var input: [LogEvent] = []
        input.reserveCapacity(total)
        while input.count < total, let value = generator.next() { input.append(LogEvent(try Envelope(json: value))) }
        print("input: \(input.count) events")
        let events = input

        let logDirectory = directory + "/log"
        try? FileManager.default.removeItem(atPath: logDirectory)
        let url = try database.connectionURL(dataDirectory: directory)
        let catalog = try projections.catalog()
        let admin = try PostgresConnection(url: url)
        for definition in catalog.definitions {
            try admin.execute("DROP SCHEMA IF EXISTS \"\(definition.name)\" CASCADE")
        }
        try admin.execute("DROP SCHEMA IF EXISTS careerlog CASCADE")
        let log = try EventLog.open(directory: logDirectory)
        var logger = Logger(label: "careerlog.bench")
        logger.logLevel = .warning
        var options = Projector.Options()
        options.connections = max(1, connections)
        let projector = Projector(url: url, log: log, catalog: catalog, logger: logger, options: options)
        try projector.ensureLiveTargets()
        let stop = StopSignal()
        let projectorDone = DispatchGroup()
        projectorDone.enter()
        Thread {
            projector.run(shouldStop: { stop.isRequested })
            projectorDone.leave()
        }.start()

        // Appender: a batch every 10 ms keeps the rate steady.
        let tick = 0.010
        let perTick = max(1, Int(Double(rate) * tick))
        let appender = Thread {
            let start = Date()
            var i = 0
            var k = 0
            while i < events.count {
                let end = min(i + perTick, events.count)
                try! log.append(Array(events[i..<end]))
                try! log.sync()
                i = end
                k += 1
                let wait = start.addingTimeInterval(Double(k) * tick).timeIntervalSinceNow
                if wait > 0 { usleep(useconds_t(wait * 1e6)) }
            }
        }
        appender.start()

        var samples: [Double] = []
        let sampler = try PostgresConnection(url: url)
        var caughtUpAfterEnd = false
        while !caughtUpAfterEnd {
            usleep(50_000)
            let checkpoint = try ProjectionStore.liveCheckpointMin(sampler)
            let head = log.lastSeq
            if checkpoint >= head {
                samples.append(0)
                if appender.isFinished { caughtUpAfterEnd = true }
            } else if let oldest = try log.reader(fromSeq: checkpoint + 1).next() {
                samples.append(Double(EventLog.systemClock() - oldest.recorded) / 1e6)
            }
        }
        stop.request()
        projectorDone.wait()
        try log.close()
        let sorted = samples.sorted()
        func p(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * q))] }
        print(String(format: "lag over %d samples (every 50 ms): p50 %.3f s, p99 %.3f s, max %.3f s", sorted.count, p(0.5), p(0.99), sorted.last ?? 0))
    }
}
