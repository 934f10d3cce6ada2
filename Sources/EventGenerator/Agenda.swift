/// One simulated person's pending actions, soonest last.
///
/// A person's history is a set of interleaved threads (learning sessions, an
/// application's stages, a mentorship's sessions, ...). Each thread keeps at
/// most one pending action here; performing it emits one event and schedules
/// the thread's next action. The agenda stays small (see `itemsMax`), so a
/// sorted array beats a heap: the next action is `removeLast()`, and an
/// insertion shifts a few elements.
///
/// Actions at the same millisecond run in the order they were scheduled.
struct Agenda<Action: Sendable>: Sendable {
    struct Item: Sendable {
        var time: Int64
        var action: Action
    }

    /// Bound on pending actions per person: ~25 concurrent threads at most
    /// (open applications dominate); a schedule beyond it is dropped, which
    /// only thins a history.
    static var itemsMax: Int { 48 }

    /// Sorted by descending time; equal times in reverse scheduling order.
    private(set) var items: [Item] = []
    /// Actions at or after this instant are never scheduled (end of the window).
    let horizon: Int64

    init(horizon: Int64) { self.horizon = horizon }

    var nextTime: Int64? { items.last?.time }
    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

    /// Schedules `action` at `time`; drops it when `time` is past the horizon
    /// or the agenda is full. Returns whether it was kept.
    @discardableResult
    mutating func schedule(_ action: Action, at time: Int64) -> Bool {
        guard time < horizon, items.count < Self.itemsMax else { return false }
        // First index whose time is <= `time`: the new item goes before all
        // items of equal time, so it runs after them.
        var low = 0
        var high = items.count
        while low < high {
            let middle = (low + high) / 2
            if items[middle].time > time { low = middle + 1 } else { high = middle }
        }
        items.insert(Item(time: time, action: action), at: low)
        return true
    }

    mutating func popNext() -> Item? { items.popLast() }

    mutating func removeAll() { items.removeAll() }
}
