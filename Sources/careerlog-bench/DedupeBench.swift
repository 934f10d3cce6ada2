import ArgumentParser
import EventLog
import Foundation
import Ingest

/// The dedupe window's memory per id and its insert and lookup rates, and
/// how long a server's start takes to load a full window (issue 15, item 4).
struct DedupeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedupe",
        abstract: "Fill a dedupe window with random ids; print bytes per id, insert and lookup rates, and the load time from a log.")

    @Option(help: ArgumentHelp("Window capacity and ids inserted.", valueName: "count")) var ids: Int = 10_000_000
    @Option(help: ArgumentHelp("Also time DedupeWindow.load from this data directory's log (e.g. one filled by `careerlog log import`).", valueName: "dir"))
    var loadFrom: String?

    func run() throws {
        var mix = SplitMix(state: 0x5EED)
        let probes = (0..<1_000_000).map { _ in mix.nextID() }
        let before = residentBytes()
        var window = DedupeWindow(capacity: ids)
        var start = ContinuousClock.now
        for seq in 1...UInt64(ids) {
            window.insert(mix.nextID(), seq: seq)
        }
        let insertSeconds = (ContinuousClock.now - start).seconds
        let bytes = residentBytes() - before
        start = ContinuousClock.now
        var found = 0
        for id in probes where window.seq(of: id) != nil { found += 1 }
        let missSeconds = (ContinuousClock.now - start).seconds
        print(String(format: "dedupe window of %d ids: %.1f bytes/id resident (%.0f MiB), insert %.0f ids/s, lookup (miss) %.0f/s, %d false hits",
                     ids, Double(bytes) / Double(ids), Double(bytes) / 1_048_576, Double(ids) / insertSeconds,
                     Double(probes.count) / missSeconds, found))
        if let loadFrom {
            let log = try EventLog.open(directory: loadFrom + "/log", mode: .readOnly)
            start = ContinuousClock.now
            let loaded = try DedupeWindow.load(from: log, capacity: ids)
            print(String(format: "load from %@: %d ids in %.2f s", loadFrom, loaded.count, (ContinuousClock.now - start).seconds))
        }
    }

    private func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// Random ids cheaply (a UUID() costs more than the window's insert).
private struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextID() -> UUID {
        let a = next(), b = next()
        return withUnsafeBytes(of: (a, b)) { UUID(uuid: $0.load(as: uuid_t.self)) }
    }
}
