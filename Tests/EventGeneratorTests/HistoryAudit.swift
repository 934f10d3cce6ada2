import CareerEvents
@testable import EventGenerator

/// Reads a generated history one event at a time and records what a
/// careful reader of EventSchemas/README.md would check: envelope shape, order,
/// unique ids, values in range, and that every reference names something
/// that exists (and existed first). Violations are collected as messages
/// rather than asserted on the spot, so one run serves many tests.
struct HistoryAudit: Sendable {
    /// Messages beyond this are counted, not kept.
    static let violationsKeptMax = 50

    private(set) var eventCount = 0
    private(set) var typeCounts: [String: Int] = [:]
    private(set) var violations: [String] = []
    private(set) var violationCount = 0
    private(set) var asOfMillis: Int64 = .min

    private var eventIds: Set<String> = []
    private var lastTimeText = ""
    /// Subjects by the type of their first event.
    private(set) var firstEventTypes: [String: Int] = [:]
    private var registered: Set<String> = []
    private var erased: Set<String> = []
    private(set) var erasedCount = 0

    // References.
    private var mentorRegisteredAt: [String: Int64] = [:]
    private var mentorsNamed: Set<String> = []
    private var mentorships: [String: String] = [:]          // mentorship_id -> mentee
    private var endedMentorships: Set<String> = []
    private var activities: [String: (subject: String, percent: Double)] = [:]
    private var completedActivities: Set<String> = []
    private var roadmapTasks: [String: (subject: String, tasks: Set<String>)] = [:]
    private var completedTasks: Set<String> = []
    private var goals: [String: String] = [:]
    private var projects: [String: String] = [:]
    private var applications: [String: String] = [:]         // application_id -> subject
    private(set) var advancesOfUnsentApplications = 0
    private(set) var applicationsSentAgain = 0
    private(set) var placementsNamingUnsentApplication = 0
    private(set) var mentorshipsStartedAgain = 0
    private(set) var sessionsOfUnknownMentorships = 0
    private(set) var advanceCount = 0
    private(set) var placementsNamingApplication = 0
    private(set) var placementsWithoutApplication = 0

    // What the analytics need.
    private var enrollments: [String: [(millis: Int64, amount: Double, currency: String)]] = [:]
    private var placements: [String: [(millis: Int64, currency: String)]] = [:]
    private var mentorshipStarts: [String: [Int64]] = [:]
    private(set) var sessionsWithRating = 0
    private(set) var sessionsWithoutRating = 0

    mutating func violation(_ message: String) {
        violationCount += 1
        if violations.count < Self.violationsKeptMax { violations.append(message) }
    }

    // MARK: - Envelope

    static let envelopeKeys: Set<String> = ["specversion", "id", "source", "type", "dataversion", "subject", "time", "data", "datacontenttype"]
    static let sources: Set<String> = ["careerforge-api", "talenthub-api", "smatrx-lms", "careerpilot-app", "skillsync-svc"]

    /// Lower-case canonical, version 4, RFC 4122 variant.
    static func isCanonicalV4(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) else { return false }
            }
        }
        return bytes[14] == UInt8(ascii: "4") && [UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "b")].contains(bytes[19])
    }

    static func millis(_ text: String) -> Int64? {
        guard let stamp = Timestamp(rfc3339: text) else { return nil }
        return stamp.seconds * 1000 + Int64(stamp.nanoseconds / 1_000_000)
    }

    mutating func consume(_ event: JSONValue) {
        eventCount += 1
        guard let envelope = event.objectValue else { return violation("event is not an object") }
        for key in envelope.keys where !Self.envelopeKeys.contains(key) { violation("unknown envelope key \(key)") }
        guard let id = envelope["id"]?.stringValue, let type = envelope["type"]?.stringValue,
              let subject = envelope["subject"]?.stringValue, let time = envelope["time"]?.stringValue,
              let source = envelope["source"]?.stringValue, let data = envelope["data"]?.objectValue
        else { return violation("envelope misses a required attribute: \(event.compactString)") }
        typeCounts[type, default: 0] += 1
        if !Self.isCanonicalV4(id) { violation("id \(id) is not a canonical v4 UUID") }
        if !Self.isCanonicalV4(subject) { violation("subject \(subject) is not a canonical v4 UUID") }
        if !eventIds.insert(id).inserted { violation("duplicate id \(id)") }
        if !Self.sources.contains(source) { violation("unknown source \(source)") }
        if let version = envelope["dataversion"], version != 1 { violation("dataversion \(version)") }
        if let spec = envelope["specversion"], spec != "1.0" { violation("specversion \(spec)") }
        guard time.utf8.count == 24, time.hasSuffix("Z"), let now = Self.millis(time) else {
            return violation("time \(time) is not RFC 3339 UTC with milliseconds")
        }
        if time < lastTimeText { violation("time went back: \(time) after \(lastTimeText)") }
        lastTimeText = time
        asOfMillis = max(asOfMillis, now)

        if erased.contains(subject) { violation("\(type) after user.erased of \(subject)") }
        if registered.insert(subject).inserted {
            if type != "user.registered" && type != "mentor.registered" {
                violation("first event of \(subject) is \(type)")
            }
            firstEventTypes[type, default: 0] += 1
        }
        consumeData(type: type, subject: subject, millis: now, time: time, data: data)
    }

    // MARK: - Data

    private mutating func consumeData(type: String, subject: String, millis: Int64, time: String, data: JSONObject) {
        switch type {
        case "user.erased":
            erased.insert(subject)
            erasedCount += 1
        case "mentor.registered":
            mentorRegisteredAt[subject] = millis
            if let maxMentees = data["max_mentees"]?.numberValue?.int64, !(1...50).contains(maxMentees) { violation("max_mentees \(maxMentees)") }
        case "profile.updated":
            if data.isEmpty { violation("empty profile.updated") }
            if let range = data["salary_expectation"]?.objectValue,
               let low = range["min"]?.numberValue?.double, let high = range["max"]?.numberValue?.double, low > high {
                violation("salary_expectation min \(low) > max \(high)")
            }
            if let years = data["years_experience"]?.numberValue?.int64, !(0...60).contains(years) { violation("years_experience \(years)") }
        case "skill.assessed":
            if let score = data["score"]?.numberValue?.double, !(0...100).contains(score) { violation("skill score \(score)") }
        case "learning.started":
            let activity = data["activity_id"]?.stringValue ?? ""
            if activities[activity] != nil { violation("activity \(activity) started twice") }
            activities[activity] = (subject, 0)
        case "learning.progressed":
            consumeProgress(subject: subject, data: data)
        case "learning.completed":
            let activity = data["activity_id"]?.stringValue ?? ""
            if activities[activity]?.subject != subject { violation("learning.completed of unknown activity \(activity)") }
            if !completedActivities.insert(activity).inserted { violation("activity \(activity) completed twice") }
            if let hours = data["hours"]?.numberValue?.double, hours < 0 { violation("completed hours \(hours)") }
        case "certification.earned":
            if let issued = data["issued_on"]?.stringValue, let expires = data["expires_on"]?.stringValue, expires < issued {
                violation("expires_on \(expires) before issued_on \(issued)")
            }
        case "roadmap.created":
            let tasks = data["tasks"]?.arrayValue ?? []
            if !(1...1000).contains(tasks.count) { violation("roadmap with \(tasks.count) tasks") }
            let ids = Set(tasks.compactMap { $0.objectValue?["task_id"]?.stringValue })
            if ids.count != tasks.count { violation("roadmap task ids not unique") }
            roadmapTasks[data["roadmap_id"]?.stringValue ?? ""] = (subject, ids)
        case "task.completed":
            let roadmap = data["roadmap_id"]?.stringValue ?? ""
            let task = data["task_id"]?.stringValue ?? ""
            guard let known = roadmapTasks[roadmap], known.subject == subject, known.tasks.contains(task) else {
                return violation("task.completed names task \(task) not in roadmap \(roadmap)")
            }
            if !completedTasks.insert(task).inserted { violation("task \(task) completed twice") }
        case "goal.set":
            goals[data["goal_id"]?.stringValue ?? ""] = subject
        case "goal.achieved":
            if goals[data["goal_id"]?.stringValue ?? ""] != subject { violation("goal.achieved of a goal never set") }
        case "program.enrolled":
            consumeEnrollment(subject: subject, millis: millis, time: time, data: data)
        case "application.sent":
            let application = data["application_id"]?.stringValue ?? ""
            if let owner = applications[application] {
                if owner != subject { violation("application \(application) sent by two subjects") }
                applicationsSentAgain += 1
            }
            applications[application] = subject
        case "application.advanced":
            advanceCount += 1
            let application = data["application_id"]?.stringValue ?? ""
            if let owner = applications[application] {
                if owner != subject { violation("application \(application) advanced by another subject") }
            } else {
                advancesOfUnsentApplications += 1
            }
        case "placement.recorded":
            consumePlacement(subject: subject, millis: millis, data: data)
        case "mentorship.started":
            let mentorship = data["mentorship_id"]?.stringValue ?? ""
            let mentor = data["mentor_id"]?.stringValue ?? ""
            if let mentee = mentorships[mentorship] {
                if mentee != subject { violation("mentorship \(mentorship) started by two mentees") }
                mentorshipsStartedAgain += 1
            }
            mentorships[mentorship] = subject
            mentorsNamed.insert(mentor)
            if let registeredAt = mentorRegisteredAt[mentor], registeredAt > millis { violation("mentor named before registering") }
            if mentor == subject { violation("self-mentorship") }
            mentorshipStarts[subject, default: []].append(millis)
        case "mentorship.session_held":
            let mentorship = data["mentorship_id"]?.stringValue ?? ""
            if mentorships[mentorship] == nil {
                sessionsOfUnknownMentorships += 1
            } else if mentorships[mentorship] != subject {
                violation("session of another mentee's mentorship")
            }
            if endedMentorships.contains(mentorship) { violation("session after mentorship.ended") }
            if let minutes = data["duration_minutes"]?.numberValue?.int64, !(1...600).contains(minutes) { violation("duration_minutes \(minutes)") }
            if data["mentee_rating"] != nil { sessionsWithRating += 1 } else { sessionsWithoutRating += 1 }
        case "mentorship.ended":
            let mentorship = data["mentorship_id"]?.stringValue ?? ""
            if mentorships[mentorship] != subject { violation("end of a mentorship the mentee never started") }
            if !endedMentorships.insert(mentorship).inserted { violation("mentorship ended twice") }
        case "portfolio.project_added":
            projects[data["project_id"]?.stringValue ?? ""] = subject
        case "project.reviewed":
            if projects[data["project_id"]?.stringValue ?? ""] != subject { violation("review of a project the subject never added") }
            if let reviewer = data["reviewer_id"]?.stringValue, reviewer == subject { violation("self-review") }
        default:
            break
        }
    }

    private mutating func consumeProgress(subject: String, data: JSONObject) {
        let activity = data["activity_id"]?.stringValue ?? ""
        guard let started = activities[activity], started.subject == subject else {
            return violation("learning.progressed of unknown activity \(activity)")
        }
        if completedActivities.contains(activity) { violation("progress after completion") }
        let percent = data["completion_percentage"]?.numberValue?.double ?? -1
        if !(0...100).contains(percent) || percent <= started.percent {
            violation("completion_percentage \(percent) after \(started.percent)")
        }
        activities[activity]?.percent = percent
        if (data["hours"]?.numberValue?.double ?? 0) <= 0 { violation("learning.progressed hours not > 0") }
    }

    private mutating func consumeEnrollment(subject: String, millis: Int64, time: String, data: JSONObject) {
        if data["cohort"]?.stringValue != String(time.prefix(7)) { violation("cohort \(data["cohort"] ?? nil) for \(time)") }
        guard let baseline = data["baseline_salary"]?.objectValue,
              let amount = baseline["amount"]?.numberValue?.double, let currency = baseline["currency"]?.stringValue
        else { return violation("enrollment without a baseline") }
        if amount < 0 { violation("negative baseline") }
        enrollments[subject, default: []].append((millis, amount, currency))
    }

    private mutating func consumePlacement(subject: String, millis: Int64, data: JSONObject) {
        if let application = data["application_id"]?.stringValue {
            placementsNamingApplication += 1
            if applications[application] == nil {
                placementsNamingUnsentApplication += 1
            } else if applications[application] != subject {
                violation("placement names another subject's application \(application)")
            }
        } else {
            placementsWithoutApplication += 1
        }
        guard let currency = data["salary"]?.objectValue?["currency"]?.stringValue else { return violation("placement without salary") }
        placements[subject, default: []].append((millis, currency))
    }

    // MARK: - Analytics edge cases

    /// How often each edge case of the catalog's analytics occurs.
    struct EdgeCases: Sendable, Equatable {
        var enrollees = 0
        var secondEnrollments = 0
        var baselineZero = 0
        var placementsBeforeEnrollment = 0
        var placedWithin365Days = 0
        var placedExactly365Days = 0
        var placedAfter365Days = 0
        var neverPlaced = 0
        var placementCurrencyDiffers = 0
        var mentoredBeforeEnrollment = 0
        var mentoredAtEnrollmentInstant = 0
        var mentoredAfterPlacement = 0
        var windowsOpenAtEnd = 0
        var mentorsNamedNeverRegistered = 0
    }

    var edgeCases: EdgeCases {
        let year: Int64 = 365 * 86_400_000
        var cases = EdgeCases()
        for (subject, list) in enrollments {
            let first = list[0]
            cases.enrollees += 1
            if list.count > 1 { cases.secondEnrollments += 1 }
            if first.amount == 0 { cases.baselineZero += 1 }
            let own = placements[subject] ?? []
            if own.contains(where: { $0.millis < first.millis }) { cases.placementsBeforeEnrollment += 1 }
            if asOfMillis < first.millis + year { cases.windowsOpenAtEnd += 1 }
            let placement = own.first(where: { $0.millis >= first.millis })
            if let placement {
                if placement.millis - first.millis <= year { cases.placedWithin365Days += 1 } else { cases.placedAfter365Days += 1 }
                if placement.millis - first.millis == year { cases.placedExactly365Days += 1 }
                if placement.currency != first.currency { cases.placementCurrencyDiffers += 1 }
            } else {
                cases.neverPlaced += 1
            }
            for start in mentorshipStarts[subject] ?? [] {
                if start < first.millis { cases.mentoredBeforeEnrollment += 1 }
                if start == first.millis { cases.mentoredAtEnrollmentInstant += 1 }
                if let placement, start > placement.millis { cases.mentoredAfterPlacement += 1 }
            }
        }
        cases.mentorsNamedNeverRegistered = mentorsNamed.subtracting(mentorRegisteredAt.keys).count
        return cases
    }
}
