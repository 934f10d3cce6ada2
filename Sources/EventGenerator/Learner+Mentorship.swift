/// The mentorship and portfolio threads.
extension Learner {
    // MARK: - Mentorship

    /// Starts a mentorship with a mentor registered by now (rarely an
    /// external one). Skipped when one is still running.
    mutating func mentorshipStart<S: EventSink>(world: World, sink: inout S) -> Bool {
        guard mentorship == nil else { return false }
        let started = Mentorship(id: rng.uuid(), mentorId: world.pickMentor(at: now, avoiding: lastMentorId, rng: &rng),
                                 sessionsLeft: rng.int(2...14))
        mentorship = started
        beginEvent("mentorship.started", source: .careerforge, sink: &sink)
        sink.key("mentorship_id"); sink.uuid(started.id)
        sink.key("mentor_id"); sink.uuid(started.mentorId)
        if rng.chance(0.85) {
            sink.key("goals"); sink.beginArray()
            let first = rng.below(Vocabulary.mentorshipGoals.count)
            for offset in 0..<rng.int(1...3) {
                sink.plainString(Vocabulary.mentorshipGoals[(first + offset * 2) % Vocabulary.mentorshipGoals.count])
            }
            sink.endArray()
        }
        sink.endEvent()
        agenda.schedule(.mentorshipSession, at: daytime(2, 10))
        if rng.chance(0.02) { agenda.schedule(.mentorshipRestart, at: daytime(0.5, 5)) }
        return true
    }

    /// The start is sent again after a mentor swap, naming another mentor;
    /// the mentorship stays with the mentor named first.
    mutating func mentorshipRestart<S: EventSink>(world: World, sink: inout S) -> Bool {
        guard let current = mentorship else { return false }
        beginEvent("mentorship.started", source: .careerforge, sink: &sink)
        sink.key("mentorship_id"); sink.uuid(current.id)
        sink.key("mentor_id"); sink.uuid(world.pickMentor(at: now, avoiding: current.mentorId, rng: &rng))
        sink.endEvent()
        return true
    }

    /// A session logged against a mentorship this log never saw start
    /// (booked on another platform); analytics ignore it.
    mutating func orphanSession<S: EventSink>(sink: inout S) {
        beginEvent("mentorship.session_held", source: .careerforge, sink: &sink)
        sink.key("mentorship_id"); sink.uuid(rng.uuid())
        sink.key("duration_minutes"); sink.integer(15 * rng.int(2...6))
        sink.endEvent()
    }

    mutating func mentorshipSession<S: EventSink>(sink: inout S) -> Bool {
        guard var current = mentorship else { return false }
        beginEvent("mentorship.session_held", source: .careerforge, sink: &sink)
        sink.key("mentorship_id"); sink.uuid(current.id)
        let minutes = rng.chance(0.03) ? rng.int(1...4) * 60 + 120 : 15 * rng.int(2...6)
        sink.key("duration_minutes"); sink.integer(minutes)
        if rng.chance(0.9) { sink.key("topic"); sink.plainString(rng.pick(Vocabulary.sessionTopics)) }
        if rng.chance(0.7) { sink.key("mentee_rating"); sink.integer(1 + rng.weighted([2, 4, 14, 42, 38])) }
        sink.endEvent()

        current.sessionsLeft -= 1
        mentorship = current
        if rng.chance(0.01) { agenda.schedule(.orphanSession, at: daytime(1, 10)) }
        if rng.chance(0.04) {
            agenda.schedule(.mentorshipEnd(cancelled: true), at: daytime(1, 20))
        } else if current.sessionsLeft > 0 {
            agenda.schedule(.mentorshipSession, at: daytime(5, 21))
        } else if rng.chance(0.85) {
            agenda.schedule(.mentorshipEnd(cancelled: false), at: daytime(1, 14))
        }  // else: never formally ended
        return true
    }

    mutating func mentorshipEnd<S: EventSink>(cancelled: Bool, sink: inout S) -> Bool {
        guard let current = mentorship else { return false }
        beginEvent("mentorship.ended", source: .careerforge, sink: &sink)
        sink.key("mentorship_id"); sink.uuid(current.id)
        if rng.chance(0.95) { sink.key("outcome"); sink.plainString(cancelled ? "cancelled" : "completed") }
        sink.endEvent()
        lastMentorId = current.mentorId
        mentorship = nil
        if rng.chance(0.12) { agenda.schedule(.mentorshipStart, at: daytime(14, 90)) }
        return true
    }

    // MARK: - Portfolio

    mutating func projectAdd<S: EventSink>(sink: inout S) {
        projectsAdded += 1
        let project = rng.uuid()
        let title = rng.below(Vocabulary.projectTitles.count)
        beginEvent("portfolio.project_added", source: .careerforge, sink: &sink)
        sink.key("project_id"); sink.uuid(project)
        sink.key("title"); sink.plainString(Vocabulary.projectTitles[title])
        if rng.chance(0.9) {
            sink.key("technologies"); sink.beginArray()
            let first = rng.below(focusSkills.count)
            for offset in 0..<rng.int(1...min(4, focusSkills.count)) {
                sink.plainString(Vocabulary.skills[focusSkills[(first + offset) % focusSkills.count].skill].name)
            }
            sink.endArray()
        }
        if rng.chance(0.7) {
            var url = Array("https://projects.example.dev/".utf8)
            project.write(into: &url)
            sink.key("url"); sink.string(String(decoding: url, as: UTF8.self))
        }
        sink.endEvent()
        let reviews = rng.weighted([25, 35, 25, 15])
        if reviews > 0 { agenda.schedule(.projectReview(project, remaining: UInt8(reviews)), at: daytime(2, 25)) }
        if rng.chance(0.15) { agenda.schedule(.milestone(.projectCompletion(UInt8(title))), at: minutesLater(60, 3 * 24 * 60)) }
        if projectsAdded < projectsPlanned { agenda.schedule(.projectAdd, at: daytime(25, 120)) }
    }

    mutating func projectReview<S: EventSink>(_ project: UUID128, remaining: UInt8, world: World, sink: inout S) {
        beginEvent("project.reviewed", source: .careerforge, sink: &sink)
        sink.key("project_id"); sink.uuid(project)
        let role = rng.weighted([40, 40, 20])
        if rng.chance(0.9) {
            let reviewer: UUID128?
            switch role {
            case 0: reviewer = mentorship?.mentorId ?? lastMentorId ?? world.pickMentor(at: now, avoiding: nil, rng: &rng)
            case 1: reviewer = world.pickPeer(of: index, at: now, rng: &rng)
            default: reviewer = rng.uuid()  // an invited expert from outside
            }
            if let reviewer { sink.key("reviewer_id"); sink.uuid(reviewer) }
        }
        sink.key("reviewer_role"); sink.plainString(Vocabulary.reviewerRoles[role])
        let score = 1 + rng.weighted([5, 10, 30, 35, 20])
        sink.key("score"); sink.integer(score)
        if rng.chance(0.8) { sink.key("showcase_ready"); sink.bool(score >= 4 && rng.chance(0.8)) }
        sink.endEvent()
        if remaining > 1 { agenda.schedule(.projectReview(project, remaining: remaining - 1), at: daytime(1, 20)) }
    }
}
