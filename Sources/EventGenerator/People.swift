/// Mentors: an optional user account, then `mentor.registered`, then a profile.
///
/// Registration instants are drawn when the generator is built, before any
/// event is produced, so `World` can tell learners which mentors exist at a
/// given time.
struct Mentor: Sendable {
    let id: UUID128
    var rng: SplitMix64
    var agenda: Agenda<MentorAction>
    let identity: Identity
    /// When the `user.registered` of a mentor with a platform account happens.
    let accountAt: Int64?
    let registeredAt: Int64
    let track: Int
    let yearsExperience: Int
    var now: Int64 = 0

    init(index: Int, seed: UInt64, startMillis: Int64, endMillis: Int64) {
        var rng = SplitMix64(seed: seed, domain: Domain.mentor, index: index)
        self.id = rng.uuid()
        self.identity = Identity(number: 1_000_000_000 + index, rng: &rng)
        let window = Double(endMillis - startMillis)
        // Mentor 0 opens the platform; half register within two weeks, the
        // rest through the first 70% of the window.
        let offset: Double
        if index == 0 {
            offset = rng.uniform(1, 12) * Double(Millis.hour)
        } else if rng.chance(0.5) {
            offset = min(rng.uniform(0, 14) * Double(Millis.day), 0.5 * window)
        } else {
            offset = rng.uniform(0, 0.7) * window
        }
        let registeredAt = startMillis + Int64(offset)
        self.registeredAt = registeredAt
        self.accountAt = rng.chance(0.8)
            ? max(startMillis, registeredAt - Int64(rng.uniform(0.01, 3) * Double(Millis.day)))
            : nil
        self.track = rng.weighted(Vocabulary.programWeights)
        self.yearsExperience = rng.int(6...35)
        self.rng = rng
        self.agenda = Agenda(horizon: endMillis)
        if let accountAt { agenda.schedule(.userRegister, at: accountAt) }
        agenda.schedule(.mentorRegister, at: registeredAt)
    }

    mutating func step<S: EventSink>(sink: inout S) -> Bool {
        guard let item = agenda.popNext() else { preconditionFailure("stepped a finished mentor") }
        precondition(item.time >= now, "a mentor's actions went back in time")
        now = item.time
        switch item.action {
        case .userRegister:
            sink.beginEvent("user.registered", id: rng.uuid(), source: .careerforge, subject: id, time: now)
            identity.writeRegistration(platform: .careerforge, into: &sink)
            sink.endEvent()
        case .mentorRegister:
            writeMentorRegistered(sink: &sink)
            agenda.schedule(.profile, at: identity.daytime(after: now, 0.05, 10, rng: &rng))
        case .profile:
            sink.beginEvent("profile.updated", id: rng.uuid(), source: .careerforge, subject: id, time: now)
            sink.key("current_role"); sink.plainString(rng.pick(Vocabulary.mentorRoles))
            sink.key("current_company"); sink.plainString(rng.pick(Vocabulary.companies))
            sink.key("industry"); sink.plainString(rng.pick(Vocabulary.industries))
            sink.key("experience_level"); sink.plainString(yearsExperience >= 15 ? "executive" : "senior")
            sink.key("years_experience"); sink.integer(yearsExperience)
            if rng.chance(0.8) { sink.key("linkedin_url"); sink.string(identity.linkedinURL) }
            sink.endEvent()
        }
        return true
    }

    mutating func writeMentorRegistered<S: EventSink>(sink: inout S) {
        sink.beginEvent("mentor.registered", id: rng.uuid(), source: .careerforge, subject: id, time: now)
        let skills = Vocabulary.programs[track].skills
        sink.key("expertise"); sink.beginArray()
        let first = rng.below(skills.count)
        for offset in 0..<rng.int(2...min(5, skills.count)) {
            sink.plainString(Vocabulary.skills[skills[(first + offset) % skills.count]].name)
        }
        sink.endArray()
        sink.key("industry"); sink.plainString(rng.pick(Vocabulary.industries))
        if rng.chance(0.85) { sink.key("years_experience"); sink.integer(yearsExperience) }
        if rng.chance(0.85) { sink.key("max_mentees"); sink.integer(rng.int(4...25)) }
        sink.endEvent()
    }
}

enum MentorAction: Sendable {
    case userRegister, mentorRegister, profile
}

/// Recruiters: a TalentHub account, a profile, then positions opened every
/// few days to weeks.
struct Recruiter: Sendable {
    let id: UUID128
    var rng: SplitMix64
    var agenda: Agenda<RecruiterAction>
    let identity: Identity
    let organization: Int
    let positionGapDays: Double
    var now: Int64 = 0

    init(index: Int, seed: UInt64, startMillis: Int64, endMillis: Int64) {
        var rng = SplitMix64(seed: seed, domain: Domain.recruiter, index: index)
        self.id = rng.uuid()
        self.identity = Identity(number: 2_000_000_000 + index, rng: &rng)
        self.organization = rng.below(Vocabulary.companies.count)
        self.positionGapDays = rng.uniform(4, 20)
        let registeredAt = startMillis + Int64(rng.uniform(0, 0.5) * Double(endMillis - startMillis))
        self.rng = rng
        self.agenda = Agenda(horizon: endMillis)
        agenda.schedule(.register, at: registeredAt)
    }

    mutating func step<S: EventSink>(sink: inout S) -> Bool {
        guard let item = agenda.popNext() else { preconditionFailure("stepped a finished recruiter") }
        precondition(item.time >= now, "a recruiter's actions went back in time")
        now = item.time
        switch item.action {
        case .register:
            sink.beginEvent("user.registered", id: rng.uuid(), source: .talenthub, subject: id, time: now)
            identity.writeRegistration(platform: .talenthub, into: &sink)
            sink.endEvent()
            agenda.schedule(.profile, at: now + Int64(rng.uniform(0.02, 2) * Double(Millis.day)))
            agenda.schedule(.positionOpen, at: identity.daytime(after: now, 1, 10, rng: &rng))
        case .profile:
            sink.beginEvent("profile.updated", id: rng.uuid(), source: .talenthub, subject: id, time: now)
            sink.key("current_role"); sink.plainString(rng.pick(Vocabulary.recruiterRoles))
            sink.key("current_company"); sink.plainString(Vocabulary.companies[organization])
            sink.key("industry"); sink.plainString(rng.pick(Vocabulary.industries))
            sink.endEvent()
        case .positionOpen:
            writePositionOpened(sink: &sink)
            agenda.schedule(.positionOpen, at: identity.daytime(after: now, positionGapDays * 0.5, positionGapDays * 1.5, rng: &rng))
        }
        return true
    }

    mutating func writePositionOpened<S: EventSink>(sink: inout S) {
        let program = Vocabulary.programs[rng.weighted(Vocabulary.programWeights)]
        sink.beginEvent("position.opened", id: rng.uuid(), source: .talenthub, subject: id, time: now)
        sink.key("position_id"); sink.uuid(rng.uuid())
        sink.key("organization"); sink.plainString(Vocabulary.companies[rng.chance(0.8) ? organization : rng.below(Vocabulary.companies.count)])
        sink.key("title"); sink.plainString(Vocabulary.roles[rng.pick(program.targetRoles)])
        if rng.chance(0.9) {
            sink.key("required_skills"); sink.beginArray()
            let first = rng.below(program.skills.count)
            for offset in 0..<rng.int(2...min(6, program.skills.count)) {
                sink.plainString(Vocabulary.skills[program.skills[(first + offset) % program.skills.count]].name)
            }
            sink.endArray()
        }
        sink.endEvent()
    }
}

enum RecruiterAction: Sendable {
    case register, profile, positionOpen
}
