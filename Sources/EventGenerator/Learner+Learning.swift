/// The learning threads: activities, certifications, roadmaps and goals.
extension Learner {
    // MARK: - Activities

    /// One study session: starts an activity when there is room (or none is
    /// open), else reports progress on one, completing it when its estimated
    /// hours are spent. Percentages rise strictly; `hours` are the hours
    /// since the previous report, always > 0 on `learning.progressed`.
    mutating func learningSession<S: EventSink>(sink: inout S) {
        if activities.isEmpty || (activities.count < activitiesConcurrentMax && rng.chance(0.12)) {
            learningStart(sink: &sink)
        } else {
            let slot = rng.below(activities.count)
            let quarters = rng.int(1...cadence.sessionQuartersMax)
            activities[slot].doneQuarters += quarters
            let activity = activities[slot]
            let percent = activity.doneQuarters * 100 / activity.estimatedQuarters
            if percent >= 100 || (activity.percent >= 99) {
                learningComplete(slot: slot, quarters: quarters, sink: &sink)
            } else {
                let reported = max(activity.percent + 1, percent)
                activities[slot].percent = reported
                beginEvent("learning.progressed", source: .smatrx, sink: &sink)
                sink.key("activity_id"); sink.uuid(activity.id)
                sink.key("completion_percentage"); sink.integer(reported)
                sink.key("hours"); sink.quarterHours(quarters)
                sink.endEvent()
                if rng.chance(0.012) { activities.remove(at: slot) }  // abandoned, never completed
            }
        }
        let pause = rng.chance(0.006) ? rng.uniform(5, 25) : 0  // a holiday or a busy spell
        agenda.schedule(.learningSession, at: daytime(cadence.gapDaysMin + pause, cadence.gapDaysMax + pause))
    }

    mutating func learningStart<S: EventSink>(sink: inout S) {
        let type = ActivityType(rawValue: rng.weighted([45, 12, 12, 6, 13, 12]))!
        var certificate = 0
        let title: String
        let skill = rng.pick(focusSkills).skill
        if type == .certification {
            let candidates = Vocabulary.certificatesByProgram[track]
            certificate = candidates.isEmpty || rng.chance(0.2)
                ? rng.below(Vocabulary.certificates.count) : rng.pick(candidates)
            title = Vocabulary.certificates[certificate].name.description + " preparation"
        } else {
            let skillName = Vocabulary.skills[skill].name.description
            switch type {
            case .project: title = "Guided project: " + skillName
            case .mentoring: title = skillName + " mentoring circle"
            case .reading: title = "Reading: The " + skillName + " Handbook"
            case .practice: title = skillName + " practice set"
            default:
                let pattern = rng.pick(Vocabulary.courseTitlePatterns)
                title = pattern.prefix + skillName + pattern.suffix
            }
        }
        let hoursRange: ClosedRange<Int>
        switch type {
        case .course: hoursRange = 6...40
        case .certification: hoursRange = 20...80
        case .project: hoursRange = 10...50
        case .mentoring: hoursRange = 4...12
        case .reading: hoursRange = 3...15
        case .practice: hoursRange = 2...10
        }
        let activity = Activity(id: rng.uuid(), type: type, certificate: certificate,
                                estimatedQuarters: 4 * rng.int(hoursRange), doneQuarters: 0, percent: 0)
        activities.append(activity)

        beginEvent("learning.started", source: .smatrx, sink: &sink)
        sink.key("activity_id"); sink.uuid(activity.id)
        sink.key("activity_type"); sink.plainString(type.name)
        sink.key("title"); sink.string(title)
        if rng.chance(0.85) { sink.key("provider"); sink.plainString(rng.pick(Vocabulary.providers)) }
        if rng.chance(0.8) {
            sink.key("skills_targeted"); sink.beginArray()
            sink.plainString(Vocabulary.skills[skill].name)
            let second = rng.pick(focusSkills).skill
            if second != skill, rng.chance(0.5) { sink.plainString(Vocabulary.skills[second].name) }
            sink.endArray()
        }
        if rng.chance(0.6) { writeCost(sink: &sink) }
        sink.endEvent()
    }

    /// `cost` in the learner's currency (sometimes USD); 30% free courses.
    mutating func writeCost<S: EventSink>(sink: inout S) {
        let costCurrency = rng.chance(0.85) ? currency : 0
        let info = Vocabulary.currencies[costCurrency]
        sink.key("cost"); sink.beginObject()
        sink.key("amount")
        if rng.chance(0.3) {
            sink.integer(0)
        } else {
            let whole = Int((rng.uniform(10, 600) * info.salaryScale).rounded())
            if info.hasCents, rng.chance(0.7) { sink.cents(max(1, whole * 100 - 1)) } else { sink.integer(max(1, whole)) }
        }
        sink.key("currency"); sink.plainString(info.code)
        sink.endObject()
    }

    mutating func learningComplete<S: EventSink>(slot: Int, quarters: Int, sink: inout S) {
        let activity = activities.remove(at: slot)
        beginEvent("learning.completed", source: .smatrx, sink: &sink)
        sink.key("activity_id"); sink.uuid(activity.id)
        let hoursPresence = rng.unit()
        if hoursPresence < 0.85 {
            sink.key("hours"); sink.quarterHours(quarters)
        } else if hoursPresence < 0.92 {
            sink.key("hours"); sink.integer(0)  // the last session was already reported
        }
        if rng.chance(0.7) { sink.key("rating"); sink.integer(1 + rng.weighted([3, 6, 18, 40, 33])) }
        sink.endEvent()
        if activity.type == .certification, rng.chance(0.85) {
            agenda.schedule(.certification(UInt8(activity.certificate)), at: daytime(1, 21))
        }
    }

    // MARK: - Certifications

    mutating func certification<S: EventSink>(_ index: Int, sink: inout S) {
        let certificate = Vocabulary.certificates[index]
        beginEvent("certification.earned", source: rng.chance(0.6) ? .smatrx : .careerforge, sink: &sink)
        sink.key("name"); sink.plainString(certificate.name)
        sink.key("issuer"); sink.plainString(certificate.issuer)
        if rng.chance(0.75) { sink.key("credential_id"); sink.string(credentialId()) }
        let issuedOn = CivilTime.epochDay(ofMillis: now) - Int64(rng.int(0...2))
        sink.key("issued_on"); sink.date(issuedOn)
        if certificate.validYears > 0, rng.chance(0.9) {
            let expires = CivilTime.adding(months: 12 * certificate.validYears, to: CivilTime.date(epochDay: issuedOn))
            sink.key("expires_on"); sink.date(CivilTime.epochDay(year: expires.year, month: expires.month, day: expires.day))
        }
        sink.endEvent()
        if rng.chance(0.3) { agenda.schedule(.milestone(.certification(UInt8(index))), at: minutesLater(30, 2 * 24 * 60)) }
    }

    /// `ABC-1234567`: three letters, a dash, seven digits.
    mutating func credentialId() -> String {
        var bytes: [UInt8] = []
        for _ in 0..<3 { bytes.append(UInt8(ascii: "A") + UInt8(rng.below(26))) }
        bytes.append(UInt8(ascii: "-"))
        for _ in 0..<7 { bytes.append(UInt8(ascii: "0") + UInt8(rng.below(10))) }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Roadmaps

    mutating func roadmapCreate<S: EventSink>(sink: inout S) {
        roadmapsCreated += 1
        let taskCount = rng.int(5...40)
        let durationWeeks = max(rng.int(4...52), (taskCount + 2) / 3)
        let created = Roadmap(id: rng.uuid(), seed: rng.next(), createdAt: now, taskCount: taskCount,
                              durationWeeks: durationWeeks, phases: rng.int(1...min(4, durationWeeks)),
                              diligence: rng.uniform(0.35, 0.97))
        let program = Vocabulary.programs[track]
        beginEvent("roadmap.created", source: .careerpilot, sink: &sink)
        sink.key("roadmap_id"); sink.uuid(created.id)
        sink.key("title"); sink.string("Path to " + Vocabulary.roles[targetRole].description)
        if rng.chance(0.85) { sink.key("career_path"); sink.plainString(program.careerPath) }
        sink.key("duration_weeks"); sink.integer(durationWeeks)
        sink.key("tasks"); sink.beginArray()
        for index in 0..<taskCount {
            let task = Learner.task(index, of: created)
            sink.beginObject()
            sink.key("task_id"); sink.uuid(task.id)
            sink.key("phase"); sink.integer(task.phase)
            sink.key("week"); sink.integer(task.week)
            sink.key("title"); sink.string(taskTitle(task))
            sink.key("type"); sink.plainString(Vocabulary.taskTypes[task.type])
            sink.key("estimated_hours"); sink.quarterHours(task.estimatedQuarters)
            sink.endObject()
        }
        sink.endArray()
        sink.endEvent()
        roadmap = created
        scheduleNextTask()
    }

    /// Task `index` of `roadmap`: weeks rise with the index, phases with the
    /// week; the rest is hashed from the roadmap's seed.
    static func task(_ index: Int, of roadmap: Roadmap) -> RoadmapTask {
        let week = 1 + index * roadmap.durationWeeks / roadmap.taskCount
        let phase = 1 + (week - 1) * roadmap.phases / roadmap.durationWeeks
        let key = roadmap.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        let hash = SplitMix64.mix(key ^ 0x7461_736B)  // "task"
        return RoadmapTask(
            id: UUID128(derivedFrom: key),
            phase: phase,
            week: week,
            type: Int(hash % 4),
            estimatedQuarters: 2 + Int((hash >> 8) % 63),
            verb: Int((hash >> 16) % UInt64(Vocabulary.taskVerbs.count)),
            skillSlot: Int((hash >> 24) % 6)
        )
    }

    func taskTitle(_ task: RoadmapTask) -> String {
        let skill = focusSkills[task.skillSlot % focusSkills.count].skill
        return Vocabulary.taskVerbs[task.verb] + " " + Vocabulary.skills[skill].name.description
    }

    /// Picks the next task the learner will complete (some are skipped, a
    /// few roadmaps are abandoned) and schedules it near its planned week,
    /// or soon when the learner is behind.
    mutating func scheduleNextTask() {
        guard var current = roadmap else { return }
        while current.nextTask < current.taskCount {
            let task = Learner.task(current.nextTask, of: current)
            if rng.chance(0.02) { break }  // abandoned
            if rng.chance(current.diligence) {
                let planned = current.createdAt + Int64(task.week - 1) * 7 * Millis.day
                let when = planned > now
                    ? identity.daytime(after: planned, 0, 7, rng: &rng)
                    : daytime(0.1, 4)
                roadmap = current
                agenda.schedule(.taskComplete, at: when)
                return
            }
            current.nextTask += 1
        }
        roadmap = nil
        if roadmapsCreated < 2, rng.chance(0.2) { agenda.schedule(.roadmapCreate, at: daytime(14, 90)) }
    }

    mutating func taskComplete<S: EventSink>(sink: inout S) {
        guard let current = roadmap else { preconditionFailure("task scheduled without a roadmap") }
        let task = Learner.task(current.nextTask, of: current)
        beginEvent("task.completed", source: .careerpilot, sink: &sink)
        sink.key("roadmap_id"); sink.uuid(current.id)
        sink.key("task_id"); sink.uuid(task.id)
        if rng.chance(0.88) {
            sink.key("actual_hours"); sink.quarterHours(Int(Double(task.estimatedQuarters) * rng.uniform(0.5, 1.7)))
        }
        sink.endEvent()
        roadmap?.nextTask += 1
        scheduleNextTask()
    }

    // MARK: - Goals

    mutating func goalSet<S: EventSink>(sink: inout S) {
        goalsSet += 1
        let goal = rng.uuid()
        beginEvent("goal.set", source: .careerpilot, sink: &sink)
        sink.key("goal_id"); sink.uuid(goal)
        let kind = rng.weighted([35, 25, 20, 20])
        switch kind {
        case 0:
            let skill = rng.pick(focusSkills).skill
            sink.key("title"); sink.string("Reach an advanced level in " + Vocabulary.skills[skill].name.description)
            sink.key("kind"); sink.plainString("skill")
        case 1:
            sink.key("title"); sink.string("Land a " + Vocabulary.roles[targetRole].description + " role")
            sink.key("kind"); sink.plainString("role")
        case 2:
            sink.key("title"); sink.string("Earn " + rng.pick(Vocabulary.certificates).name.description)
            sink.key("kind"); sink.plainString("certification")
        default:
            sink.key("title"); sink.string("Ship a portfolio project: " + rng.pick(Vocabulary.projectTitles).description)
            sink.key("kind"); sink.plainString("project")
        }
        if rng.chance(0.8) {
            sink.key("target_date"); sink.date(CivilTime.epochDay(ofMillis: now) + Int64(rng.int(30...240)))
        }
        if rng.chance(0.85) { sink.key("priority"); sink.plainString(rng.pick(Vocabulary.goalPriorities)) }
        sink.endEvent()
        if rng.chance(0.45) { agenda.schedule(.goalAchieve(goal), at: daytime(14, 200)) }
        if goalsSet < goalsPlanned { agenda.schedule(.goalSet, at: daytime(30, 120)) }
    }

    mutating func goalAchieve<S: EventSink>(_ goal: UUID128, sink: inout S) {
        beginEvent("goal.achieved", source: .careerpilot, sink: &sink)
        sink.key("goal_id"); sink.uuid(goal)
        sink.endEvent()
    }
}
