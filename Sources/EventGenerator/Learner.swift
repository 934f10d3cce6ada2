/// One simulated learner: a value-type state machine that produces the
/// learner's history one event at a time, in time order.
///
/// A learner registers, then runs several threads side by side, each an
/// action on the agenda that emits one event and schedules its successor:
///
///     register ─┬─ profile ── profile updates ...
///               ├─ cv.parsed, skill assessments ...
///               ├─ learning sessions: started ─ progressed ... ─ completed ─ certification
///               ├─ roadmap ─ task ─ task ...          goals: set ─ achieved
///               ├─ portfolio project ─ reviews ...
///               ├─ enrollment ─┬─ applications ─ stages ... ─ placement ─ feedback, milestones
///               │              ├─ interview practice ...
///               │              └─ mentorship ─ sessions ... ─ ended
///               └─ (0.5%) erasure, which ends everything
///
/// Plans that span threads (when the placement happens, which application
/// wins it) are drawn up front and kept in a few fields, so memory per
/// learner is bounded whatever the window length.
struct Learner: Sendable {
    let index: Int
    let id: UUID128
    var rng: SplitMix64
    var agenda: Agenda<LearnerAction>
    let identity: Identity
    let platform: Platform
    /// The program this learner's interests follow (enrolled or not).
    let track: Int
    let cadence: LearningCadence
    let registeredAt: Int64
    let erasesAt: Int64?
    /// See `World.isShowcase`.
    let isShowcase: Bool

    // Career.
    var yearsExperience: Int
    var currentRole: Int
    var currentCompany: Int
    var industry: Int
    /// Yearly salary in `currency`; 0 while not employed.
    var salary: Int
    var currency: Int
    var targetRole: Int

    // Skills and learning.
    var focusSkills: [FocusSkill]
    var activities: [Activity] = []
    var activitiesConcurrentMax: Int
    var roadmap: Roadmap?
    var roadmapsCreated = 0
    var goalsPlanned: Int
    var goalsSet = 0
    var projectsPlanned: Int
    var projectsAdded = 0

    // Program and job search.
    var enrolledAt: Int64?
    var plannedPlacementAt: Int64?
    var searchUntil: Int64 = 0
    var applicationGapDays: Double
    var winningApplication: Application?
    var placedAt: Int64?
    var placedCompany = 0
    var mentorshipPlan: MentorshipPlan = .none
    var mentorship: Mentorship?
    var lastMentorId: UUID128?

    /// The time of the action being performed (its event's `time`).
    var now: Int64 = 0

    init(index: Int, world: World) {
        self.index = index
        self.id = world.learnerId(index)
        var rng = SplitMix64(seed: world.seed, domain: Domain.learner, index: index)
        self.identity = Identity(number: index + 1, rng: &rng)
        self.platform = rng.chance(0.7) ? .careerforge : .talenthub
        self.track = rng.weighted(Vocabulary.programWeights)
        self.cadence = LearningCadence.draw(&rng)
        let registeredAt = world.learnerRegisteredAt(index)
        self.registeredAt = registeredAt
        self.erasesAt = world.isErased(index)
            ? registeredAt + Int64(rng.uniform(0.8, 0.99) * Double(world.endMillis - registeredAt))
            : nil
        self.isShowcase = world.isShowcase(index)

        self.yearsExperience = rng.chance(0.15) ? rng.int(0...1) : rng.int(2...22)
        self.currentRole = rng.chance(0.7) ? rng.pick(Vocabulary.formerRoles) : rng.below(Vocabulary.formerRoles[0])
        self.currentCompany = rng.below(Vocabulary.companies.count)
        self.industry = rng.below(Vocabulary.industries.count)
        self.currency = identity.cityInfo.currency
        let employed = rng.chance(0.84)
        self.salary = employed
            ? Salary.market(role: currentRole, years: yearsExperience, currency: currency, rng: &rng)
            : 0
        let program = Vocabulary.programs[track]
        self.targetRole = rng.pick(program.targetRoles)

        var focus: [FocusSkill] = []
        let focusCount = rng.int(4...6)
        for _ in 0..<64 where focus.count < focusCount {  // draws; duplicates are skipped
            let skill = rng.chance(0.8) ? rng.pick(program.skills) : rng.below(Vocabulary.skills.count)
            if focus.contains(where: { $0.skill == skill }) { continue }
            focus.append(FocusSkill(skill: skill, baseScore: rng.int(10...60), growthPerHundredDays: rng.int(2...25)))
        }
        self.focusSkills = focus
        self.activitiesConcurrentMax = rng.int(1...3)
        self.goalsPlanned = rng.int(1...4)
        self.projectsPlanned = rng.int(1...4)
        self.applicationGapDays = rng.uniform(1.5, 8)
        self.rng = rng
        self.agenda = Agenda(horizon: world.endMillis)
        agenda.schedule(.register, at: registeredAt)
    }

    /// Performs the next action on the agenda. Returns whether it wrote an
    /// event to `sink` (a few actions find their thread over and write none).
    mutating func step<S: EventSink>(world: World, sink: inout S) -> Bool {
        guard let item = agenda.popNext() else { preconditionFailure("stepped a finished learner") }
        precondition(item.time >= now, "a learner's actions went back in time")
        now = item.time
        switch item.action {
        case .register: register(sink: &sink)
        case .profileFull: profileFull(sink: &sink)
        case .profilePartial: profilePartial(sink: &sink)
        case .cvParse: cvParse(sink: &sink)
        case .skillAssessment: skillAssessment(sink: &sink)
        case .learningSession: learningSession(sink: &sink)
        case .certification(let certificate): certification(Int(certificate), sink: &sink)
        case .roadmapCreate: roadmapCreate(sink: &sink)
        case .taskComplete: taskComplete(sink: &sink)
        case .goalSet: goalSet(sink: &sink)
        case .goalAchieve(let goal): goalAchieve(goal, sink: &sink)
        case .enroll: enroll(sink: &sink)
        case .reenroll: reenroll(sink: &sink)
        case .interviewPractice: interviewPractice(sink: &sink)
        case .applicationSend: applicationSend(sink: &sink)
        case .applicationResend(let application): writeApplicationSent(application, sink: &sink)
        case .applicationAdvance(let application): return applicationAdvance(application, sink: &sink)
        case .strayAdvance: strayAdvance(sink: &sink)
        case .winningApplication: winningApplicationSend(sink: &sink)
        case .placement: placement(sink: &sink)
        case .earlyPlacement: earlyPlacement(sink: &sink)
        case .jobChange: jobChange(sink: &sink)
        case .profileAfterPlacement: profileAfterPlacement(sink: &sink)
        case .employerFeedback: employerFeedback(sink: &sink)
        case .milestone(let milestone): self.milestone(milestone, sink: &sink)
        case .mentorshipStart: return mentorshipStart(world: world, sink: &sink)
        case .mentorshipRestart: return mentorshipRestart(world: world, sink: &sink)
        case .mentorshipSession: return mentorshipSession(sink: &sink)
        case .orphanSession: orphanSession(sink: &sink)
        case .mentorshipEnd(let cancelled): return mentorshipEnd(cancelled: cancelled, sink: &sink)
        case .projectAdd: projectAdd(sink: &sink)
        case .projectReview(let project, let remaining): projectReview(project, remaining: remaining, world: world, sink: &sink)
        case .erase: erase(sink: &sink)
        }
        return true
    }

    // MARK: - Helpers shared by the threads

    mutating func beginEvent<S: EventSink>(_ type: StaticString, source: Source, sink: inout S) {
        sink.beginEvent(type, id: rng.uuid(), source: source, subject: id, time: now)
    }

    /// A local daytime between `low` and `high` days from now.
    mutating func daytime(_ low: Double, _ high: Double) -> Int64 {
        identity.daytime(after: now, low, high, rng: &rng)
    }

    /// An instant between `low` and `high` minutes from now (machine-driven follow-ups).
    mutating func minutesLater(_ low: Double, _ high: Double) -> Int64 {
        now + Int64(rng.uniform(low, high) * Double(Millis.minute))
    }

    var isEmployed: Bool { salary > 0 }

    var experienceLevel: StaticString {
        switch yearsExperience {
        case ..<3: return "entry"
        case 3..<8: return "mid"
        case 8..<16: return "senior"
        default: return "executive"
        }
    }

    // MARK: - Registration and profile

    mutating func register<S: EventSink>(sink: inout S) {
        beginEvent("user.registered", source: platform.source, sink: &sink)
        identity.writeRegistration(platform: platform, into: &sink)
        sink.endEvent()
        planHistory()
    }

    /// Starts every thread of the learner's life; see the type's diagram.
    mutating func planHistory() {
        if rng.chance(0.92) { agenda.schedule(.profileFull, at: minutesLater(2, 2 * 24 * 60)) }
        if rng.chance(0.7) { agenda.schedule(.cvParse, at: minutesLater(1, 10 * 24 * 60)) }
        agenda.schedule(.skillAssessment, at: daytime(1, 20))
        agenda.schedule(.learningSession, at: daytime(0.2, 7))
        agenda.schedule(.profilePartial, at: daytime(30, 120))
        if rng.chance(0.75) { agenda.schedule(.roadmapCreate, at: daytime(2, 40)) }
        if rng.chance(0.85) { agenda.schedule(.goalSet, at: daytime(1, 30)) }
        if rng.chance(0.55) { agenda.schedule(.projectAdd, at: daytime(20, 150)) }
        if let erasesAt { agenda.schedule(.erase, at: erasesAt) }

        if isShowcase {
            agenda.schedule(.enroll, at: daytime(2, 20))
            mentorshipPlan = .atEnrollment
        } else if rng.chance(0.62) {
            planEnrollment()
        } else {
            if rng.chance(0.3) {
                let searchStart = daytime(20, 150)
                planJobSearch(start: searchStart, anchor: searchStart, placedProbability: 0.45)
                if rng.chance(0.5) { agenda.schedule(.interviewPractice, at: daytime(25, 160)) }
            }
            if rng.chance(0.12) { agenda.schedule(.mentorshipStart, at: daytime(10, 200)) }
        }
    }

    /// The enrollment, and the rare placement that comes before it (a
    /// bridging job taken before joining the program; analytics ignore it).
    mutating func planEnrollment() {
        let enrollAt: Int64
        if rng.chance(0.04) {
            enrollAt = daytime(60, 180)
            let gapDays = Double(enrollAt - now) / Double(Millis.day)
            agenda.schedule(.earlyPlacement, at: daytime(10, gapDays - 10))
        } else {
            enrollAt = daytime(2, 75)
        }
        agenda.schedule(.enroll, at: enrollAt)
        let mentoring = rng.unit()
        if mentoring < 0.06, enrollAt - now > 3 * Millis.day {
            mentorshipPlan = .beforeEnrollment
            let gapDays = Double(enrollAt - now) / Double(Millis.day)
            agenda.schedule(.mentorshipStart, at: daytime(1, gapDays - 2))
        } else if mentoring < 0.55 {
            mentorshipPlan = .duringProgram
        }
    }

    mutating func profileFull<S: EventSink>(sink: inout S) {
        beginEvent("profile.updated", source: rng.chance(0.7) ? platform.source : .careerpilot, sink: &sink)
        if isEmployed {
            sink.key("current_role"); sink.plainString(Vocabulary.roles[currentRole])
            sink.key("current_company"); sink.plainString(Vocabulary.companies[currentCompany])
        }
        sink.key("industry"); sink.plainString(Vocabulary.industries[industry])
        sink.key("experience_level"); sink.plainString(experienceLevel)
        sink.key("years_experience"); sink.integer(yearsExperience)
        sink.key("target_role"); sink.plainString(Vocabulary.roles[targetRole])
        writeCareerGoals(sink: &sink)
        writeSalaryExpectation(sink: &sink)
        sink.key("remote_preference"); sink.plainString(rng.pick(Vocabulary.remotePreferences))
        if rng.chance(0.7) { sink.key("linkedin_url"); sink.string(identity.linkedinURL) }
        if rng.chance(track == 0 || track == 4 ? 0.7 : 0.3) { sink.key("github_url"); sink.string(identity.githubURL) }
        sink.endEvent()
    }

    /// One to three fields change; the rest stay as they were.
    mutating func profilePartial<S: EventSink>(sink: inout S) {
        beginEvent("profile.updated", source: rng.chance(0.6) ? platform.source : .careerpilot, sink: &sink)
        // 1 to 3 distinct fields of 6: steps of 1 or 5 are coprime with 6.
        var fields = 0
        let first = rng.below(6)
        let step = rng.chance(0.5) ? 1 : 5
        for offset in 0..<rng.int(1...3) { fields |= 1 << ((first + offset * step) % 6) }
        if fields & 1 != 0 { sink.key("target_role"); sink.plainString(Vocabulary.roles[targetRole]) }
        if fields & 2 != 0 { writeCareerGoals(sink: &sink) }
        if fields & 4 != 0 { writeSalaryExpectation(sink: &sink) }
        if fields & 8 != 0 { sink.key("remote_preference"); sink.plainString(rng.pick(Vocabulary.remotePreferences)) }
        if fields & 16 != 0 {
            sink.key("years_experience"); sink.integer(yearsExperience)
            sink.key("experience_level"); sink.plainString(experienceLevel)
        }
        if fields & 32 != 0 { sink.key("linkedin_url"); sink.string(identity.linkedinURL) }
        sink.endEvent()
        agenda.schedule(.profilePartial, at: daytime(45, 150))
    }

    mutating func writeCareerGoals<S: EventSink>(sink: inout S) {
        sink.key("career_goals"); sink.beginArray()
        let first = rng.below(Vocabulary.careerGoals.count)
        let count = rng.int(1...3)
        for offset in 0..<count {
            sink.plainString(Vocabulary.careerGoals[(first + offset * 3) % Vocabulary.careerGoals.count])
        }
        sink.endArray()
    }

    mutating func writeSalaryExpectation<S: EventSink>(sink: inout S) {
        let market = Salary.market(role: targetRole, years: yearsExperience, currency: currency, rng: &rng)
        let minimum = Salary.rounded(Double(market) * rng.uniform(0.8, 1.0), currency: currency)
        let maximum = Salary.rounded(Double(market) * rng.uniform(1.05, 1.35), currency: currency)
        sink.key("salary_expectation"); sink.beginObject()
        sink.key("min"); sink.integer(minimum)
        sink.key("max"); sink.integer(max(minimum, maximum))
        sink.key("currency"); sink.plainString(Vocabulary.currencies[currency].code)
        sink.endObject()
    }

    // MARK: - Skills

    mutating func cvParse<S: EventSink>(sink: inout S) {
        beginEvent("cv.parsed", source: rng.chance(0.7) ? .skillsync : .careerpilot, sink: &sink)
        sink.key("cv_id"); sink.uuid(rng.uuid())
        sink.key("skills"); sink.beginArray()
        var listed: [Int] = []
        let count = rng.int(3...8)
        for attempt in 0..<(count * 3) where listed.count < count {
            let skill = attempt < focusSkills.count && rng.chance(0.7)
                ? focusSkills[attempt].skill
                : (rng.chance(0.5) ? rng.pick(Vocabulary.softSkills) : rng.below(Vocabulary.skills.count))
            if listed.contains(skill) { continue }
            listed.append(skill)
            sink.plainString(Vocabulary.skills[skill].name)
        }
        sink.endArray()
        if rng.chance(0.85) {
            sink.key("experience"); sink.beginArray()
            for entry in 0..<rng.int(1...4) {
                sink.beginObject()
                sink.key("title"); sink.plainString(Vocabulary.roles[entry == 0 ? currentRole : rng.pick(Vocabulary.formerRoles)])
                sink.key("company"); sink.plainString(Vocabulary.companies[entry == 0 ? currentCompany : rng.below(Vocabulary.companies.count)])
                sink.key("months"); sink.integer(rng.int(3...72))
                sink.endObject()
            }
            sink.endArray()
        }
        if rng.chance(0.8) {
            let graduated = CivilTime.date(epochDay: CivilTime.epochDay(ofMillis: now)).year - yearsExperience - rng.int(0...3)
            sink.key("education"); sink.beginArray()
            for entry in 0..<rng.int(1...2) {
                sink.beginObject()
                sink.key("degree"); sink.plainString(rng.pick(Vocabulary.degrees))
                sink.key("institution"); sink.plainString(rng.pick(Vocabulary.institutions))
                sink.key("year"); sink.integer(graduated - entry * rng.int(2...4))
                sink.endObject()
            }
            sink.endArray()
        }
        if rng.chance(0.3) {
            sink.key("certifications"); sink.beginArray()
            sink.plainString(rng.pick(Vocabulary.certificates).name)
            sink.endArray()
        }
        sink.endEvent()
        if rng.chance(0.15) { agenda.schedule(.cvParse, at: daytime(90, 250)) }
    }

    /// Scores follow each focus skill's growth curve, so a skill's level
    /// rises over the learner's history instead of jumping at random.
    mutating func skillAssessment<S: EventSink>(sink: inout S) {
        var source = rng.weighted(Vocabulary.skillSourceWeights)
        if source == 5, mentorship == nil, lastMentorId == nil { source = 4 }  // no mentor yet: a test instead
        beginEvent("skill.assessed", source: source == 4 && rng.chance(0.3) ? .smatrx : .skillsync, sink: &sink)
        let skill: Int
        var score: Int
        if rng.chance(0.85) {
            let focus = rng.pick(focusSkills)
            skill = focus.skill
            let days = Int((now - registeredAt) / Millis.day)
            score = focus.baseScore + focus.growthPerHundredDays * days / 100 + rng.int(-6...6)
        } else {
            skill = rng.below(Vocabulary.skills.count)
            score = rng.int(5...70)
        }
        score = min(100, max(0, score))
        sink.key("skill"); sink.plainString(Vocabulary.skills[skill].name)
        sink.key("category"); sink.plainString(Vocabulary.skills[skill].category)
        sink.key("level"); sink.plainString(Learner.level(forScore: score))
        if rng.chance(0.9) { sink.key("score"); sink.integer(score) }
        sink.key("source"); sink.plainString(Vocabulary.skillSources[source])
        let verifiedChance = source == 4 ? 0.7 : (source == 5 ? 0.8 : 0.1)
        if rng.chance(0.75) { sink.key("verified"); sink.bool(rng.chance(verifiedChance)) }
        if source == 5, let mentor = mentorship?.mentorId ?? lastMentorId {
            sink.key("assessor_id"); sink.uuid(mentor)
        } else if source == 4, rng.chance(0.4) {
            sink.key("assessor_id"); sink.uuid(rng.uuid())
        }
        sink.endEvent()
        agenda.schedule(.skillAssessment, at: daytime(7, 40))
    }

    static func level(forScore score: Int) -> StaticString {
        switch score {
        case ..<40: return "beginner"
        case 40..<65: return "intermediate"
        case 65..<85: return "advanced"
        default: return "expert"
        }
    }

    // MARK: - Erasure

    /// GDPR erasure ends the history: nothing else is emitted for this subject.
    mutating func erase<S: EventSink>(sink: inout S) {
        beginEvent("user.erased", source: platform.source, sink: &sink)
        sink.key("reason"); sink.plainString(rng.pick(Vocabulary.erasureReasons))
        sink.endEvent()
        agenda.removeAll()
    }
}
