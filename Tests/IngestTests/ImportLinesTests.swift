import CareerEvents
import EventLog
import Foundation
import XCTest

@testable import Ingest

/// `careerlog log import` as the library runs it: open and recover the
/// log, dedupe, import every line, close.
final class ImportLinesTests: XCTestCase {
    final class Calls {
        var recoveries: [RecoveryReport] = []
        var rejected: [(line: Int, code: EventError.Code)] = []
    }

    func importFile(_ path: String, into directory: String, calls: Calls) throws -> ImportSummary {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        return try Importer.importLines(
            fd: fd, logDirectory: directory + "/log", logLimits: LogLimits(), dedupeWindowEvents: 1_000, validate: ServerTestSupport.validate,
            opened: { calls.recoveries.append($0) }, reject: { calls.rejected.append(($0, $1.code)) })
    }

    func testStoresNewLinesCountsDuplicatesAndRejectsBadOnes() throws {
        let directory = ServerTestSupport.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let valid = ServerTestSupport.validLines(3)
        let path = directory + "/events.ndjson"
        try ([valid[0], valid[1], "not json", "", valid[0], valid[2]].joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)

        let calls = Calls()
        var expected = ImportSummary()
        (expected.appended, expected.duplicates, expected.rejected, expected.firstSeq, expected.lastSeq) = (3, 1, 1, 1, 3)
        XCTAssertEqual(try importFile(path, into: directory, calls: calls), expected)
        XCTAssertEqual(calls.recoveries.count, 1)
        XCTAssertEqual(calls.recoveries.first?.truncations, [])
        XCTAssertEqual(calls.rejected.map(\.line), [3])
        XCTAssertEqual(calls.rejected.map(\.code), [.parse])

        // Again: every event is a duplicate now (the window is loaded from the log).
        var again = ImportSummary()
        (again.duplicates, again.rejected) = (4, 1)
        XCTAssertEqual(try importFile(path, into: directory, calls: calls), again)
        XCTAssertEqual(try EventLog.verify(directory: directory + "/log").events, 3)
    }

    func testAnInputThatCannotBeReadIsAnInputErrorAndTheLogIsClosed() throws {
        let directory = ServerTestSupport.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertThrowsError(try importFile(directory, into: directory, calls: Calls())) { error in
            XCTAssertTrue(error is ImportInputError, "\(error)")
        }
        // Closed: it opens again for writing (the lock was released).
        try EventLog.open(directory: directory + "/log").close()
    }
}
