import EventLog
import Foundation

/// Applies one batch to several targets over several connections at once:
/// PostgreSQL runs one backend per connection, so this is how applying uses
/// more than one core. Each worker applies its share of the targets, each
/// target in its own transaction with its checkpoint (exactly-once holds
/// per target whatever the other workers do). The rebuild and the live
/// projector share it.
struct ParallelApply {
    typealias Target = (schema: String, definition: ProjectionDefinition)

    let appliers: [BatchApplier]
    /// Whether each worker loads the batch into its own session first (the
    /// live projector, and rebuilds on one connection), rather than all
    /// reading one shared table loaded beforehand.
    let loadsEach: Bool
    let times: StepTimes?

    /// Splits the targets by `costs` (seconds each took last time) and
    /// applies them; returns each target's outcome and how long it took.
    /// The first error of a worker is every unfinished target's result.
    func run(_ records: [EventRecord], targets: [Target], costs: [Double], eventsPerSecond: Double?) -> WorkerOutcomes {
        let shares = Self.balance(costs: costs, workers: min(appliers.count, targets.count))
        let outcomes = WorkerOutcomes(count: targets.count)
        let workers = UncheckedBox(appliers)
        let loadsEach = self.loadsEach, times = self.times
        DispatchQueue.concurrentPerform(iterations: shares.count) { w in
            guard !shares[w].isEmpty else { return }
            let applier = workers.value[w]
            do {
                if loadsEach {
                    let t = ContinuousClock.now
                    try applier.load(records)
                    times?.add("load", (ContinuousClock.now - t).seconds)
                }
                for i in shares[w] {
                    let t = ContinuousClock.now
                    let outcome = try applier.apply(to: targets[i].schema, definition: targets[i].definition, eventsPerSecond: eventsPerSecond)
                    let took = (ContinuousClock.now - t).seconds
                    times?.add(targets[i].definition.name, took)
                    outcomes.set(i, .success((outcome, took)))
                }
            } catch {
                for i in shares[w] { outcomes.setIfEmpty(i, .failure(error)) }
            }
        }
        return outcomes
    }

    /// Splits target indexes into `workers` shares of similar total cost
    /// (longest first, each to the least loaded share).
    static func balance(costs: [Double], workers: Int) -> [[Int]] {
        var shares = [[Int]](repeating: [], count: max(1, workers))
        var load = [Double](repeating: 0, count: shares.count)
        for i in costs.indices.sorted(by: { costs[$0] > costs[$1] }) {
            let w = load.indices.min(by: { load[$0] < load[$1] })!
            shares[w].append(i)
            load[w] += costs[i]
        }
        return shares
    }
}
