/// The program and job-search threads: enrollment, interview practice,
/// applications and their stages, placements and what follows them.
extension Learner {
    // MARK: - Program

    mutating func enroll<S: EventSink>(sink: inout S) {
        enrolledAt = now
        writeEnrollment(program: track, sink: &sink)

        let searchStart = daytime(10, 75)
        planJobSearch(start: searchStart, anchor: now, placedProbability: isShowcase ? 1 : 0.68,
                      delay: isShowcase ? 365 * Millis.day : nil)
        agenda.schedule(.interviewPractice, at: daytime(5, 40))
        switch mentorshipPlan {
        case .duringProgram:
            // Some programs assign the mentor at enrollment: same instant.
            agenda.schedule(.mentorshipStart, at: rng.chance(0.05) ? now : daytime(3, 60))
        case .atEnrollment:
            agenda.schedule(.mentorshipStart, at: now)
        case .none, .beforeEnrollment:
            break
        }
        if rng.chance(0.03) { agenda.schedule(.reenroll, at: daytime(60, 300)) }
    }

    /// A second enrollment (another program, its own cohort); analytics keep the first.
    mutating func reenroll<S: EventSink>(sink: inout S) {
        writeEnrollment(program: (track + rng.int(1...Vocabulary.programs.count - 1)) % Vocabulary.programs.count, sink: &sink)
    }

    mutating func writeEnrollment<S: EventSink>(program index: Int, sink: inout S) {
        let program = Vocabulary.programs[index]
        beginEvent("program.enrolled", source: .careerforge, sink: &sink)
        sink.key("program"); sink.plainString(program.name)
        sink.key("cohort"); sink.month(now)
        sink.key("target_industry"); sink.plainString(Vocabulary.industries[rng.chance(0.6) ? 0 : rng.below(Vocabulary.industries.count)])
        sink.key("target_role"); sink.plainString(Vocabulary.roles[index == track ? targetRole : rng.pick(program.targetRoles)])
        sink.key("baseline_salary"); sink.money(salary, currency: currency)
        sink.endEvent()
    }

    /// Plans a job search from `start`: whether and when it ends in a
    /// placement (`delay` after `anchor`, the enrollment; drawn when nil),
    /// and which application wins it.
    mutating func planJobSearch(start: Int64, anchor: Int64, placedProbability: Double, delay: Int64? = nil) {
        var start = start
        if rng.chance(placedProbability) {
            let placeAt = anchor + (delay ?? drawPlacementDelay())
            start = min(start, placeAt - 14 * Millis.day)
            plannedPlacementAt = placeAt
            searchUntil = placeAt
            agenda.schedule(.placement, at: placeAt)
            if rng.chance(0.87) {
                let lead = rng.days(21, 50)
                agenda.schedule(.winningApplication, at: max(start, placeAt - lead))
            }
        } else {
            searchUntil = start + rng.days(120, 420)
        }
        agenda.schedule(.applicationSend, at: max(start, now + Millis.hour))
    }

    /// Time from enrollment to placement: ~22% within 3 months, ~65%
    /// within a year, 3% exactly 365 days (the inclusive bound of "placed
    /// within 12 months"), ~10% later (seen only with --months > 12).
    mutating func drawPlacementDelay() -> Int64 {
        switch rng.weighted([22, 38, 27, 3, 10]) {
        case 0: return rng.days(20, 90)
        case 1: return rng.days(90, 200)
        case 2: return rng.days(200, 360)
        case 3: return 365 * Millis.day
        default: return rng.days(366, 540)
        }
    }

    mutating func interviewPractice<S: EventSink>(sink: inout S) {
        beginEvent("interview.practiced", source: .careerforge, sink: &sink)
        if rng.chance(0.9) { sink.key("kind"); sink.plainString(rng.pick(Vocabulary.interviewKinds)) }
        let practicedDays = Int((now - (enrolledAt ?? registeredAt)) / Millis.day)
        let score = 40 + (index % 25) + practicedDays / 10 + rng.int(-12...12)
        sink.key("score"); sink.integer(min(100, max(0, score)))
        sink.endEvent()
        let next = daytime(4, 21)
        if next < searchUntil, placedAt == nil { agenda.schedule(.interviewPractice, at: next) }
    }

    // MARK: - Applications

    mutating func newApplication(winning: Bool) -> Application {
        let program = Vocabulary.programs[track]
        let role = rng.chance(winning ? 0.9 : 0.75) ? targetRole : rng.pick(program.targetRoles)
        let stages: [Int]
        if winning {
            // offer without interview, repeated interview and offer-less hires happen too
            stages = [[1, 2, 3], [2, 3], [1, 2, 2, 3], [1, 3], [1, 2]][rng.weighted([78, 7, 6, 5, 4])]
        } else {
            stages = [
                [], [1, 4], [4], [1, 2, 4], [1, 2, 2, 4], [1, 5], [1, 2, 3, 5],
                [1, 3, 5], [2, 1, 4], [1, 1, 2, 4], [1, 2, 3, 4],
            ][rng.weighted([40, 22, 12, 10, 3, 4, 3, 2, 2, 1, 1])]
        }
        return Application(id: rng.uuid(), company: UInt8(rng.below(Vocabulary.companies.count)),
                           role: UInt8(role), stages: Application.pack(stages), isWinning: winning)
    }

    mutating func writeApplicationSent<S: EventSink>(_ application: Application, sink: inout S) {
        beginEvent("application.sent", source: rng.chance(0.6) ? .talenthub : .careerpilot, sink: &sink)
        sink.key("application_id"); sink.uuid(application.id)
        sink.key("company"); sink.plainString(Vocabulary.companies[Int(application.company)])
        sink.key("position"); sink.plainString(Vocabulary.roles[Int(application.role)])
        if rng.chance(0.92) {
            let channel = platform == .talenthub && rng.chance(0.5) ? 4 : rng.weighted(Vocabulary.channelWeights)
            sink.key("channel"); sink.plainString(Vocabulary.channels[channel])
        }
        sink.endEvent()
    }

    mutating func applicationSend<S: EventSink>(sink: inout S) {
        let application = newApplication(winning: false)
        writeApplicationSent(application, sink: &sink)
        if application.stages != 0 { agenda.schedule(.applicationAdvance(application), at: daytime(2, 12)) }
        if rng.chance(0.004) { agenda.schedule(.strayAdvance, at: daytime(3, 30)) }
        // A sync re-sends the same application (its funnel month is the first send's).
        if rng.chance(0.005) { agenda.schedule(.applicationResend(application), at: daytime(5, 40)) }
        let next = daytime(applicationGapDays * 0.5, applicationGapDays * 1.5)
        if next < searchUntil, placedAt == nil { agenda.schedule(.applicationSend, at: next) }
    }

    /// The application that ends in the planned placement; its stages are
    /// spread so the last one lands before the placement.
    mutating func winningApplicationSend<S: EventSink>(sink: inout S) {
        let application = newApplication(winning: true)
        winningApplication = application
        writeApplicationSent(application, sink: &sink)
        agenda.schedule(.applicationAdvance(application), at: winningStageTime(application))
    }

    mutating func winningStageTime(_ application: Application) -> Int64 {
        guard let placeAt = plannedPlacementAt else { preconditionFailure("winning application without a plan") }
        let share = rng.uniform(0.5, 0.95) / Double(application.remainingStageCount + 1)
        return now + Int64(Double(max(0, placeAt - now)) * share)
    }

    /// Writes the next stage. Applications still open when the learner is
    /// placed are withdrawn (half of them) or just go quiet.
    mutating func applicationAdvance<S: EventSink>(_ application: Application, sink: inout S) -> Bool {
        var application = application
        let stage: Int
        if !application.isWinning, placedAt != nil {
            guard rng.chance(0.5) else { return false }
            stage = 5
            application.stages = 0
        } else {
            stage = Int(application.stages & 7)
            application.stages >>= 3
        }
        beginEvent("application.advanced", source: rng.chance(0.6) ? .talenthub : .careerpilot, sink: &sink)
        sink.key("application_id"); sink.uuid(application.id)
        sink.key("stage"); sink.plainString(Vocabulary.stages[stage])
        sink.endEvent()
        if application.stages != 0 {
            let next = application.isWinning ? winningStageTime(application) : daytime(3, 14)
            agenda.schedule(.applicationAdvance(application), at: next)
        }
        return true
    }

    /// A stage update for an application the log never saw sent (an
    /// external ATS sync); analytics must ignore it.
    mutating func strayAdvance<S: EventSink>(sink: inout S) {
        beginEvent("application.advanced", source: .talenthub, sink: &sink)
        sink.key("application_id"); sink.uuid(rng.uuid())
        sink.key("stage"); sink.plainString(Vocabulary.stages[rng.int(1...5)])
        sink.endEvent()
    }

    // MARK: - Placements

    /// The planned placement: names the winning application when there is
    /// one. Salary mostly rises over the baseline; ~5% are paid in another
    /// currency (a move abroad), which salary uplift must leave out.
    mutating func placement<S: EventSink>(sink: inout S) {
        let company = winningApplication.map { Int($0.company) } ?? rng.below(Vocabulary.companies.count)
        let role = winningApplication.map { Int($0.role) } ?? targetRole
        var placedCurrency = currency
        if rng.chance(0.05) {
            let others = Vocabulary.majorCurrencies.filter { $0 != currency }
            placedCurrency = rng.pick(others)
        }
        let amount: Int
        if placedCurrency == currency, salary > 0 {
            amount = Salary.rounded(Double(salary) * rng.uniform(0.92, 1.6), currency: currency)
        } else {
            amount = Salary.market(role: role, years: yearsExperience, currency: placedCurrency, rng: &rng)
        }
        // Without a tracked application, a few placements still name one the
        // log never saw sent (an external ATS id); the funnel ignores them.
        let application = winningApplication?.id ?? (rng.chance(0.2) ? rng.uuid() : nil)
        writePlacement(application: application, company: company, role: role,
                       amount: amount, currency: placedCurrency, sink: &sink)
        placedAt = now
        winningApplication = nil

        agenda.schedule(.profileAfterPlacement, at: daytime(1, 20))
        if rng.chance(0.6) { agenda.schedule(.employerFeedback, at: daytime(45, 180)) }
        if rng.chance(0.2) { agenda.schedule(.milestone(.promotion), at: daytime(150, 420)) }
        if rng.chance(0.06) { agenda.schedule(.milestone(.roleChange), at: daytime(90, 300)) }
        if rng.chance(0.04) { agenda.schedule(.jobChange, at: daytime(90, 300)) }
        if mentorship == nil, rng.chance(0.08) { agenda.schedule(.mentorshipStart, at: daytime(10, 60)) }
    }

    /// A bridging job taken before enrolling (placement before enrollment).
    mutating func earlyPlacement<S: EventSink>(sink: inout S) {
        let role = rng.pick(Vocabulary.formerRoles)
        let amount = Salary.market(role: role, years: yearsExperience, currency: currency, rng: &rng)
        writePlacement(application: nil, company: rng.below(Vocabulary.companies.count), role: role,
                       amount: amount, currency: currency, sink: &sink)
    }

    /// A later move to another employer: a second placement, not the first.
    mutating func jobChange<S: EventSink>(sink: inout S) {
        let amount = Salary.rounded(Double(max(salary, 1)) * rng.uniform(1.05, 1.3), currency: currency)
        writePlacement(application: nil, company: rng.below(Vocabulary.companies.count), role: currentRole,
                       amount: amount, currency: currency, sink: &sink)
        agenda.schedule(.profileAfterPlacement, at: daytime(1, 20))
    }

    mutating func writePlacement<S: EventSink>(application: UUID128?, company: Int, role: Int,
                                               amount: Int, currency placedCurrency: Int, sink: inout S) {
        beginEvent("placement.recorded", source: .careerforge, sink: &sink)
        if let application { sink.key("application_id"); sink.uuid(application) }
        sink.key("company"); sink.plainString(Vocabulary.companies[company])
        sink.key("role"); sink.plainString(Vocabulary.roles[role])
        sink.key("salary"); sink.money(amount, currency: placedCurrency)
        sink.key("employment_type"); sink.plainString(Vocabulary.employmentTypes[rng.weighted(Vocabulary.employmentTypeWeights)])
        sink.key("start_date"); sink.date(CivilTime.epochDay(ofMillis: now) + Int64(rng.int(7...45)))
        sink.endEvent()
        currentCompany = company
        currentRole = role
        salary = amount
        currency = placedCurrency
        placedCompany = company
    }

    mutating func profileAfterPlacement<S: EventSink>(sink: inout S) {
        beginEvent("profile.updated", source: platform.source, sink: &sink)
        sink.key("current_role"); sink.plainString(Vocabulary.roles[currentRole])
        sink.key("current_company"); sink.plainString(Vocabulary.companies[currentCompany])
        if rng.chance(0.5) { sink.key("industry"); sink.plainString(Vocabulary.industries[industry]) }
        sink.endEvent()
    }

    mutating func employerFeedback<S: EventSink>(sink: inout S) {
        beginEvent("employer.feedback", source: .talenthub, sink: &sink)
        sink.key("employer"); sink.plainString(Vocabulary.companies[placedCompany])
        let rating = 1 + rng.weighted([4, 8, 20, 40, 28])
        sink.key("rating"); sink.integer(rating)
        sink.key("would_hire_again"); sink.bool(rating >= 4 ? rng.chance(0.95) : rng.chance(0.3))
        if rng.chance(0.55) {
            sink.key("comments"); sink.string(identity.first.display + " " + rng.pick(Vocabulary.employerComments))
        }
        sink.endEvent()
    }

    mutating func milestone<S: EventSink>(_ milestone: Milestone, sink: inout S) {
        beginEvent("milestone.achieved", source: .careerforge, sink: &sink)
        switch milestone {
        case .promotion:
            sink.key("milestone_type"); sink.plainString("promotion")
            sink.key("title"); sink.string("Promoted to Senior " + Vocabulary.roles[currentRole].description)
            if rng.chance(0.8), salary > 0 {
                let raise = Salary.rounded(Double(salary) * rng.uniform(0.06, 0.2), currency: currency)
                sink.key("salary_increase"); sink.money(raise, currency: currency)
                salary += raise
            }
        case .roleChange:
            currentRole = rng.pick(Vocabulary.programs[track].targetRoles)
            sink.key("milestone_type"); sink.plainString("role_change")
            sink.key("title"); sink.string("Moved into a " + Vocabulary.roles[currentRole].description + " role")
            if rng.chance(0.4), salary > 0 {
                let raise = Salary.rounded(Double(salary) * rng.uniform(0.03, 0.12), currency: currency)
                sink.key("salary_increase"); sink.money(raise, currency: currency)
                salary += raise
            }
        case .certification(let certificate):
            sink.key("milestone_type"); sink.plainString("certification")
            sink.key("title"); sink.string("Earned " + Vocabulary.certificates[Int(certificate)].name.description)
        case .projectCompletion(let project):
            sink.key("milestone_type"); sink.plainString("project_completion")
            sink.key("title"); sink.string("Completed " + Vocabulary.projectTitles[Int(project)].description)
        }
        sink.endEvent()
    }
}
