import CareerEvents
import Foundation
import TestSupport
import XCTest

@testable import EventLog
@testable import Ingest

/// The server after write failures: nothing unsafe acknowledged, every "not
/// stored" answer true, and writes resume by themselves once the cause is
/// gone (a full disk freed, a failed sync undone and checked).
final class IngestServerHealingTests: XCTestCase {
    private typealias Support = ServerTestSupport

    override func tearDown() {
        FaultInjection.disarm()
        super.tearDown()
    }

    /// Retries quickly so a test sees the appender heal within a second.
    private var quickRetryLimits: IngestLimits {
        var limits = IngestLimits()
        limits.writeRetryDelayMinMs = 20
        limits.writeRetryDelayMaxMs = 200
        return limits
    }

    func testDiskFullAnswersUnavailableThenHealsOnceSpaceIsFreed() throws {
        let mountPoint = Support.makeDirectory()
        try TemporaryFilesystem.mount(at: mountPoint, bytes: 4 << 20)
        defer { TemporaryFilesystem.unmount(mountPoint) }
        let server = try TestServer(directory: mountPoint, limits: quickRetryLimits, logLimits: LogLimits(segmentBytesMax: 64 << 10))
        defer { server.stop() }
        let lines = Support.validLines(4000, seed: 31)
        var ledger = AnswerLedger(lines: lines)
        let client = try server.connect()

        // 1. Room on the disk: everything is stored.
        try ledger.send(Array(0..<200), through: client)
        XCTAssertEqual(ledger.acked.count, 200)

        // 2. The disk fills up: events are answered unavailable and none of them is in the log.
        let filler = try TemporaryFilesystem.fill(mountPoint + "/filler")
        var next = 200
        while ledger.unavailable.isEmpty, next < 1200 {
            try ledger.send(Array(next..<next + 100), through: client)
            next += 100
        }
        XCTAssertFalse(ledger.unavailable.isEmpty, "a full disk was never noticed")
        guard case .retrying = server.server.appenderHealth else { return XCTFail("health: \(server.server.appenderHealth)") }
        XCTAssertTrue(Set(try server.storedIDs()).isDisjoint(with: ledger.unavailable.map { Support.id(of: lines[$0]) }),
                      "an event answered unavailable is in the log")

        // 3. Space is freed: the same connection's resends are stored, no restart.
        XCTAssertEqual(unlink(filler), 0)
        let deadline = ContinuousClock.now + .seconds(20)
        while !ledger.pending.isEmpty, ContinuousClock.now < deadline {
            try ledger.send(Array(ledger.pending.sorted().prefix(200)), through: client)
        }
        XCTAssertEqual(ledger.pending, [], "events still not stored after space was freed")
        XCTAssertEqual(server.server.appenderHealth, .healthy)

        // 4. A clean stop (what makes `serve` exit 0), and the log holds every acked event once.
        server.server.shutdown()
        XCTAssertNoThrow(try server.log.close())
        let reopened = try EventLog.open(directory: mountPoint + "/log", mode: .readOnly)
        var stored: [UInt64: String] = [:]
        let reader = reopened.reader(fromSeq: 1)
        while let record = try reader.next() {
            XCTAssertNil(stored.updateValue(UUIDText.string(record.event.id), forKey: record.seq))
        }
        XCTAssertEqual(stored.count, Set(stored.values).count, "an event is stored twice")
        XCTAssertEqual(stored.count, ledger.acked.count)
        for (id, seq) in ledger.acked { XCTAssertEqual(stored[seq], id, "seq \(seq)") }
    }

    func testAFailedRollKeepsWhatItMadeDurableAndAnswersItStored() throws {
        let server = try TestServer(limits: quickRetryLimits, logLimits: LogLimits(segmentBytesMax: 8 << 10))
        defer { server.stop() }
        let lines = Support.validLines(400, seed: 32)
        let client = try server.connect()
        server.appender.suspendForTesting()
        try client.send(lines: Array(lines.prefix(300)))
        waitUntil("300 events are queued") { server.appender.queuedEventCount == 300 }
        // The roll syncs the first segment, then cannot open its index file
        // (as with every descriptor taken).
        FaultInjection.arm(.open, errno: EMFILE)
        server.appender.resumeForTesting()
        let acks = try client.readAcks(300)
        let storedIDs = acks.compactMap { ack -> String? in if case .stored(let id, _) = ack { id } else { nil } }
        let unavailable = acks.filter { if case .rejected(_, _, "unavailable", _) = $0 { true } else { false } }
        XCTAssertGreaterThan(storedIDs.count, 0, "the events the roll made durable are answered stored")
        XCTAssertEqual(storedIDs.count + unavailable.count, 300)
        XCTAssertEqual(storedIDs, lines.prefix(storedIDs.count).map(Support.id(of:)))
        XCTAssertEqual(try server.storedIDs(), storedIDs, "the log holds exactly the events answered stored")

        // The next attempt rolls and stores the rest, seqs continuing.
        var ledger = AnswerLedger(lines: lines)
        for i in 0..<storedIDs.count { ledger.acked[storedIDs[i]] = UInt64(i + 1) }
        let deadline = ContinuousClock.now + .seconds(10)
        var rest = Array(storedIDs.count..<400)
        while !rest.isEmpty, ContinuousClock.now < deadline {
            try ledger.send(rest, through: client)
            rest = rest.filter { ledger.acked[Support.id(of: lines[$0])] == nil }
        }
        XCTAssertEqual(rest, [])
        XCTAssertEqual(try server.storedIDs(), lines.map(Support.id(of:)))
        XCTAssertGreaterThan(try server.log.statistics().segments, 2)
    }

    func testAFailedSyncIsNeverRetriedItsFramesAreCutAndWritesResumeAfterAReadBack() throws {
        let server = try TestServer(limits: quickRetryLimits)
        defer { server.stop() }
        let lines = Support.validLines(20, seed: 33)
        let client = try server.connect()
        try client.send(lines: Array(lines.prefix(10)))
        XCTAssertEqual(try client.readAcks(10).map(\.seq), (1...10).map { UInt64($0) })
        let segment = server.directory + "/log/" + SegmentName.fileName(baseSeq: 1)
        let durableSize = try fileSize(segment)

        FaultInjection.arm(.fdatasync, errno: EIO)
        try client.send(lines: Array(lines[10..<20]))
        for (i, ack) in try client.readAcks(10).enumerated() {
            XCTAssertEqual(ack, .rejected(id: Support.id(of: lines[10 + i]), line: 11 + i, error: "unavailable",
                                          message: "the event log cannot be written; the event was not stored, send it again later"))
        }
        guard case .retrying(let error) = server.server.appenderHealth else { return XCTFail("\(server.server.appenderHealth)") }
        XCTAssertTrue(error.contains("fdatasync"), error)
        XCTAssertEqual(try fileSize(segment), durableSize, "the frames whose sync failed are cut")
        XCTAssertEqual(server.log.lastSeq, 10)

        var ledger = AnswerLedger(lines: lines)
        let deadline = ContinuousClock.now + .seconds(10)
        while ledger.acked.count < 10, ContinuousClock.now < deadline { try ledger.send(Array(10..<20), through: client) }
        XCTAssertEqual(ledger.acked.values.sorted(), (11...20).map { UInt64($0) }, "seqs continue without a gap")
        XCTAssertEqual(try server.storedIDs(), lines.map(Support.id(of:)))
        XCTAssertEqual(server.server.appenderHealth, .healthy)
    }

    func testAFailedSyncOverDamagedDurableBytesStopsTheAppenderWithAClearMessage() throws {
        let server = try TestServer(limits: quickRetryLimits)
        defer { server.stop() }
        let lines = Support.validLines(12, seed: 34)
        let client = try server.connect()
        try client.send(lines: Array(lines.prefix(10)))
        XCTAssertEqual(try client.readAcks(10).map(\.seq), (1...10).map { UInt64($0) })
        // Bytes that were synced no longer read back as written.
        let segment = server.directory + "/log/" + SegmentName.fileName(baseSeq: 1)
        let fd = open(segment, O_RDWR)
        var byte: UInt8 = 0
        XCTAssertEqual(pread(fd, &byte, 1, 100), 1)
        byte ^= 0xFF
        XCTAssertEqual(pwrite(fd, &byte, 1, 100), 1)
        close(fd)

        FaultInjection.arm(.fdatasync, errno: EIO)
        try client.send(lines: [lines[10]])
        guard case .rejected(_, 11, "unavailable", _) = try client.readAck() else { return XCTFail("line 11") }
        guard case .failed(let error) = server.server.appenderHealth else { return XCTFail("\(server.server.appenderHealth)") }
        XCTAssertTrue(error.contains("does not read back"), error)
        try client.send(lines: [lines[11]])
        guard case .rejected(_, 12, "unavailable", _) = try client.readAck() else { return XCTFail("line 12") }
        server.server.shutdown()
        XCTAssertThrowsError(try server.log.close(), "closing must report that the log is not in a known state")
    }

    private func fileSize(_ path: String) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? -1
    }
}

/// Which lines were answered how, for tests that resend until stored.
struct AnswerLedger {
    let lines: [String]
    /// Stored or duplicate: id -> seq.
    var acked: [String: UInt64] = [:]
    /// Line indexes last answered unavailable or overloaded and not acked since.
    var pending: Set<Int> = []
    /// Every line index ever answered unavailable.
    var unavailable: Set<Int> = []

    init(lines: [String]) { self.lines = lines }

    mutating func send(_ indexes: [Int], through client: LineClient, file: StaticString = #filePath, line: UInt = #line) throws {
        guard !indexes.isEmpty else { return }
        try client.send(lines: indexes.map { lines[$0] })
        for (i, ack) in zip(indexes, try client.readAcks(indexes.count)) {
            switch ack {
            case .stored(let id, let seq), .duplicate(let id, let seq):
                if let earlier = acked[id] { XCTAssertEqual(earlier, seq, "one id, two seqs", file: file, line: line) }
                acked[id] = seq
                pending.remove(i)
            case .rejected(_, _, "unavailable", _):
                unavailable.insert(i)
                pending.insert(i)
            case .rejected(_, _, "overloaded", _):
                pending.insert(i)
            default:
                XCTFail("line \(i): \(ack)", file: file, line: line)
            }
        }
    }
}
