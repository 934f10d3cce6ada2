import CareerEvents
import EventLog
import Foundation
import TestSupport
import XCTest

@testable import Ingest

/// The audit trail over real sockets: every event a producer writes is
/// stored with its name, across a restart, beside events of a log written
/// before producers existed (which keep none), and never on a server
/// without a producers file.
final class DoorAuditTrailTests: XCTestCase {
    private func door() throws -> IngestDoor {
        IngestDoor(tls: nil, producers: ProducerAuthorizer(registry: try DoorAuthorizerTests.registry()))
    }

    private func server(_ directory: String, door: IngestDoor? = nil) throws -> TestServer {
        let door = try door ?? self.door()
        return try TestServer(directory: directory) { $0.door = door }
    }

    /// `count` generated lines, from `offset` on, with distinct ids; with
    /// `applications`, only application.* events from source careerforge-api
    /// (what careerforge-api may write in the test registry).
    private static func lines(_ count: Int, offset: Int = 0, applications: Bool = false) -> [String] {
        let all = ServerTestSupport.validLines(3000, seed: 21)
        guard applications else { return Array(all[offset..<offset + count]) }
        let picked = all.filter { $0.contains(#""type":"application."#) }[offset..<offset + count]
        return picked.map { $0.replacingOccurrences(of: #""source":"[^"]*""#, with: #""source":"careerforge-api""#, options: .regularExpression) }
    }

    /// Authenticates with `token` (nil: none, a server without producers),
    /// sends `lines` and checks every one was stored; returns their ids.
    @discardableResult
    private func emit(_ lines: [String], to server: TestServer, token: String?, expectProducer: String? = nil,
                      file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let client = try server.connect()
        if let token {
            try client.send(#"{"auth":"\#(token)"}"# + "\n")
            XCTAssertEqual(try client.readLine(), #"{"ok":true,"producer":"\#(expectProducer ?? "")"}"#, file: file, line: line)
        }
        try client.send(lines: lines)
        let acks = try client.readAcks(lines.count)
        XCTAssertEqual(acks.filter { if case .stored = $0 { return true } else { return false } }.count, lines.count, "\(acks)", file: file, line: line)
        return lines.map(ServerTestSupport.id(of:))
    }

    /// (id, producer) of every stored event, in seq order.
    private func stored(_ directory: String) throws -> [(id: String, producer: String?)] {
        let log = try EventLog.open(directory: directory + "/log", mode: .readOnly)
        let reader = log.reader()
        var out: [(id: String, producer: String?)] = []
        while let record = try reader.next() { out.append((UUIDText.string(record.event.id), record.event.producer)) }
        return out
    }

    private func seqs(_ directory: String, producer: @escaping (String?) -> Bool) throws -> [UInt64] {
        let reader = try EventLog.open(directory: directory + "/log", mode: .readOnly).reader()
        reader.producerFilter = producer
        var seqs: [UInt64] = []
        while let record = try reader.next() { seqs.append(record.seq) }
        return seqs
    }

    func testEveryEventRecordsItsProducerAcrossARestart() throws {
        let directory = ServerTestSupport.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let door = try door()
        let first = try server(directory, door: door)
        let imported = try emit(Self.lines(40), to: first, token: DoorAuthorizerTests.importToken, expectProducer: "nightly-import")
        let api = try emit(Self.lines(5, applications: true), to: first, token: DoorAuthorizerTests.apiToken, expectProducer: "careerforge-api")
        first.stop()

        let second = try server(directory, door: door)
        let apiAfter = try emit(Self.lines(5, offset: 5, applications: true), to: second, token: DoorAuthorizerTests.apiToken,
                                expectProducer: "careerforge-api")
        let importedAfter = try emit(Self.lines(10, offset: 100), to: second, token: DoorAuthorizerTests.importToken,
                                     expectProducer: "nightly-import")
        second.stop()

        let events = try stored(directory)
        XCTAssertEqual(events.map(\.id), imported + api + apiAfter + importedAfter)
        XCTAssertEqual(events.map(\.producer), Array(repeating: "nightly-import", count: 40) + Array(repeating: "careerforge-api", count: 10)
            + Array(repeating: "nightly-import", count: 10))
        XCTAssertEqual(try seqs(directory, producer: { $0 == "careerforge-api" }), Array(41...50))
        XCTAssertEqual(try seqs(directory, producer: { $0 == nil }), [])
        XCTAssertEqual(try EventLog.verify(directory: directory + "/log").events, 60)
    }

    func testALineCannotNameItsOwnProducer() throws {
        let directory = ServerTestSupport.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try server(directory)
        let lines = Self.lines(2)
        let spoofed = ServerTestSupport.modified(lines[0]) { $0["producer"] = .string("careerforge-api") }
        let client = try server.connect()
        try client.send(#"{"auth":"\#(DoorAuthorizerTests.importToken)"}"# + "\n")
        XCTAssertEqual(try client.readLine(), #"{"ok":true,"producer":"nightly-import"}"#)
        try client.send(lines: [spoofed, lines[1]])
        guard case .rejected(_, 2, let error, let message) = try client.readAck() else { return XCTFail("the spoofed line was not rejected") }
        XCTAssertEqual(error, "schema", "breaks the envelope")
        XCTAssertTrue(message.contains("is not an envelope attribute"), message)
        XCTAssertEqual(try client.readAck().seq, 1)
        server.stop()
        XCTAssertEqual(try stored(directory).map(\.producer), ["nightly-import"], "the producer is the connection's, never the line's")
    }

    func testWithoutAProducersFileNoProducerIsRecorded() throws {
        let directory = ServerTestSupport.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let open = try TestServer(directory: directory)
        try emit(Self.lines(12), to: open, token: nil)
        open.stop()
        XCTAssertEqual(try stored(directory).map(\.producer), Array(repeating: nil, count: 12))
        // Written exactly as before producers existed: version 1 frames only.
        let segment = [UInt8](FileManager.default.contents(atPath: directory + "/log/00000000000000000001.seg")!)
        XCTAssertEqual(segment[32 + 4], 1, "frame version")
    }

    func testALogWrittenBeforeProducersKeepsItsEventsWithoutOne() throws {
        let directory = ServerTestSupport.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let golden = ServerTestSupport.packageRoot + "/Tests/EventLogTests/Golden"
        try FileManager.default.createDirectory(atPath: directory + "/log", withIntermediateDirectories: true)
        for name in ["00000000000000000001.seg", "00000000000000000001.idx", "DURABLE"] {
            try FileManager.default.copyItem(atPath: golden + "/" + name, toPath: directory + "/log/" + name)
        }
        let server = try server(directory)
        let written = try emit(Self.lines(6), to: server, token: DoorAuthorizerTests.importToken, expectProducer: "nightly-import")
        server.stop()

        let events = try stored(directory)
        XCTAssertEqual(events.count, 14)
        XCTAssertEqual(Array(events.map(\.id)[8...]), written)
        XCTAssertEqual(events.map(\.producer), Array(repeating: nil, count: 8) + Array(repeating: "nightly-import", count: 6))
        XCTAssertEqual(try seqs(directory, producer: { $0 == "nightly-import" }), Array(9...14))
        XCTAssertEqual(try seqs(directory, producer: { $0 == nil }), Array(1...8))
        XCTAssertEqual(try EventLog.verify(directory: directory + "/log").events, 14)
    }
}
