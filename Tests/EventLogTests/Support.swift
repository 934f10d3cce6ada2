import Foundation
import TestSupport
import XCTest

@testable import EventLog

let sampleTypes = [
    "user.registered", "skill.assessed", "learning.progressed", "application.sent",
    "mentorship.session_held", "placement.recorded", "roadmap.created",
]

/// Events with varied sizes, types, times and JSON bodies.
func makeEvents(_ count: Int, seed: UInt64 = 1, dataBytes: ClosedRange<Int> = 20...400) -> [LogEvent] {
    var random = SplitMix(seed: seed)
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

/// Events whose `data` names other entities by UUID, as career events do:
/// lowercase canonical UUIDs (packed by recompression), some repeated, and
/// an uppercase one now and then (left as text).
func makeEventsWithUUIDs(_ count: Int, seed: UInt64) -> [LogEvent] {
    var random = SplitMix(seed: seed)
    let roadmaps = (0..<20).map { _ in random.uuid() }
    return (0..<count).map { i in
        let task = random.uuid().uuidString.lowercased()
        let roadmap = roadmaps[random.int(0...roadmaps.count - 1)].uuidString.lowercased()
        let other = random.int(0...9) == 0 ? random.uuid().uuidString : random.uuid().uuidString.lowercased()
        let text = "{\"task_id\":\"\(task)\",\"roadmap_id\":\"\(roadmap)\",\"mentor_id\":\"\(other)\",\"n\":\(i),\"status\":\"completed\"}"
        return LogEvent(
            id: random.uuid(), subject: random.uuid(),
            time: EventTime(seconds: 1_700_000_000 + Int64(i) * 60, nanoseconds: UInt32(random.int(0...999)) * 1_000_000,
                            offsetMinutes: 0, fractionDigits: 3),
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
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// A settable clock for `EventLog.open(clock:)`.
final class TestClock: @unchecked Sendable {
    var now: Int64
    init(_ now: Int64) { self.now = now }
    var function: @Sendable () -> Int64 { { self.now } }
}
