import EventLog
import Foundation
import Replay
import StoredEventCodec
import XCTest

/// What `careerlog replay` prints, written by the library through an
/// `OutputBuffer` into a file, for each kind of output.
final class ReplayOutputTests: XCTestCase {
    let columns = try! DataColumns.load(directory: schemaDirectory)

    /// Runs a replay of `filter` into `output`; returns what was written.
    func replay(_ filter: ReplayFilter, _ output: ReplayOutput, in directory: String) throws -> String {
        let path = directory + "/out"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let scan = ReplayScan(log: try EventLog.open(directory: directory, mode: .readOnly), filter: filter)
        try ReplaySession(scan: scan, follow: false).write(output, opener: { asStoredOpener }, to: OutputBuffer(fd: fd, flushBytes: 64))
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    /// The records of seqs `seqs`, each as `RecordJSON` writes it.
    func expectedNDJSON(_ directory: String, seqs: Set<UInt64>) throws -> String {
        let reader = try EventLog.open(directory: directory, mode: .readOnly).reader(fromSeq: 1)
        var bytes: [UInt8] = []
        while let record = try reader.next() {
            if seqs.contains(record.seq) { RecordJSON.appendLine(record, to: &bytes) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func testNDJSONHoldsExactlyTheMatchingEventsAsStored() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let written = try replay(try ReplayFilter(types: ["application.*"]), .ndjson, in: directory)
        XCTAssertEqual(written.split(separator: "\n").count, 6)
        XCTAssertEqual(written, try expectedNDJSON(directory, seqs: [1, 2, 4, 7, 8, 11]))
    }

    func testCSVToOneOutputRefusesASecondType() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sent = try replay(try ReplayFilter(types: ["application.sent"]), .csv(type: "application.sent", columns: columns), in: directory)
        XCTAssertEqual(sent.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count, 5, "a header and four rows:\n\(sent)")
        XCTAssertTrue(sent.hasPrefix(CSVTable.envelopeColumns.joined(separator: ",")), sent)

        XCTAssertThrowsError(try replay(try ReplayFilter(types: ["application.*"]), .csv(type: "application.sent", columns: columns), in: directory)) { error in
            XCTAssertEqual((error as? ReplayError)?.message,
                           "event seq 2 is a application.advanced, not a application.sent: --type matches more than one type; use --out DIR")
        }
    }

    func testCSVDirectoryEndsWithTheFilesAndTheirRows() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/csv"
        let written = try replay(try ReplayFilter(types: ["application.*", "user.erased"]),
                                 .csvDirectory(out, columns: columns, named: ["user.erased"]), in: directory)
        XCTAssertEqual(written, #"{"directory":"\#(out)","rows":6,"files":{"application.advanced.csv":2,"application.sent.csv":4,"user.erased.csv":0}}"# + "\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(),
                       ["application.advanced.csv", "application.sent.csv", "user.erased.csv"])
    }

    func testStatsCountTheMatchingEvents() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let written = try replay(try ReplayFilter(types: ["skill.assessed"]), .stats(.month, json: true), in: directory)
        var expected = ReplayStats(period: .month)
        let reader = try EventLog.open(directory: directory, mode: .readOnly).reader(fromSeq: 1)
        while let record = try reader.next() {
            if record.event.type == "skill.assessed" { try expected.add(record) }
        }
        XCTAssertEqual(expected.events, 3)
        XCTAssertEqual(written, expected.json() + "\n")
        XCTAssertEqual(try replay(try ReplayFilter(types: ["skill.assessed"]), .stats(.month, json: false), in: directory), expected.table())
    }

    func testAClosedPipeIsOutputClosed() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        close(ends[0])
        defer { close(ends[1]) }
        let out = OutputBuffer(fd: ends[1])
        try out.write("nobody reads this\n")
        XCTAssertThrowsError(try out.flush()) { error in
            XCTAssertTrue(error is OutputBuffer.OutputClosed, "\(error)")
        }
    }

    /// `careerlog replay`'s run: the plan first, the amount read last, the
    /// events in between; a closed output ends it quietly, without the
    /// amount read; a second type in one CSV is a `ReplayError`.
    func testReplayTellsThePlanAndWhatWasRead() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try EventLog.open(directory: directory, mode: .readOnly)
        let filter = try ReplayFilter(types: ["application.*"])
        let path = directory + "/out"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var notes: [String] = []
        try ReplaySession.replay(log: log, filter: filter, follow: false, progressOnTerminal: false, explain: { notes.append($0) },
                                 output: { .ndjson }, opener: { asStoredOpener }, to: OutputBuffer(fd: fd, flushBytes: 64))
        close(fd)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), try expectedNDJSON(directory, seqs: [1, 2, 4, 7, 8, 11]))
        XCTAssertEqual(notes.count, 2, "\(notes)")
        XCTAssertEqual(notes.first, ReplayScan(log: log, filter: filter).plan.description)
        XCTAssertTrue(notes.last?.hasSuffix("events; 6 matched") == true, "\(notes)")

        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        close(ends[0])
        defer { close(ends[1]) }
        notes = []
        try ReplaySession.replay(log: log, filter: filter, follow: false, progressOnTerminal: false, explain: { notes.append($0) },
                                 output: { .ndjson }, opener: { asStoredOpener }, to: OutputBuffer(fd: ends[1], flushBytes: 64))
        XCTAssertEqual(notes.count, 1, "a closed output tells no amount read: \(notes)")

        XCTAssertThrowsError(try ReplaySession.replay(
            log: log, filter: filter, follow: false, progressOnTerminal: false, explain: nil,
            output: { .csv(type: "application.sent", columns: self.columns) }, opener: { asStoredOpener }, to: OutputBuffer(fd: ends[1]))) { error in
            XCTAssertTrue(error is ReplayError, "\(error)")
        }
    }
}
