/// What every simulated person may read about the others: the window, how
/// many learners there are (to name peers), and the mentors with the instant
/// each one registered (so a mentorship only names a mentor who already
/// exists). Immutable once built; a class so each step passes one reference.
final class World: Sendable {
    let seed: UInt64
    let startMillis: Int64
    /// First instant after the window; nothing is generated at or after it.
    let endMillis: Int64
    let learnerCount: Int
    /// Registered mentors in order of their `mentor.registered` time.
    let mentorIds: [UUID128]
    let mentorRegisteredAt: [Int64]
    /// Mentors from outside the platforms: named by mentorships, never registered.
    let externalMentorIds: [UUID128]

    init(seed: UInt64, startMillis: Int64, endMillis: Int64, learnerCount: Int,
         mentorIds: [UUID128], mentorRegisteredAt: [Int64], externalMentorIds: [UUID128]) {
        precondition(mentorIds.count == mentorRegisteredAt.count)
        precondition(zip(mentorRegisteredAt, mentorRegisteredAt.dropFirst()).allSatisfy { $0 <= $1 })
        self.seed = seed
        self.startMillis = startMillis
        self.endMillis = endMillis
        self.learnerCount = learnerCount
        self.mentorIds = mentorIds
        self.mentorRegisteredAt = mentorRegisteredAt
        self.externalMentorIds = externalMentorIds
    }

    var windowMillis: Int64 { endMillis - startMillis }

    /// When learner `index` signs up: spread over the first 85% of the
    /// window (so histories average ~58% of it and the event count grows
    /// with --months); showcase learners in the first 5%. A pure function,
    /// so a peer can be checked to exist.
    func learnerRegisteredAt(_ index: Int) -> Int64 {
        var rng = SplitMix64(seed: seed, domain: Domain.registration, index: index)
        let share = isShowcase(index) ? 0.05 : 0.85
        return startMillis + Int64(rng.unit() * share * Double(windowMillis))
    }

    /// One learner in this many is erased (0.5%).
    static let learnersPerErasure = 200
    /// One learner in this many is a showcase learner (1%).
    static let learnersPerShowcase = 100

    /// Whether learner `index` is erased: one per block of 200 indices, so
    /// any run of 200 or more users has an erasure.
    func isErased(_ index: Int) -> Bool {
        World.isDesignated(index, blockSize: World.learnersPerErasure, seed: seed, domain: Domain.erasure)
    }

    /// Whether learner `index` walks the analytics' inclusive bounds on
    /// purpose: registers early, enrolls, gets a mentor at the enrollment
    /// instant and is placed exactly 365 days after enrolling (when the
    /// window is long enough). One per block of 100 indices, never erased,
    /// so small test runs contain these cases for certain.
    func isShowcase(_ index: Int) -> Bool {
        World.isDesignated(index, blockSize: World.learnersPerShowcase, seed: seed, domain: Domain.showcase)
            && !isErased(index)
    }

    /// One index per block of `blockSize`, at a seed-dependent position.
    static func isDesignated(_ index: Int, blockSize: Int, seed: UInt64, domain: UInt64) -> Bool {
        let block = index / blockSize
        let chosen = SplitMix64.derive(seed: seed, domain: domain, index: block) % UInt64(blockSize)
        return index % blockSize == Int(chosen)
    }

    /// A learner other than `index` who registered by `time`, if one is
    /// found in a few draws.
    func pickPeer(of index: Int, at time: Int64, rng: inout SplitMix64) -> UUID128? {
        guard learnerCount > 1 else { return nil }
        for _ in 0..<4 {
            let peer = (index + 1 + rng.below(learnerCount - 1)) % learnerCount
            if learnerRegisteredAt(peer) <= time { return learnerId(peer) }
        }
        return nil
    }

    /// A learner's subject id, computable from the index alone so peers can
    /// name each other without a table.
    func learnerId(_ index: Int) -> UUID128 {
        UUID128(derivedFrom: SplitMix64.derive(seed: seed, domain: Domain.learnerId, index: index))
    }

    /// A mentor for a mentorship starting at `time`: one registered by then
    /// (not `avoiding`, when there is a choice), or rarely an external one.
    func pickMentor(at time: Int64, avoiding: UUID128?, rng: inout SplitMix64) -> UUID128 {
        var registered = 0  // mentors registered at or before `time` (binary search)
        var high = mentorRegisteredAt.count
        while registered < high {
            let middle = (registered + high) / 2
            if mentorRegisteredAt[middle] <= time { registered = middle + 1 } else { high = middle }
        }
        if registered == 0 || rng.chance(0.03) { return rng.pick(externalMentorIds) }
        var choice = mentorIds[rng.below(registered)]
        if choice == avoiding, registered > 1 { choice = mentorIds[rng.below(registered)] }
        return choice
    }
}

/// Separates the random streams and derived id spaces of one seed.
enum Domain {
    static let learner: UInt64 = 1
    static let learnerId: UInt64 = 2
    static let mentor: UInt64 = 3
    static let recruiter: UInt64 = 4
    static let externalMentor: UInt64 = 5
    static let erasure: UInt64 = 6
    static let registration: UInt64 = 7
    static let showcase: UInt64 = 8
}

/// The emitting services (EventSchemas/README.md `source`), one per platform.
enum Source {
    case careerforge, talenthub, smatrx, careerpilot, skillsync

    var name: StaticString {
        switch self {
        case .careerforge: return "careerforge-api"
        case .talenthub: return "talenthub-api"
        case .smatrx: return "smatrx-lms"
        case .careerpilot: return "careerpilot-app"
        case .skillsync: return "skillsync-svc"
        }
    }
}

/// The platform a person signed up on (`user.registered.platform`).
enum Platform: Sendable {
    case careerforge, talenthub

    var name: StaticString {
        switch self {
        case .careerforge: return "careerforge"
        case .talenthub: return "talenthub"
        }
    }

    var source: Source {
        switch self {
        case .careerforge: return .careerforge
        case .talenthub: return .talenthub
        }
    }
}

extension EventSink {
    /// Opens an envelope and its `data` object. The CareerPilot app is a
    /// CloudEvents SDK producer and sends the optional `specversion` and
    /// `datacontenttype`; SkillSync states `dataversion`; the others send
    /// neither, so all accepted envelope shapes occur.
    mutating func beginEvent(_ type: StaticString, id: UUID128, source: Source, subject: UUID128, time: Int64) {
        beginObject()
        if case .careerpilot = source {
            key("specversion"); plainString("1.0")
        }
        key("id"); uuid(id)
        key("source"); plainString(source.name)
        key("type"); plainString(type)
        key("subject"); uuid(subject)
        key("time"); timestamp(time)
        switch source {
        case .careerpilot: key("datacontenttype"); plainString("application/json")
        case .skillsync: key("dataversion"); integer(1)
        case .careerforge, .talenthub, .smatrx: break
        }
        key("data"); beginObject()
    }

    /// Closes `data` and the envelope.
    mutating func endEvent() {
        endObject()
        endObject()
    }

    mutating func money(_ amount: Int, currency: Int) {
        beginObject()
        key("amount"); integer(amount)
        key("currency"); plainString(Vocabulary.currencies[currency].code)
        endObject()
    }
}

/// Who a person is: the PII of `user.registered`, drawn once.
struct Identity: Sendable {
    let firstName: Int
    let lastName: Int
    let city: Int
    /// Makes e-mail addresses unique across the run.
    let number: Int
    let emailDomain: Int
    let phoneDigits: UInt64
    let hasPhone: Bool
    let hasLocation: Bool

    init(number: Int, rng: inout SplitMix64) {
        self.firstName = rng.below(Vocabulary.firstNames.count)
        self.lastName = rng.below(Vocabulary.lastNames.count)
        self.city = rng.weighted(Vocabulary.cityWeights)
        self.number = number
        self.emailDomain = rng.below(Vocabulary.emailDomains.count)
        self.phoneDigits = rng.next()
        self.hasPhone = rng.chance(0.75)
        self.hasLocation = rng.chance(0.9)
    }

    var first: Vocabulary.Name { Vocabulary.firstNames[firstName] }
    var last: Vocabulary.Name { Vocabulary.lastNames[lastName] }
    var cityInfo: Vocabulary.City { Vocabulary.cities[city] }
    var utcOffsetMillis: Int64 { Int64(cityInfo.utcOffsetMinutes) * Millis.minute }

    var email: String {
        "\(first.ascii).\(last.ascii)\(number)@\(Vocabulary.emailDomains[emailDomain])"
    }

    /// E.164: `+` country calling code, then 9 or 10 digits (US numbers in the 555 range).
    var phone: String {
        let calling = cityInfo.callingCode.description
        var digits = phoneDigits
        var text = "+" + calling
        if calling == "1" {
            text += "555"
            for _ in 0..<7 { text.append(Character(Unicode.Scalar(UInt8(48 + digits % 10)))); digits /= 10 }
        } else {
            text.append(Character(Unicode.Scalar(UInt8(49 + digits % 9)))); digits /= 9
            for _ in 0..<8 { text.append(Character(Unicode.Scalar(UInt8(48 + digits % 10)))); digits /= 10 }
        }
        return text
    }

    var linkedinURL: String { "https://www.linkedin.com/in/\(first.ascii)-\(last.ascii)-\(number)" }
    var githubURL: String { "https://github.com/\(first.ascii)\(last.ascii)\(number)" }

    /// Writes the `data` members of `user.registered`.
    func writeRegistration<S: EventSink>(platform: Platform, into sink: inout S) {
        sink.key("email"); sink.string(email)
        sink.key("first_name"); sink.string(first.display)
        sink.key("last_name"); sink.string(last.display)
        if hasPhone { sink.key("phone"); sink.string(phone) }
        if hasLocation {
            sink.key("location"); sink.beginObject()
            sink.key("city"); sink.plainString(cityInfo.name)
            sink.key("country"); sink.plainString(cityInfo.country)
            sink.key("timezone"); sink.plainString(cityInfo.timezone)
            sink.endObject()
        }
        sink.key("platform"); sink.plainString(platform.name)
    }

    /// A plausible local daytime (07:30 to 23:15 in the person's city)
    /// between `low` and `high` days after `time`, always later than `time`.
    func daytime(after time: Int64, _ low: Double, _ high: Double, rng: inout SplitMix64) -> Int64 {
        let target = time + rng.days(low, high)
        let localDay = CivilTime.epochDay(ofMillis: target + utcOffsetMillis)
        var result = localDay * Millis.day - utcOffsetMillis + Int64(rng.uniform(7.5, 23.25) * Double(Millis.hour))
        while result <= time { result += Millis.day }
        return result
    }
}

/// Salaries in whole currency units, rounded the way offers are quoted.
enum Salary {
    /// A yearly salary for `role` with `years` of experience, in `currency`.
    static func market(role: Int, years: Int, currency: Int, rng: inout SplitMix64) -> Int {
        let isTargetRole = role < Vocabulary.formerRoles[0]
        let base = isTargetRole ? rng.uniform(58_000, 95_000) : rng.uniform(32_000, 58_000)
        let experienceFactor = 1.0 + Double(min(years, 25)) * 0.025
        return rounded(base * experienceFactor * Vocabulary.currencies[currency].salaryScale, currency: currency)
    }

    static func rounded(_ amount: Double, currency: Int) -> Int {
        let scale = Vocabulary.currencies[currency].salaryScale
        let step: Double = scale < 5 ? 500 : (scale < 50 ? 10_000 : 100_000)
        return Int((amount / step).rounded()) * Int(step)
    }
}
