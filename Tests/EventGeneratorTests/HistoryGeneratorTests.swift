import CareerEvents
import XCTest

@testable import EventGenerator

/// The generator's contract: deterministic, time-ordered, unique ids, every
/// catalog type, coherent references, and the analytics edge cases present.
final class HistoryGeneratorTests: XCTestCase {
    /// Every type in EventSchemas/README.md, written out here (not taken from the
    /// generator) so a type the generator forgets fails the test.
    static let catalogTypes: Set<String> = [
        "user.registered", "profile.updated", "user.erased",
        "skill.assessed", "cv.parsed",
        "learning.started", "learning.progressed", "learning.completed", "certification.earned",
        "roadmap.created", "task.completed", "goal.set", "goal.achieved",
        "program.enrolled", "interview.practiced",
        "application.sent", "application.advanced", "placement.recorded", "milestone.achieved", "employer.feedback",
        "mentor.registered", "mentorship.started", "mentorship.session_held", "mentorship.ended",
        "portfolio.project_added", "project.reviewed",
        "position.opened",
    ]

    static func ndjson(_ options: GeneratorOptions) -> (bytes: [UInt8], events: Int) {
        var generator = HistoryGenerator(options: options)
        var bytes: [UInt8] = []
        var events = 0
        while generator.nextLine(into: &bytes) { events += 1 }
        XCTAssertEqual(generator.eventCount, events)
        return (bytes, events)
    }

    /// 200 learners over the default 12 months.
    static let year = ndjson(GeneratorOptions(users: 200, seed: 7))

    /// 300 learners over 24 months, read through `next()` and audited:
    /// long enough for placements more than a year after enrollment.
    static let audited: HistoryAudit = {
        var generator = HistoryGenerator(options: GeneratorOptions(users: 300, seed: 7, months: 24))
        var audit = HistoryAudit()
        while let event = generator.next() { audit.consume(event) }
        return audit
    }()

    // MARK: - Determinism

    func testSameOptionsGiveIdenticalBytes() {
        let again = Self.ndjson(GeneratorOptions(users: 200, seed: 7))
        XCTAssertGreaterThan(Self.year.events, 20_000)
        XCTAssertEqual(again.events, Self.year.events)
        XCTAssertTrue(again.bytes == Self.year.bytes, "same seed produced different bytes")
    }

    func testDifferentSeedGivesDifferentHistory() {
        let other = Self.ndjson(GeneratorOptions(users: 200, seed: 8))
        XCTAssertFalse(other.bytes == Self.year.bytes)
        // Not just shifted: the first lines differ too.
        XCTAssertNotEqual(other.bytes.prefix(400), Self.year.bytes.prefix(400))
    }

    /// Pins the exact output of a small run, so a platform difference
    /// (floating point, hashing, library formatting) shows up as a failure.
    /// Update the digest only when the generator changes on purpose.
    func testOutputDigestIsStableAcrossMachines() {
        let run = Self.ndjson(GeneratorOptions(users: 40, seed: 42))
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a 64
        for byte in run.bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        XCTAssertEqual(run.events, 7_849)
        XCTAssertEqual(String(hash, radix: 16), "7198945df6f863f7")
    }

    func testNextAndNextLineProduceTheSameJSON() {
        let options = GeneratorOptions(users: 60, seed: 11)
        var values = HistoryGenerator(options: options)
        var lines = HistoryGenerator(options: options)
        var line: [UInt8] = []
        var compared = 0
        while let value = values.next() {
            line.removeAll(keepingCapacity: true)
            XCTAssertTrue(lines.nextLine(into: &line))
            XCTAssertEqual(line.last, UInt8(ascii: "\n"))
            guard Array(line.dropLast()) == value.compactBytes else {
                XCTFail("event \(compared) differs:\n\(String(decoding: line, as: UTF8.self))\(value.compactString)")
                break
            }
            compared += 1
        }
        XCTAssertFalse(lines.nextLine(into: &line))
        XCTAssertNil(values.next())
        XCTAssertGreaterThan(compared, 5_000)
    }

    func testNextLineAppendsWithoutTouchingEarlierBytes() {
        var generator = HistoryGenerator(options: GeneratorOptions(users: 5, seed: 1))
        var out = Array("prefix\n".utf8)
        XCTAssertTrue(generator.nextLine(into: &out))
        XCTAssertEqual(Array(out.prefix(7)), Array("prefix\n".utf8))
        XCTAssertEqual(out.filter { $0 == UInt8(ascii: "\n") }.count, 2)
        XCTAssertEqual(out[7], UInt8(ascii: "{"))
    }

    // MARK: - Shape and order

    func testAuditFindsNoViolations() {
        let audit = Self.audited
        XCTAssertGreaterThan(audit.eventCount, 100_000)
        XCTAssertEqual(audit.violationCount, 0, audit.violations.joined(separator: "\n"))
    }

    func testEveryCatalogTypeAppears() {
        let seen = Set(Self.audited.typeCounts.keys)
        XCTAssertEqual(seen.subtracting(Self.catalogTypes), [], "types outside the catalog")
        XCTAssertEqual(Self.catalogTypes.subtracting(seen), [], "catalog types never generated")
    }

    func testEveryCatalogTypeAppearsInAOneYearRunOfTwoHundredUsers() {
        var seen: Set<String> = []
        let marker = Array(#""type":""#.utf8)
        var lineStart = 0
        let bytes = Self.year.bytes
        while let found = bytes[lineStart...].firstRange(of: marker) {
            let end = bytes[found.upperBound...].firstIndex(of: UInt8(ascii: "\""))!
            seen.insert(String(decoding: bytes[found.upperBound..<end], as: UTF8.self))
            lineStart = bytes[end...].firstIndex(of: UInt8(ascii: "\n"))! + 1
        }
        XCTAssertEqual(Self.catalogTypes.subtracting(seen), [])
    }

    func testEventsStayInsideTheWindowInTimeOrder() {
        var generator = HistoryGenerator(options: GeneratorOptions(users: 80, seed: 3, start: CalendarDate(year: 2023, month: 3, day: 31)!, months: 11))
        var previous = ""
        var first: String?
        while let event = generator.next() {
            let time = event.objectValue?["time"]?.stringValue ?? ""
            XCTAssertGreaterThanOrEqual(time, previous)
            previous = time
            if first == nil { first = time }
        }
        XCTAssertGreaterThanOrEqual(first ?? "", "2023-03-31T00:00:00.000Z")
        XCTAssertLessThan(previous, "2024-02-29T00:00:00.000Z", "March 31 + 11 months is clamped to February 29")
        XCTAssertGreaterThan(previous, "2024-02-20T00:00:00.000Z", "histories run to the end of the window")
    }

    func testSubjectsStartWithARegistration() {
        let firsts = Self.audited.firstEventTypes
        XCTAssertEqual(Set(firsts.keys), ["user.registered", "mentor.registered"])
        // 300 learners + 8 recruiters + the mentors with an account.
        XCTAssertGreaterThan(firsts["user.registered"] ?? 0, 300 + 8)
        XCTAssertGreaterThan(firsts["mentor.registered"] ?? 0, 0, "some mentors have no platform account")
    }

    func testAboutOneLearnerInTwoHundredIsErasedAsTheirLastEvent() {
        // 300 learners: one erasure in the first block of 200, maybe one more.
        XCTAssertTrue((1...2).contains(Self.audited.erasedCount), "\(Self.audited.erasedCount)")
        XCTAssertEqual(Self.audited.typeCounts["user.erased"], Self.audited.erasedCount)
        // That nothing follows an erasure is part of the audit.
        XCTAssertEqual(Self.audited.violationCount, 0)
    }

    func testErasedAndShowcaseLearnersAreOnePerBlock() {
        let world = World(seed: 5, startMillis: 0, endMillis: Millis.day, learnerCount: 10_000,
                          mentorIds: [], mentorRegisteredAt: [], externalMentorIds: [])
        let erased = (0..<10_000).filter { world.isErased($0) }
        XCTAssertEqual(erased.count, 50)
        XCTAssertEqual(Set(erased.map { $0 / 200 }).count, 50, "one per block of 200")
        let showcase = (0..<10_000).filter { world.isShowcase($0) }
        XCTAssertTrue((95...100).contains(showcase.count), "\(showcase.count)")
        XCTAssertFalse(showcase.contains { world.isErased($0) })
    }

    // MARK: - References and edge cases

    func testApplicationsAndPlacementsReferenceEachOther() {
        let audit = Self.audited
        // Planned placements name their application 87% of the time; bridging
        // jobs and job changes name none.
        XCTAssertGreaterThan(audit.placementsNamingApplication, 2 * audit.placementsWithoutApplication,
                             "placements mostly name an application")
        XCTAssertGreaterThan(audit.placementsWithoutApplication, 0)
        // Stage updates and placements naming applications never sent, and
        // re-sent applications, exist but are rare.
        XCTAssertGreaterThan(audit.advancesOfUnsentApplications, 0)
        XCTAssertLessThan(Double(audit.advancesOfUnsentApplications), 0.01 * Double(audit.advanceCount))
        XCTAssertGreaterThan(audit.placementsNamingUnsentApplication, 0)
        XCTAssertLessThan(audit.placementsNamingUnsentApplication * 10, audit.placementsNamingApplication)
        let sent = audit.typeCounts["application.sent"] ?? 0
        XCTAssertGreaterThan(audit.applicationsSentAgain, 0)
        XCTAssertLessThan(audit.applicationsSentAgain * 100, sent)
    }

    func testMentorshipsRestartedAndSessionsOfUnknownMentorshipsAreRare() {
        let audit = Self.audited
        let started = audit.typeCounts["mentorship.started"] ?? 0
        let sessions = audit.typeCounts["mentorship.session_held"] ?? 0
        XCTAssertGreaterThan(audit.mentorshipsStartedAgain, 0)
        XCTAssertLessThan(audit.mentorshipsStartedAgain * 20, started)
        XCTAssertGreaterThan(audit.sessionsOfUnknownMentorships, 0)
        XCTAssertLessThan(audit.sessionsOfUnknownMentorships * 50, sessions)
    }

    func testAnalyticsEdgeCasesAllOccur() {
        let cases = Self.audited.edgeCases
        XCTAssertGreaterThan(cases.enrollees, 120)
        XCTAssertGreaterThan(cases.secondEnrollments, 0)
        XCTAssertGreaterThan(cases.baselineZero, 0)
        XCTAssertGreaterThan(cases.placementsBeforeEnrollment, 0)
        XCTAssertGreaterThan(cases.placedWithin365Days, cases.enrollees / 4)
        XCTAssertGreaterThan(cases.placedAfter365Days, 0)
        XCTAssertGreaterThan(cases.placedExactly365Days, 0, "the inclusive bound of placed within 12 months")
        XCTAssertGreaterThan(cases.neverPlaced, 0)
        XCTAssertGreaterThan(cases.placementCurrencyDiffers, 0)
        XCTAssertGreaterThan(cases.mentoredBeforeEnrollment, 0)
        XCTAssertGreaterThan(cases.mentoredAtEnrollmentInstant, 0, "the inclusive bound of mentored")
        XCTAssertGreaterThan(cases.mentoredAfterPlacement, 0)
        XCTAssertGreaterThan(cases.windowsOpenAtEnd, 0)
        XCTAssertGreaterThan(cases.mentorsNamedNeverRegistered, 0)
        XCTAssertGreaterThan(Self.audited.sessionsWithRating, Self.audited.sessionsWithoutRating)
        XCTAssertGreaterThan(Self.audited.sessionsWithoutRating, 0)
        // The rare cases stay rare.
        XCTAssertLessThan(cases.placementsBeforeEnrollment * 10, cases.enrollees)
        XCTAssertLessThan(cases.secondEnrollments * 10, cases.enrollees)
        XCTAssertLessThan(cases.placedAfter365Days * 5, cases.placedWithin365Days)
    }

    // MARK: - Volume

    func testAboutTwoHundredEventsPerUserPerYearGrowingWithMonths() {
        let perUserYear = Double(Self.year.events) / 200
        XCTAssertTrue((175...230).contains(perUserYear), "\(perUserYear) events per user over 12 months")
        let perUserTwoYears = Double(Self.audited.eventCount) / 300
        XCTAssertTrue((1.7...2.3).contains(perUserTwoYears / perUserYear), "\(perUserTwoYears) over 24 months")
    }

    func testZeroUsersProduceNothing() {
        var generator = HistoryGenerator(options: GeneratorOptions(users: 0, seed: 1))
        var out: [UInt8] = []
        XCTAssertFalse(generator.nextLine(into: &out))
        XCTAssertNil(generator.next())
        XCTAssertEqual(out, [])
    }

    // MARK: - Options

    func testOptionsValidation() throws {
        try GeneratorOptions(users: 5000, seed: 1).validate()
        XCTAssertEqual(GeneratorOptions(users: 1, seed: 1).start, CalendarDate(year: 2024, month: 1, day: 1))
        XCTAssertEqual(GeneratorOptions(users: 1, seed: 1).months, 12)

        func code(_ options: GeneratorOptions) -> GeneratorOptionsError.Code? {
            do { try options.validate() } catch let error as GeneratorOptionsError { return error.code } catch { return nil }
            return nil
        }
        XCTAssertEqual(code(GeneratorOptions(users: -1, seed: 1)), .usersOutOfRange)
        XCTAssertEqual(code(GeneratorOptions(users: GeneratorOptions.usersMax + 1, seed: 1)), .usersOutOfRange)
        XCTAssertEqual(code(GeneratorOptions(users: 1, seed: 1, months: 0)), .monthsOutOfRange)
        XCTAssertEqual(code(GeneratorOptions(users: 1, seed: 1, months: GeneratorOptions.monthsMax + 1)), .monthsOutOfRange)
        XCTAssertEqual(code(GeneratorOptions(users: 1, seed: 1, start: CalendarDate(year: 1969, month: 12, day: 31)!)), .startOutOfRange)
        XCTAssertNil(code(GeneratorOptions(users: 1, seed: 1, start: CalendarDate(year: 1970, month: 1, day: 1)!, months: 1)))
    }
}
