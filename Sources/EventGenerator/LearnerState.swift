/// The small value types a `Learner` keeps: its pending actions and the
/// state of its open threads.

/// Everything a learner can do next; see `Learner`.
enum LearnerAction: Sendable {
    case register
    case profileFull, profilePartial
    case cvParse, skillAssessment
    case learningSession
    case certification(UInt8)
    case roadmapCreate, taskComplete
    case goalSet, goalAchieve(UUID128)
    case enroll, reenroll, interviewPractice
    case applicationSend, applicationAdvance(Application), strayAdvance, winningApplication, applicationResend(Application)
    case placement, earlyPlacement, jobChange, profileAfterPlacement, employerFeedback
    case milestone(Milestone)
    case mentorshipStart, mentorshipRestart, mentorshipSession, mentorshipEnd(cancelled: Bool), orphanSession
    case projectAdd, projectReview(UUID128, remaining: UInt8)
    case erase
}

/// How often a learner studies: some every day (they build streaks), most
/// every few days, some in bursts weeks apart.
struct LearningCadence: Sendable {
    let gapDaysMin: Double
    let gapDaysMax: Double
    let sessionQuartersMax: Int

    static func draw(_ rng: inout SplitMix64) -> LearningCadence {
        switch rng.weighted([30, 45, 25]) {
        case 0: return LearningCadence(gapDaysMin: 0.6, gapDaysMax: 1.3, sessionQuartersMax: 8)
        case 1: return LearningCadence(gapDaysMin: 0.8, gapDaysMax: 2.2, sessionQuartersMax: 12)
        default: return LearningCadence(gapDaysMin: 2, gapDaysMax: 9, sessionQuartersMax: 16)
        }
    }
}

struct FocusSkill: Sendable {
    let skill: Int
    let baseScore: Int
    let growthPerHundredDays: Int
}

struct Activity: Sendable {
    let id: UUID128
    let type: ActivityType
    /// Index into `Vocabulary.certificates` for certification activities.
    let certificate: Int
    let estimatedQuarters: Int
    var doneQuarters: Int
    var percent: Int
}

enum ActivityType: Int, Sendable, CaseIterable {
    case course, certification, project, mentoring, reading, practice

    var name: StaticString {
        switch self {
        case .course: return "course"
        case .certification: return "certification"
        case .project: return "project"
        case .mentoring: return "mentoring"
        case .reading: return "reading"
        case .practice: return "practice"
        }
    }
}

/// A roadmap being worked through. Tasks are not stored: task `i` is a pure
/// function of `seed` and `i` (see `Learner.task(_:of:)`), so `task.completed`
/// names exactly the ids `roadmap.created` listed.
struct Roadmap: Sendable {
    let id: UUID128
    let seed: UInt64
    let createdAt: Int64
    let taskCount: Int
    let durationWeeks: Int
    let phases: Int
    let diligence: Double
    var nextTask = 0
}

struct RoadmapTask {
    let id: UUID128
    let phase: Int
    let week: Int
    let type: Int
    let estimatedQuarters: Int
    let verb: Int
    let skillSlot: Int
}

/// An application and the stages still to come, packed 3 bits per stage
/// (codes index `Vocabulary.stages`), lowest bits first.
struct Application: Sendable {
    let id: UUID128
    let company: UInt8
    let role: UInt8
    var stages: UInt32
    let isWinning: Bool

    static func pack(_ stages: [Int]) -> UInt32 {
        var packed: UInt32 = 0
        for stage in stages.reversed() { packed = packed << 3 | UInt32(stage) }
        return packed
    }

    var remainingStageCount: Int {
        var count = 0
        var rest = stages
        while rest != 0 { count += 1; rest >>= 3 }
        return count
    }
}

enum Milestone: Sendable {
    case promotion, roleChange
    case certification(UInt8)
    case projectCompletion(UInt8)
}

enum MentorshipPlan: Sendable {
    case none, beforeEnrollment, duringProgram, atEnrollment
}

struct Mentorship: Sendable {
    let id: UUID128
    let mentorId: UUID128
    var sessionsLeft: Int
}
