import ArgumentParser
import CareerEvents
import EventLog
import Foundation
import Runtime
import StoredEventCodec
import SubjectKeys

/// Hidden commands used by the crash tests: they need a real child process
/// to SIGKILL.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Internal test helpers.", shouldDisplay: false,
        subcommands: [AppendLoop.self, SealExistingCrash.self])
}

/// Appends batches forever and prints `synced <seq>` after each sync, until
/// killed. The crash test kills it and checks every printed seq survived.
struct AppendLoop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "append-loop")

    @Option(help: ArgumentHelp("The log directory.", valueName: "dir")) var directory: String
    @Option(help: ArgumentHelp("Most events per append.", valueName: "count")) var batch: Int = 200
    @Option(help: ArgumentHelp("Segment size limit.", valueName: "bytes")) var segmentBytes: Int = 1 << 20
    @Option(help: ArgumentHelp("Generator seed.", valueName: "n")) var seed: UInt64 = 1

    func run() throws {
        var limits = LogLimits(segmentBytesMax: segmentBytes)
        limits.frameTargetBytes = 8 << 10
        let log = try EventLog.open(directory: directory, limits: limits)
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            return z ^ (z >> 31)
        }
        while true {
            let count = 1 + Int(next() % UInt64(batch))
            let events = (0..<count).map { _ in
                let a = next(), b = next()
                let id = UUID(uuid: withUnsafeBytes(of: (a, b)) { $0.load(as: uuid_t.self) })
                let body = "{\"n\":\(a % 1000),\"pad\":\"" + String(repeating: "x", count: Int(b % 300)) + "\"}"
                return LogEvent(id: id, subject: id, time: EventTime(seconds: 1_700_000_000 + Int64(a % 1_000_000)),
                                source: "crash-test", type: "skill.assessed", data: Array(body.utf8))
            }
            try log.append(events)
            let synced = try log.sync()
            // Unbuffered: a line on stdout is a promise the test holds us to.
            let line = "synced \(synced)\n"
            _ = line.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress!, $0.count - 1) }
        }
    }
}

/// `privacy seal-existing` that kills itself (SIGKILL) at one stage, as a
/// power cut would: the crash test checks the log is whole afterwards and
/// that the next run (or `serve`) finishes the job.
struct SealExistingCrash: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "seal-existing-crash")

    @Option(help: ArgumentHelp("The data directory.", valueName: "dir")) var dataDir: String
    @Option(help: ArgumentHelp("copying, copied or exchanged.", valueName: "stage")) var killAt: String
    @Option(help: ArgumentHelp("The EventSchemas directory.", valueName: "dir")) var schemas: String

    func run() throws {
        guard let target = ExistingLogSealStage(rawValue: killAt) else { throw ValidationError("unknown stage \(killAt)") }
        let data = DataDirectory(path: dataDir)
        let job = try ExistingLogSealing.prepare(data: data)
        let store = try KeyStore.openForWriting(keysDirectory: data.keysDirectory, masterKeyFile: nil,
                                                environment: ProcessInfo.processInfo.environment)
        let sealer = EventSealer(store: store, table: PIIPathTable(registry: try SchemaRegistry(directory: schemas)))
        _ = try job.run(sealer: sealer, stage: { stage in
            if stage == target { kill(getpid(), SIGKILL) }
        })
        throw ValidationError("finished without reaching \(killAt)")
    }
}
