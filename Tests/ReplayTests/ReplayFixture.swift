import CareerEvents
import EventLog
import Foundation
import StoredEventCodec
import Replay
import Synchronization
import TestSupport
import XCTest

/// A fresh temporary directory per test.
/// The project's EventSchemas folder (three levels up from this file).
let schemaDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/EventSchemas"

/// A clock the test sets, so every frame's recorded time is chosen.
final class TestClock: Sendable {
    let now = Atomic<Int64>(0)
}

/// µs since the epoch of an RFC 3339 text or a date (test shorthand).
func us(_ text: String) -> Int64 {
    try! ReplayFilter.parseTime(text, option: "test")
}

enum Subject {
    static let a = UUID(uuidString: "AAAAAAAA-0000-4000-8000-000000000001")!
    static let b = UUID(uuidString: "BBBBBBBB-0000-4000-8000-000000000002")!
    static let c = UUID(uuidString: "CCCCCCCC-0000-4000-8000-000000000003")!
}

/// The hand-built log every filter test reads: 12 events in 5 frames (one
/// append per frame), chosen so each filter keeps a known set of seqs.
///
///     frame  recorded     seq  type                  subject  source   time (as written)
///     1      2025-01-10   1    application.sent      A        forge    2025-01-05T10:00:00Z
///                         2    application.advanced  A        forge    2025-01-06T01:00:00+02:00  (= 01-05 23:00Z)
///                         3    skill.assessed        B        hub      2025-01-31T23:59:59.999999Z
///     2      2025-02-10   4    application.sent      B        forge    2025-02-01T00:00:00Z
///                         5    placement.recorded    A        forge    2025-02-14T09:00:00-05:00  (= 14:00Z)
///                         6    skill.assessed        C        hub      2024-12-31T23:00:00Z       (late)
///     3      2025-03-10   7    application.sent      C        hub      2025-03-01T08:00:00Z
///                         8    application.advanced  B        forge    2025-03-02T08:00:00Z
///     4      2025-04-10   9    user.registered       C        forge    2025-04-01T00:00:00Z
///                         10   skill.assessed        A        forge    2025-04-02T00:00:00Z
///     5      2025-05-10   11   application.sent      A        hub      2025-05-01T00:00:00Z
///                         12   mentorship.started    B        forge    2025-05-20T00:00:00Z
///
/// Frames' event-time ranges: 1 [01-05, 01-31], 2 [2024-12-31, 02-14],
/// 3 [03-01, 03-02], 4 [04-01, 04-02], 5 [05-01, 05-20].
enum Fixture {
    static let forge = "careerforge-api"
    static let hub = "talenthub-api"
    static let recorded = ["2025-01-10", "2025-02-10", "2025-03-10", "2025-04-10", "2025-05-10"].map { us($0) }

    struct Row {
        var type: String
        var subject: UUID
        var source: String
        var time: String
        var data: String
    }

    static let frames: [[Row]] = [
        [
            Row(type: "application.sent", subject: Subject.a, source: forge, time: "2025-01-05T10:00:00Z",
                data: #"{"application_id":"11111111-1111-4111-8111-111111111111","company":"Acme, Inc.","position":"Senior \"Staff\" Engineer","channel":"referral"}"#),
            Row(type: "application.advanced", subject: Subject.a, source: forge, time: "2025-01-06T01:00:00+02:00",
                data: #"{"application_id":"11111111-1111-4111-8111-111111111111","stage":"interview"}"#),
            Row(type: "skill.assessed", subject: Subject.b, source: hub, time: "2025-01-31T23:59:59.999999Z",
                data: #"{"skill":"Swift","category":"technical","level":"advanced","score":88.5,"source":"assessment","verified":true}"#),
        ],
        [
            Row(type: "application.sent", subject: Subject.b, source: forge, time: "2025-02-01T00:00:00Z",
                data: #"{"application_id":"22222222-2222-4222-8222-222222222222","company":"Łódź Tech 株式会社","position":"Data\nEngineer"}"#),
            Row(type: "placement.recorded", subject: Subject.a, source: forge, time: "2025-02-14T09:00:00-05:00",
                data: #"{"application_id":"11111111-1111-4111-8111-111111111111","company":"Acme, Inc.","role":"Staff Engineer","salary":{"amount":185000.50,"currency":"USD"},"employment_type":"full-time","start_date":"2025-03-01"}"#),
            Row(type: "skill.assessed", subject: Subject.c, source: hub, time: "2024-12-31T23:00:00Z",
                data: #"{"skill":"SQL","category":"technical","level":"beginner","source":"cv"}"#),
        ],
        [
            Row(type: "application.sent", subject: Subject.c, source: hub, time: "2025-03-01T08:00:00Z",
                data: #"{"application_id":"33333333-3333-4333-8333-333333333333","company":"Globex","position":"Analyst"}"#),
            Row(type: "application.advanced", subject: Subject.b, source: forge, time: "2025-03-02T08:00:00Z",
                data: #"{"application_id":"22222222-2222-4222-8222-222222222222","stage":"offer"}"#),
        ],
        [
            Row(type: "user.registered", subject: Subject.c, source: forge, time: "2025-04-01T00:00:00Z",
                data: #"{"email":"zoe@example.org","first_name":"Zoë","last_name":"O'Brien","location":{"city":"São Paulo","country":"BR"},"platform":"careerforge"}"#),
            Row(type: "skill.assessed", subject: Subject.a, source: forge, time: "2025-04-02T00:00:00Z",
                data: #"{"skill":"Go","category":"technical","level":"intermediate","source":"manual"}"#),
        ],
        [
            Row(type: "application.sent", subject: Subject.a, source: hub, time: "2025-05-01T00:00:00Z",
                data: #"{"application_id":"44444444-4444-4444-8444-444444444444","company":"Initech","position":"Lead"}"#),
            Row(type: "mentorship.started", subject: Subject.b, source: forge, time: "2025-05-20T00:00:00Z",
                data: #"{"mentorship_id":"55555555-5555-4555-8555-555555555555","mentor_id":"66666666-6666-4666-8666-666666666666","goals":["system design","negotiation, salary"]}"#),
        ],
    ]

    /// Writes the fixture log into a new directory and returns it.
    static func write(_ name: String = #function) throws -> String {
        let directory = makeTemporaryDirectory(name)
        let clock = TestClock()
        let log = try EventLog.open(directory: directory, clock: { clock.now.load(ordering: .relaxed) })
        var n: UInt64 = 0
        for (frame, rows) in frames.enumerated() {
            clock.now.store(recorded[frame], ordering: .relaxed)
            try log.append(rows.map { row in
                n += 1
                return LogEvent(id: eventID(n), subject: row.subject, time: EventTime(Timestamp(rfc3339: row.time)!),
                                source: row.source, type: row.type, data: Array(row.data.utf8))
            })
            try log.sync()
        }
        try log.close()
        return directory
    }

    /// Event ids are predictable: seq n has id 00000000-0000-4000-8000-<n>.
    static func eventID(_ n: UInt64) -> UUID {
        UUID(uuidString: "00000000-0000-4000-8000-" + String(format: "%012llu", n))!
    }
}

/// The seqs a replay returns, and how many frames it read.
struct ReplayResult: Equatable {
    var seqs: [UInt64]
    var framesRead: Int
}

func replay(_ directory: String, _ filter: ReplayFilter) throws -> ReplayResult {
    let log = try EventLog.open(directory: directory, mode: .readOnly)
    let scan = ReplayScan(log: log, filter: filter)
    var seqs: [UInt64] = []
    while let record = try scan.next() { seqs.append(record.seq) }
    return ReplayResult(seqs: seqs, framesRead: scan.framesRead)
}

func replaySeqs(_ directory: String, _ filter: ReplayFilter) throws -> [UInt64] {
    try replay(directory, filter).seqs
}

/// Shows records as stored: no key store, and the fixtures hold no sealed data.
let asStoredOpener = RecordOpener(mode: .include(nil), table: PIIPathTable(registry: try! SchemaRegistry(directory: schemaDirectory)))
