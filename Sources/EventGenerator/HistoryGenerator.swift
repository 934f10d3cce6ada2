import CareerEvents

/// A deterministic stream of realistic, valid career events
/// (EventSchemas/README.md), in non-decreasing `time` order.
///
/// Every person is simulated lazily: each holds only its current state and
/// a short agenda of pending actions (see `Learner`), and a binary heap
/// keyed by (next action time, subject index) merges them. Memory is
/// O(people), never O(events): about 2 KB per person whatever the window,
/// and nothing is sorted after the fact.
///
///     heap of (time, subject) ──pop──▶ subject.step() ──▶ one event
///            ▲                               │
///            └──── subject's next time ◀─────┘
///
/// Volume, measured (5,000 users, seed 1, mentors' and recruiters' events
/// included): 994,080 events over the default 12 months, 198.8 per user,
/// ~316 bytes per NDJSON line; 367.0 per user over 24 months, 92.3 over 6.
/// About 60% are learning events. `nextLine(into:)` produced them at
/// 1.4-1.65 million events/s (0.6-0.7 s; release build, 2-core Linux VM
/// shared with other builds), peak RSS 18 MB; `next()`, which builds
/// `JSONValue`s, at ~0.2 million/s.
///
/// Analytics edge cases appear on purpose, each at a small rate: placements
/// before enrollment, placements exactly 365 days and more than 365 days
/// after it (the latter needs `months` > 12), second enrollments, baseline
/// salary 0, placements paid in another currency than the baseline,
/// mentorships started before enrollment, at its very instant, or after
/// placement, a mentorship's start re-sent naming another mentor, sessions
/// with and without `mentee_rating`, sessions of mentorships never started,
/// mentors never registered, applications re-sent, stage updates and
/// placements naming applications never sent, out-of-order and repeated
/// stages, offers without interviews, enrollees never placed, cohorts still
/// open at the end, and erasures (one learner in 200) as the last event of
/// a history. One learner in 100 is a showcase of the inclusive bounds (see
/// `World.isShowcase`), so even small runs contain them. Event ids never
/// repeat: duplicates are the tests' job.
public struct HistoryGenerator: Sequence, IteratorProtocol, Sendable {
    private let world: World
    private var learners: [Learner]
    private var mentors: [Mentor]
    private var recruiters: [Recruiter]
    private var queue: SubjectQueue
    private var lastTime: Int64 = .min
    /// Where `nextLine` writes an event before appending it (`ByteSink`).
    private var scratch = [UInt8](repeating: 0, count: ByteSink.eventBytesMax)
    /// Events produced so far.
    public private(set) var eventCount = 0

    /// The learner count divided by this is the mentor count; one mentor
    /// per 20 learners gives each registered mentor a handful of mentees.
    static let learnersPerMentor = 20
    /// One recruiter per 40 learners.
    static let learnersPerRecruiter = 40

    /// Builds the people and their first actions. Options must pass
    /// `GeneratorOptions.validate()`.
    public init(options: GeneratorOptions) {
        do { try options.validate() } catch { preconditionFailure("invalid generator options: \(error)") }
        let startDay = CivilTime.epochDay(year: options.start.year, month: options.start.month, day: options.start.day)
        let end = CivilTime.adding(months: options.months,
                                   to: CivilTime.Date(year: options.start.year, month: options.start.month, day: options.start.day))
        let startMillis = startDay * Millis.day
        let endMillis = CivilTime.epochDay(year: end.year, month: end.month, day: end.day) * Millis.day

        let users = options.users
        let mentorCount = users == 0 ? 0 : Swift.max(2, (users + Self.learnersPerMentor - 1) / Self.learnersPerMentor)
        let recruiterCount = users == 0 ? 0 : Swift.max(1, (users + Self.learnersPerRecruiter - 1) / Self.learnersPerRecruiter)
        let externalMentorCount = Swift.max(1, mentorCount / 8)

        var mentors = (0..<mentorCount).map {
            Mentor(index: $0, seed: options.seed, startMillis: startMillis, endMillis: endMillis)
        }
        mentors.sort { ($0.registeredAt, $0.id) < ($1.registeredAt, $1.id) }
        let externalMentorIds = (0..<externalMentorCount).map {
            UUID128(derivedFrom: SplitMix64.derive(seed: options.seed, domain: Domain.externalMentor, index: $0))
        }
        let world = World(seed: options.seed, startMillis: startMillis, endMillis: endMillis, learnerCount: users,
                          mentorIds: mentors.map { $0.id }, mentorRegisteredAt: mentors.map { $0.registeredAt },
                          externalMentorIds: externalMentorIds)

        var learners: [Learner] = []
        learners.reserveCapacity(users)
        for index in 0..<users {
            learners.append(Learner(index: index, world: world))
        }
        let recruiters = (0..<recruiterCount).map {
            Recruiter(index: $0, seed: options.seed, startMillis: startMillis, endMillis: endMillis)
        }

        var queue = SubjectQueue()
        queue.reserveCapacity(learners.count + mentors.count + recruiters.count)
        for (index, learner) in learners.enumerated() {
            if let time = learner.agenda.nextTime { queue.push(time: time, subject: index) }
        }
        for (index, mentor) in mentors.enumerated() {
            if let time = mentor.agenda.nextTime { queue.push(time: time, subject: learners.count + index) }
        }
        for (index, recruiter) in recruiters.enumerated() {
            if let time = recruiter.agenda.nextTime { queue.push(time: time, subject: learners.count + mentors.count + index) }
        }
        self.world = world
        self.learners = learners
        self.mentors = mentors
        self.recruiters = recruiters
        self.queue = queue
    }

    /// The next event as a full envelope object, or nil at the end.
    public mutating func next() -> JSONValue? {
        var sink = ValueSink()
        guard advance(into: &sink) else { return nil }
        return sink.result
    }

    /// Appends the next event as one compact NDJSON line (ending in `\n`)
    /// to `out`; false at the end. The fast path: no allocation per event
    /// beyond `out`'s growth.
    public mutating func nextLine(into out: inout [UInt8]) -> Bool {
        // The scratch buffer leaves `self` while the event is written into
        // it, so stepping the people (which mutates `self`) does not overlap
        // the buffer's access; a copied generator gets its own on first use.
        var scratch: [UInt8] = []
        swap(&scratch, &self.scratch)
        defer { swap(&scratch, &self.scratch) }
        return scratch.withUnsafeMutableBufferPointer { buffer in
            var sink = ByteSink(buffer: buffer)
            guard advance(into: &sink) else { return false }
            sink.newline()
            out.append(contentsOf: sink.written)
            return true
        }
    }

    /// Steps the person whose next action is soonest until one writes an event.
    private mutating func advance<S: EventSink>(into sink: inout S) -> Bool {
        while let top = queue.top {
            let subject = top.subject
            let wrote: Bool
            let nextTime: Int64?
            if subject < learners.count {
                wrote = learners[subject].step(world: world, sink: &sink)
                nextTime = learners[subject].agenda.nextTime
            } else if subject < learners.count + mentors.count {
                let index = subject - learners.count
                wrote = mentors[index].step(sink: &sink)
                nextTime = mentors[index].agenda.nextTime
            } else {
                let index = subject - learners.count - mentors.count
                wrote = recruiters[index].step(sink: &sink)
                nextTime = recruiters[index].agenda.nextTime
            }
            if let nextTime { queue.replaceTop(time: nextTime) } else { queue.removeTop() }
            if wrote {
                precondition(top.time >= lastTime, "events out of time order")
                lastTime = top.time
                eventCount += 1
                return true
            }
        }
        return false
    }
}

/// A binary min-heap of (time, subject): the merge of all people's next
/// actions. Ties break by subject index, so the order is a total order and
/// the output does not depend on heap internals.
struct SubjectQueue: Sendable {
    struct Entry: Sendable {
        var time: Int64
        var subject32: Int32
        var subject: Int { Int(subject32) }
    }

    private var entries: [Entry] = []

    var top: Entry? { entries.first }
    var count: Int { entries.count }

    mutating func reserveCapacity(_ capacity: Int) { entries.reserveCapacity(capacity) }

    @inline(__always)
    private static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        a.time < b.time || (a.time == b.time && a.subject32 < b.subject32)
    }

    mutating func push(time: Int64, subject: Int) {
        entries.append(Entry(time: time, subject32: Int32(subject)))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Gives the top entry a new (later or equal) time and restores the heap.
    mutating func replaceTop(time: Int64) {
        precondition(time >= entries[0].time, "a subject's next action is earlier than its last")
        entries[0].time = time
        siftDown(from: 0)
    }

    mutating func removeTop() {
        let last = entries.removeLast()
        guard !entries.isEmpty else { return }
        entries[0] = last
        siftDown(from: 0)
    }

    private mutating func siftDown(from start: Int) {
        entries.withUnsafeMutableBufferPointer { heap in
            let moving = heap[start]
            var parent = start
            while true {
                var child = 2 * parent + 1
                guard child < heap.count else { break }
                if child + 1 < heap.count, Self.precedes(heap[child + 1], heap[child]) { child += 1 }
                guard Self.precedes(heap[child], moving) else { break }
                heap[parent] = heap[child]
                parent = child
            }
            heap[parent] = moving
        }
    }
}
