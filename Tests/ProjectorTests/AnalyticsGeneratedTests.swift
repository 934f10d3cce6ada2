import CareerEvents
import EventGenerator
import EventLog
import Foundation
import StoredEventCodec
import Postgres
import XCTest

// swift-log also has a `LogEvent`; ours is the log's.
import struct EventLog.LogEvent

@testable import Projector

/// A generated history of 300 learners over 24 months (every edge case the
/// generator plants: placements before enrollment and after 365 days,
/// second enrollments, re-sent mentorship starts, orphan sessions, stages out
/// of order, erasures, ...) projected by the real projector, checked against
/// `AnalyticsReference`: the definitions computed again, straightforwardly,
/// in memory, sharing no code with the SQL.
final class AnalyticsGeneratedTests: XCTestCase {
    nonisolated(unsafe) static var fixture: (events: [Envelope], builds: [AnalyticsBuild], reference: AnalyticsReference)?
    static let batchSizes = [997, 20_000]

    override func setUpWithError() throws {
        guard Self.fixture == nil else { return }
        var generator = HistoryGenerator(options: GeneratorOptions(users: 300, seed: 20_241_121, months: 24))
        var envelopes: [Envelope] = []
        while let value = generator.next() { envelopes.append(try Envelope(json: value)) }
        let events = envelopes.map { LogEvent($0) }
        let builds = try Self.batchSizes.map { try AnalyticsBuild(events: events, batchEventsMax: $0) }
        Self.fixture = (envelopes, builds, AnalyticsReference(envelopes))
    }

    private var build: AnalyticsBuild { Self.fixture!.builds[0] }
    private var reference: AnalyticsReference { Self.fixture!.reference }

    func testTheHistoryHoldsTheEdgeCases() {
        let r = reference
        XCTAssertGreaterThan(Self.fixture!.events.count, 50_000)
        XCTAssertGreaterThan(r.enrollees.count, 100)
        XCTAssertGreaterThan(r.enrollees.values.filter { $0.placement != nil && !$0.placedWithin12Months }.count, 0, "placed after 365 days")
        XCTAssertGreaterThan(r.enrollees.values.filter { $0.baselineAmount == 0 }.count, 0, "baseline 0")
        XCTAssertGreaterThan(r.enrollees.values.filter { e in e.placement.map { $0.currency != e.baselineCurrency } ?? false }.count, 0,
                             "currency mismatch")
        XCTAssertTrue(r.cohorts.values.contains { $0.open } && r.cohorts.values.contains { !$0.open }, "open and closed cohorts")
        XCTAssertGreaterThan(r.enrollees.values.filter(\.mentored).count, 0)
        XCTAssertGreaterThan(r.placementsBeforeEnrollment, 0, "placements before enrollment")
        XCTAssertGreaterThan(r.sessionsOfUnknownMentorships, 0, "sessions of never-started mentorships")
        XCTAssertGreaterThan(r.stagesOfUnsentApplications, 0, "advances naming applications never sent")
    }

    func testBatchSizesGiveTheSameTablesAndFigures() throws {
        let builds = Self.fixture!.builds
        XCTAssertEqual(try digest(builds[0].connection, schema: "analytics"), try digest(builds[1].connection, schema: "analytics"))
        XCTAssertEqual(try builds[0].snapshot(), try builds[1].snapshot())
    }

    func testPlacementRatesEqualTheReference() throws {
        for (view, column, groups) in [("placement_rate_by_cohort", "cohort", reference.cohorts),
                                       ("placement_rate_by_program", "program", reference.programs),
                                       ("placement_rate_by_industry", "target_industry", reference.industries)] {
            let rows = try build.rowsByKey(view)
            XCTAssertEqual(Set(rows.keys), Set(groups.keys), view)
            for (key, group) in groups {
                guard let row = rows[key] else { continue }
                XCTAssertEqual(row[column], key)
                XCTAssertEqual([row["enrolled"], row["placed_within_12_months"], row["window_state"]],
                               [String(group.enrolled), String(group.placed), group.open ? "open" : "closed"], "\(view) \(key)")
                assertNumber(row["placement_rate"], Double(group.placed) / Double(group.enrolled), "\(view) \(key)")
            }
        }
    }

    func testTimeToPlacementAndUpliftEqualTheReference() throws {
        let times = try build.rowsByKey("time_to_placement")
        let uplifts = try build.rowsByKey("salary_uplift")
        XCTAssertEqual(Set(times.keys), Set(reference.cohorts.keys))
        XCTAssertEqual(Set(uplifts.keys), Set(reference.cohorts.keys))
        for (cohort, group) in reference.cohorts {
            let days = group.daysToPlacement.sorted()
            XCTAssertEqual(times[cohort]?["placed"], String(days.count), cohort)
            assertNumber(times[cohort]?["median_days"], AnalyticsReference.percentile(days, 0.5), "median \(cohort)")
            assertNumber(times[cohort]?["p90_days"], AnalyticsReference.percentile(days, 0.9), "p90 \(cohort)")
            XCTAssertEqual(uplifts[cohort]?["uplift_count"], String(group.uplifts.count), cohort)
            assertNumber(uplifts[cohort]?["mean_uplift"], AnalyticsReference.mean(group.uplifts), "uplift \(cohort)")
        }
    }

    func testMentorshipROIEqualsTheReferenceForEveryMentor() throws {
        let rows = try build.rowsByKey("mentorship_roi")
        XCTAssertEqual(Set(rows.keys), Set(reference.mentors.keys))
        for (mentor, m) in reference.mentors {
            guard let row = rows[mentor] else { continue }
            let placed = m.mentees.filter { reference.enrollees[$0]?.placedWithin12Months == true }.count
            let uplifts = m.mentees.compactMap { reference.enrollees[$0]?.uplift }
            XCTAssertEqual([row["mentees"], row["sessions"], row["placed_within_12_months"], row["uplift_count"]],
                           [String(m.mentees.count), String(m.sessions), String(placed), String(uplifts.count)], mentor)
            assertNumber(row["hours"], Double(m.minutes) / 60, "hours \(mentor)")
            assertNumber(row["average_rating"], AnalyticsReference.mean(m.ratings.map(Double.init)), "rating \(mentor)")
            assertNumber(row["placement_rate"], m.mentees.isEmpty ? nil : Double(placed) / Double(m.mentees.count), "rate \(mentor)")
            assertNumber(row["mean_uplift"], AnalyticsReference.mean(uplifts), "uplift \(mentor)")
            var gains: [String: Double] = [:]
            for mentee in m.mentees {
                guard let e = reference.enrollees[mentee], e.uplift != nil, let p = e.placement else { continue }
                gains[e.baselineCurrency, default: 0] += p.amount - e.baselineAmount
            }
            let total = jsonNumbers(row["total_gain"]) ?? [:]
            XCTAssertEqual(Set(total.keys), Set(gains.keys), mentor)
            for (currency, gain) in gains { XCTAssertEqual(total[currency] ?? .nan, gain, accuracy: 1e-6, "\(mentor) \(currency)") }
            if m.minutes == 0 {
                XCTAssertNil(row["gain_per_hour"], mentor)
            } else {
                let perHour = jsonNumbers(row["gain_per_hour"]) ?? [:]
                XCTAssertEqual(Set(perHour.keys), Set(gains.keys), mentor)
                for (currency, gain) in gains {
                    XCTAssertEqual(perHour[currency] ?? .nan, gain / (Double(m.minutes) / 60), accuracy: 1e-6, "\(mentor) \(currency)")
                }
            }
        }
    }

    func testMentoredVersusNotEqualsTheReference() throws {
        let row = try build.rows("SELECT * FROM analytics.mentorship_effect")[0]
        let mentored = reference.enrollees.values.filter(\.mentored)
        let others = reference.enrollees.values.filter { !$0.mentored }
        let mentoredPlaced = mentored.filter(\.placedWithin12Months).count
        let othersPlaced = others.filter(\.placedWithin12Months).count
        XCTAssertEqual([row[0], row[1], row[3], row[4]], [mentored.count, mentoredPlaced, others.count, othersPlaced].map { String($0) })
        let a = Double(mentoredPlaced) / Double(mentored.count), b = Double(othersPlaced) / Double(others.count)
        assertNumber(row[2], a)
        assertNumber(row[5], b)
        assertNumber(row[6], (a - b) * 100)
    }

    func testApplicationFunnelEqualsTheReferenceForEveryMonth() throws {
        let rows = try build.rowsByKey("application_funnel")
        XCTAssertEqual(Set(rows.keys), Set(reference.funnel.keys))
        for (month, f) in reference.funnel {
            guard let row = rows[month] else { continue }
            XCTAssertEqual([row["sent"], row["interview"], row["offer"], row["placed"]],
                           [f.sent, f.interview, f.offer, f.placed].map { String($0) }, month)
            func ratio(_ a: Int, _ b: Int) -> Double? { b == 0 ? nil : Double(a) / Double(b) }
            assertNumber(row["interview_per_sent"], ratio(f.interview, f.sent), month)
            assertNumber(row["offer_per_interview"], ratio(f.offer, f.interview), month)
            assertNumber(row["placed_per_offer"], ratio(f.placed, f.offer), month)
            assertNumber(row["placed_per_sent"], ratio(f.placed, f.sent), month)
        }
    }

    func testLearningVelocityAndStreaksEqualTheReferenceForEverySubject() throws {
        let rows = try build.rows("SELECT subject::text || ' ' || month, hours, activities_completed, tasks_completed FROM analytics.learning_velocity")
        XCTAssertEqual(rows.count, reference.velocity.count)
        for row in rows {
            guard let v = reference.velocity[row[0]!] else { XCTFail("unexpected row \(row[0]!)"); continue }
            assertNumber(row[1], v.hours, row[0]!)
            XCTAssertEqual([row[2], row[3]], [String(v.activities), String(v.tasks)], row[0]!)
        }
        let streaks = try build.rows("SELECT subject::text, streak_days FROM analytics.learning_streaks")
        XCTAssertEqual(streaks.count, reference.streaks.count)
        for row in streaks { XCTAssertEqual(Int(row[1]!), reference.streaks[row[0]!], row[0]!) }
        XCTAssertGreaterThan(reference.streaks.values.filter { $0 > 1 }.count, 0, "some streaks longer than a day")
    }
}

/// The analytics definitions of EventSchemas/README.md computed the plain way:
/// one pass to collect, then loops. Times are µs since the epoch; a subject
/// or an id is its lower-case UUID text.
struct AnalyticsReference {
    struct Placement { var time: Int64; var amount: Double; var currency: String }

    struct Enrollee {
        var time: Int64, seq: Int
        var cohort: String, program: String, industry: String
        var baselineAmount: Double, baselineCurrency: String
        var placement: Placement?
        var placedWithin12Months = false
        var windowClosed = false
        var mentored = false
        var uplift: Double? {
            guard let placement, baselineAmount > 0, placement.currency == baselineCurrency else { return nil }
            return (placement.amount - baselineAmount) / baselineAmount
        }
    }

    struct Group { var enrolled = 0, placed = 0, open = false, daysToPlacement: [Double] = [], uplifts: [Double] = [] }
    struct Mentor { var mentees: Set<String> = [], sessions = 0, minutes = 0, ratings: [Int] = [] }
    struct Funnel { var sent = 0, interview = 0, offer = 0, placed = 0 }
    struct Velocity { var hours = 0.0, activities = 0, tasks = 0 }

    static let yearMicros: Int64 = 365 * 86_400 * 1_000_000

    var asOf: Int64 = .min
    var enrollees: [String: Enrollee] = [:]
    var cohorts: [String: Group] = [:], programs: [String: Group] = [:], industries: [String: Group] = [:]
    var mentors: [String: Mentor] = [:]
    var funnel: [String: Funnel] = [:]
    /// Keyed by "<subject> <YYYY-MM>".
    var velocity: [String: Velocity] = [:]
    var streaks: [String: Int] = [:]
    /// Edge cases met (to show the history holds them).
    var placementsBeforeEnrollment = 0, sessionsOfUnknownMentorships = 0, stagesOfUnsentApplications = 0

    init(_ envelopes: [Envelope]) {
        let events = envelopes.enumerated().map { (seq: $0.offset + 1, e: $0.element) }
        asOf = events.map { Self.micros($0.e.time) }.max() ?? .min
        let visible = events.filter { Self.micros($0.e.time) <= asOf }
        computeEnrollees(visible)
        computeGroups()
        computeMentorship(visible)
        computeFunnel(visible)
        computeLearning(visible)
    }

    // MARK: Enrollment and placement

    private mutating func computeEnrollees(_ events: [(seq: Int, e: Envelope)]) {
        for (seq, e) in events where e.type == "program.enrolled" {
            let subject = UUIDText.string(e.subject), time = Self.micros(e.time)
            if let known = enrollees[subject], (known.time, known.seq) < (time, seq) { continue }
            let salary = Self.object(e.data["baseline_salary"])
            enrollees[subject] = Enrollee(time: time, seq: seq, cohort: Self.string(e.data["cohort"]), program: Self.string(e.data["program"]),
                                          industry: Self.string(e.data["target_industry"]), baselineAmount: Self.number(salary["amount"]),
                                          baselineCurrency: Self.string(salary["currency"]))
        }
        var firstPlacement: [String: (time: Int64, seq: Int, placement: Placement)] = [:]
        for (seq, e) in events where e.type == "placement.recorded" {
            let subject = UUIDText.string(e.subject), time = Self.micros(e.time)
            guard let enrollee = enrollees[subject] else { continue }
            guard time >= enrollee.time else {
                placementsBeforeEnrollment += 1
                continue
            }
            if let known = firstPlacement[subject], (known.time, known.seq) < (time, seq) { continue }
            let salary = Self.object(e.data["salary"])
            firstPlacement[subject] = (time, seq, Placement(time: time, amount: Self.number(salary["amount"]), currency: Self.string(salary["currency"])))
        }
        var starts: [String: [Int64]] = [:]
        for (_, e) in events where e.type == "mentorship.started" { starts[UUIDText.string(e.subject), default: []].append(Self.micros(e.time)) }
        for (subject, var enrollee) in enrollees {
            enrollee.placement = firstPlacement[subject]?.placement
            if let p = enrollee.placement { enrollee.placedWithin12Months = p.time - enrollee.time <= Self.yearMicros }
            enrollee.windowClosed = asOf >= enrollee.time + Self.yearMicros
            let end = enrollee.placement?.time ?? enrollee.time + Self.yearMicros
            enrollee.mentored = (starts[subject] ?? []).contains { $0 >= enrollee.time && $0 < end }
            enrollees[subject] = enrollee
        }
    }

    private mutating func computeGroups() {
        for e in enrollees.values {
            Self.add(e, to: &cohorts[e.cohort, default: Group()])
            Self.add(e, to: &programs[e.program, default: Group()])
            Self.add(e, to: &industries[e.industry, default: Group()])
        }
    }

    private static func add(_ e: Enrollee, to group: inout Group) {
        group.enrolled += 1
        if e.placedWithin12Months { group.placed += 1 }
        if !e.windowClosed { group.open = true }
        if let p = e.placement { group.daysToPlacement.append(Double(p.time - e.time) / 86_400e6) }
        if let u = e.uplift { group.uplifts.append(u) }
    }

    // MARK: Mentorship

    private mutating func computeMentorship(_ events: [(seq: Int, e: Envelope)]) {
        var first: [String: (time: Int64, seq: Int, mentor: String, mentee: String)] = [:]
        for (seq, e) in events {
            switch e.type {
            case "mentor.registered":
                let mentor = UUIDText.string(e.subject)
                if mentors[mentor] == nil { mentors[mentor] = Mentor() }
            case "mentorship.started":
                let mentor = Self.string(e.data["mentor_id"]), id = Self.string(e.data["mentorship_id"]), time = Self.micros(e.time)
                if mentors[mentor] == nil { mentors[mentor] = Mentor() }
                if let known = first[id], (known.time, known.seq) < (time, seq) { continue }
                first[id] = (time, seq, mentor, UUIDText.string(e.subject))
            default: break
            }
        }
        for mentorship in first.values { mentors[mentorship.mentor]!.mentees.insert(mentorship.mentee) }
        for (_, e) in events where e.type == "mentorship.session_held" {
            guard let mentorship = first[Self.string(e.data["mentorship_id"])] else {
                sessionsOfUnknownMentorships += 1
                continue
            }
            mentors[mentorship.mentor]!.sessions += 1
            mentors[mentorship.mentor]!.minutes += Int(Self.number(e.data["duration_minutes"]))
            if let rating = e.data["mentee_rating"] { mentors[mentorship.mentor]!.ratings.append(Int(Self.number(rating))) }
        }
    }

    // MARK: Applications

    private mutating func computeFunnel(_ events: [(seq: Int, e: Envelope)]) {
        var firstSent: [String: Int64] = [:]
        var interview: Set<String> = [], offer: Set<String> = [], placed: Set<String> = []
        for (_, e) in events {
            guard let value = e.data["application_id"] else { continue }
            let id = Self.string(value)
            switch e.type {
            case "application.sent": firstSent[id] = min(firstSent[id] ?? .max, Self.micros(e.time))
            case "application.advanced" where Self.string(e.data["stage"]) == "interview": interview.insert(id)
            case "application.advanced" where Self.string(e.data["stage"]) == "offer": offer.insert(id)
            case "placement.recorded": placed.insert(id)
            default: break
            }
        }
        stagesOfUnsentApplications = interview.union(offer).subtracting(firstSent.keys).count
        for (id, time) in firstSent {
            let month = Self.month(time)
            var f = funnel[month] ?? Funnel()
            f.sent += 1
            if interview.contains(id) { f.interview += 1 }
            if offer.contains(id) { f.offer += 1 }
            if placed.contains(id) { f.placed += 1 }
            funnel[month] = f
        }
    }

    // MARK: Learning

    private mutating func computeLearning(_ events: [(seq: Int, e: Envelope)]) {
        var activeDays: [String: Set<Int>] = [:]
        for (_, e) in events {
            let hoursField: String
            switch e.type {
            case "learning.progressed", "learning.completed": hoursField = "hours"
            case "task.completed": hoursField = "actual_hours"
            default: continue
            }
            let subject = UUIDText.string(e.subject), time = Self.micros(e.time)
            let hours = e.data[hoursField].map(Self.number) ?? 0
            var v = velocity[subject + " " + Self.month(time)] ?? Velocity()
            v.hours += hours
            if e.type == "learning.completed" { v.activities += 1 }
            if e.type == "task.completed" { v.tasks += 1 }
            velocity[subject + " " + Self.month(time)] = v
            activeDays[subject, default: []].formUnion(hours > 0 ? [Self.day(time)] : [])
        }
        let today = Self.day(asOf)
        for (subject, days) in activeDays {
            var streak = 0
            while days.contains(today - streak) { streak += 1 }
            streaks[subject] = streak
        }
    }

    // MARK: Helpers

    static func micros(_ t: Timestamp) -> Int64 { t.seconds * 1_000_000 + Int64(t.nanoseconds / 1000) }
    static func day(_ micros: Int64) -> Int { Int((micros / 1_000_000).dividedFloor(by: 86_400)) }
    static func month(_ micros: Int64) -> String {
        let date = CalendarDate(daysSinceEpoch: day(micros))
        return String(format: "%04d-%02d", date.year, date.month)
    }

    static func string(_ value: JSONValue?) -> String {
        guard case .string(let text) = value else { preconditionFailure("expected a string, found \(String(describing: value))") }
        return text
    }

    static func number(_ value: JSONValue?) -> Double {
        guard case .number(let number) = value else { preconditionFailure("expected a number, found \(String(describing: value))") }
        return number.double
    }

    static func object(_ value: JSONValue?) -> JSONObject {
        guard case .object(let object) = value else { preconditionFailure("expected an object, found \(String(describing: value))") }
        return object
    }

    /// PostgreSQL's percentile_cont: linear interpolation between the values
    /// at positions floor and ceil of p x (n - 1); nil for no values.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let position = p * Double(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = Int(position.rounded(.up))
        return sorted[low] + (position - Double(low)) * (sorted[high] - sorted[low])
    }

    static func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
}

extension Int64 {
    /// Division rounding toward negative infinity (days before 1970 too).
    func dividedFloor(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
