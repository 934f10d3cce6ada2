import Foundation
import XCTest

@testable import EventLog

/// A fresh temporary directory per test, removed afterwards.
func makeTemporaryDirectory(_ name: String = #function) -> String {
    let base = FileManager.default.temporaryDirectory.path
    let clean = name.filter { $0.isLetter || $0.isNumber }
    let path = "\(base)/careerlog-test-\(clean)-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A small deterministic PRNG (SplitMix64) so failures reproduce.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
    mutating func uuid() -> UUID {
        let a = next(), b = next()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: a >> (8 * UInt64(i))) }
        for i in 0..<8 { bytes[8 + i] = UInt8(truncatingIfNeeded: b >> (8 * UInt64(i))) }
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}

let sampleTypes = [
    "user.registered", "skill.assessed", "learning.progressed", "application.sent",
    "mentorship.session_held", "placement.recorded", "roadmap.created",
]

/// Events with varied sizes, types, times and JSON bodies.
func makeEvents(_ count: Int, seed: UInt64 = 1, dataBytes: ClosedRange<Int> = 20...400) -> [LogEvent] {
    var random = TestRandom(seed: seed)
    return (0..<count).map { i in
        let size = random.int(dataBytes)
        var text = "{\"n\":\(i),\"note\":\""
        while text.utf8.count < size - 2 { text += ["skill ", "Swift ", "ünïcode ", "mentor ", "42 "][random.int(0...4)] }
        text += "\"}"
        return LogEvent(
            id: random.uuid(), subject: random.uuid(),
            time: EventTime(seconds: 1_700_000_000 + Int64(i) * 60, nanoseconds: UInt32(random.int(0...999)) * 1_000_000,
                            offsetMinutes: Int16(random.int(-12...14) * 60), fractionDigits: 3),
            source: "careerforge-api", type: sampleTypes[random.int(0...sampleTypes.count - 1)],
            dataVersion: 1, data: Array(text.utf8))
    }
}

func readAll(_ log: EventLog, from seq: UInt64 = 1) throws -> [EventRecord] {
    let reader = log.reader(fromSeq: seq)
    var out: [EventRecord] = []
    while let record = try reader.next() { out.append(record) }
    return out
}

func segmentFiles(_ directory: String) -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted()) ?? []
}

func fileBytes(_ path: String) -> [UInt8] {
    [UInt8](FileManager.default.contents(atPath: path)!)
}

func writeBytes(_ bytes: [UInt8], _ path: String) {
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// A settable clock for `EventLog.open(clock:)`.
final class TestClock: @unchecked Sendable {
    var now: Int64
    init(_ now: Int64) { self.now = now }
    var function: @Sendable () -> Int64 { { self.now } }
}
