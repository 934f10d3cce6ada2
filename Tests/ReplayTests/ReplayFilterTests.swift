import EventLog
import Replay
import XCTest

/// Every filter, alone and combined, against the fixture's hand-computed
/// seqs (see `Fixture` for the table the expectations come from).
final class ReplayFilterTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try Fixture.write(name)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func seqs(
        fromSeq: UInt64? = nil, toSeq: UInt64? = nil, since: String? = nil, until: String? = nil,
        recordedSince: String? = nil, recordedUntil: String? = nil,
        types: [String] = [], subjects: [String] = [], sources: [String] = []
    ) throws -> [UInt64] {
        let filter = try ReplayFilter(
            fromSeq: fromSeq, toSeq: toSeq, since: since, until: until, recordedSince: recordedSince,
            recordedUntil: recordedUntil, types: types, subjects: subjects, sources: sources)
        return try replaySeqs(directory, filter)
    }

    func testNoFilterReturnsEverythingInOrder() throws {
        XCTAssertEqual(try seqs(), Array(1...12))
    }

    func testSeqRangeIsInclusive() throws {
        XCTAssertEqual(try seqs(fromSeq: 4, toSeq: 8), [4, 5, 6, 7, 8])
        XCTAssertEqual(try seqs(fromSeq: 11), [11, 12])
        XCTAssertEqual(try seqs(toSeq: 2), [1, 2])
        XCTAssertEqual(try seqs(fromSeq: 12, toSeq: 12), [12])
        XCTAssertEqual(try seqs(fromSeq: 13), [])
        XCTAssertEqual(try seqs(fromSeq: 5, toSeq: 4), [])
    }

    func testSinceIsInclusiveUntilIsExclusive() throws {
        XCTAssertEqual(try seqs(since: "2025-04-01"), [9, 10, 11, 12])
        XCTAssertEqual(try seqs(until: "2025-02-01"), [1, 2, 3, 6])
        // Event 3 is the last microsecond of January: in [.., 02-01), not in [.., itself).
        XCTAssertEqual(try seqs(since: "2025-01-31T23:59:59.999999Z", until: "2025-02-01"), [3])
        XCTAssertEqual(try seqs(until: "2025-01-31T23:59:59.999999Z"), [1, 2, 6])
        XCTAssertEqual(try seqs(since: "2025-03-01", until: "2025-03-02"), [7])
        XCTAssertEqual(try seqs(since: "2025-02-01", until: "2025-02-01"), [])
    }

    func testTimesCompareAsInstantsWhateverTheOffset() throws {
        // Event 2 was written 2025-01-06T01:00:00+02:00, i.e. 2025-01-05T23:00:00Z.
        XCTAssertEqual(try seqs(since: "2025-01-06T01:00:00+02:00"), [2, 3, 4, 5, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(try seqs(since: "2025-01-05T23:00:00Z"), [2, 3, 4, 5, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(try seqs(since: "2025-01-06"), [3, 4, 5, 7, 8, 9, 10, 11, 12])
        // The late event (6, written in 2024) is found although it sits in February's frame.
        XCTAssertEqual(try seqs(until: "2025-01-01"), [6])
    }

    func testRecordedTimeRange() throws {
        XCTAssertEqual(try seqs(recordedSince: "2025-03-10"), [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(try seqs(recordedUntil: "2025-03-10"), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try seqs(recordedSince: "2025-02-10", recordedUntil: "2025-04-10"), [4, 5, 6, 7, 8])
        // One µs after frame 2 was recorded: the seek lands in frame 2 and skips it.
        XCTAssertEqual(try seqs(recordedSince: "2025-02-10T00:00:00.000001Z"), [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(try seqs(recordedSince: "2026-01-01"), [])
        XCTAssertEqual(try seqs(recordedUntil: "2020-01-01"), [])
    }

    func testTypeExactAndGlobs() throws {
        XCTAssertEqual(try seqs(types: ["application.sent"]), [1, 4, 7, 11])
        XCTAssertEqual(try seqs(types: ["application.*"]), [1, 2, 4, 7, 8, 11])
        XCTAssertEqual(try seqs(types: ["*.sent"]), [1, 4, 7, 11])
        XCTAssertEqual(try seqs(types: ["skill.assessed", "placement.recorded"]), [3, 5, 6, 10])
        XCTAssertEqual(try seqs(types: ["application.sent", "application.*"]), [1, 2, 4, 7, 8, 11])
        XCTAssertEqual(try seqs(types: ["*"]), Array(1...12))
        XCTAssertEqual(try seqs(types: ["nothing.*"]), [])
        XCTAssertEqual(try seqs(types: ["application"]), [])
    }

    func testSubjects() throws {
        XCTAssertEqual(try seqs(subjects: [Subject.a.uuidString.lowercased()]), [1, 2, 5, 10, 11])
        XCTAssertEqual(try seqs(subjects: [Subject.a.uuidString, Subject.c.uuidString]), [1, 2, 5, 6, 7, 9, 10, 11])
        XCTAssertEqual(try seqs(subjects: ["dddddddd-0000-4000-8000-000000000004"]), [])
    }

    func testSources() throws {
        XCTAssertEqual(try seqs(sources: [Fixture.hub]), [3, 6, 7, 11])
        XCTAssertEqual(try seqs(sources: [Fixture.hub, Fixture.forge]), Array(1...12))
        XCTAssertEqual(try seqs(sources: ["talenthub"]), [])
    }

    func testCombinations() throws {
        XCTAssertEqual(try seqs(since: "2025-01-05T12:00:00Z", types: ["application.*"], subjects: [Subject.a.uuidString]), [2, 11])
        XCTAssertEqual(try seqs(fromSeq: 3, toSeq: 10, until: "2025-03-01", sources: [Fixture.forge]), [4, 5])
        XCTAssertEqual(try seqs(recordedSince: "2025-02-10", recordedUntil: "2025-04-10", types: ["skill.assessed"]), [6])
        XCTAssertEqual(try seqs(since: "2025-02-01", until: "2025-03-03", types: ["application.*"], subjects: [Subject.b.uuidString]), [4, 8])
        XCTAssertEqual(try seqs(fromSeq: 5, recordedSince: "2025-02-10"), [5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(try seqs(fromSeq: 2, recordedSince: "2025-03-10"), [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(try seqs(toSeq: 9, since: "2025-03-01", recordedUntil: "2025-04-10", sources: [Fixture.hub]), [7])
        XCTAssertEqual(
            try seqs(fromSeq: 1, toSeq: 12, since: "2024-01-01", until: "2026-01-01", recordedSince: "2025-01-01",
                     recordedUntil: "2026-01-01", types: ["skill.*"], subjects: [Subject.b.uuidString, Subject.c.uuidString],
                     sources: [Fixture.hub]),
            [3, 6])
    }

    // MARK: - Parsing option values

    func testTimeValuesRFC3339OrDate() throws {
        let day = try ReplayFilter.parseTime("2025-03-01", option: "--since")
        XCTAssertEqual(day, 1_740_787_200_000_000)
        XCTAssertEqual(try ReplayFilter.parseTime("2025-03-01T00:00:00Z", option: "--since"), day)
        XCTAssertEqual(try ReplayFilter.parseTime("2025-03-01T01:30:00+01:30", option: "--since"), day)
        XCTAssertEqual(try ReplayFilter.parseTime("2025-03-01T00:00:00.000250Z", option: "--since"), day + 250)
        XCTAssertEqual(try ReplayFilter.parseTime("1969-12-31", option: "--since"), -86_400_000_000)
    }

    func testBadValuesAreRejectedWithTheOptionNamed() {
        for (text, option) in [("2025-3-1", "--since"), ("yesterday", "--until"), ("2025-02-30", "--recorded-since"), ("2025-03-01T10:00:00", "--until")] {
            XCTAssertThrowsError(try ReplayFilter.parseTime(text, option: option)) { error in
                let error = error as! ReplayError
                XCTAssertEqual(error.code, .invalidArgument)
                XCTAssertTrue(error.message.hasPrefix("\(option) '\(text)'"), error.message)
            }
        }
        XCTAssertThrowsError(try ReplayFilter(subjects: ["not-a-uuid"])) { error in
            XCTAssertEqual((error as! ReplayError).message, "--subject 'not-a-uuid' is not a UUID in 8-4-4-4-12 form")
        }
        XCTAssertThrowsError(try ReplayFilter(fromSeq: 0)) { XCTAssertEqual(($0 as! ReplayError).code, .invalidArgument) }
        XCTAssertThrowsError(try ReplayFilter(types: [""])) { XCTAssertEqual(($0 as! ReplayError).code, .invalidArgument) }
    }

    func testSingleTypeForCSVToStdout() throws {
        let known = ["application.advanced", "application.sent", "skill.assessed"]
        XCTAssertEqual(try ReplayFilter(types: ["application.sent"]).singleType(knownTypes: known), "application.sent")
        XCTAssertEqual(try ReplayFilter(types: ["application.s*"]).singleType(knownTypes: known), "application.sent")
        XCTAssertNil(try ReplayFilter(types: ["application.*"]).singleType(knownTypes: known))
        XCTAssertNil(try ReplayFilter(types: ["application.sent", "skill.assessed"]).singleType(knownTypes: known))
        XCTAssertNil(ReplayFilter().singleType(knownTypes: known))
    }
}
