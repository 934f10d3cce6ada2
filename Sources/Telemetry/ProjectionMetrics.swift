import CoreMetrics
import Foundation

/// What a projection is doing, as `projections status` names it. A fixed
/// set, so `careerlog_projection_state` has a bounded label set.
public enum ProjectionState: String, CaseIterable, Sendable {
    case live, building, rebuilding, stale, failed, missing
}

/// The handles of one projection (label `projection="<name>"`).
public struct ProjectionMetrics: Sendable {
    /// Sequence number of the last event the projection committed.
    public let checkpointSeq: Meter
    /// Events in the log the projection has not applied yet.
    public let lagEvents: Meter
    /// Recorded-time distance between the log's head and the checkpoint.
    public let lagSeconds: Meter
    /// Events applied (committed) since the process started.
    public let eventsApplied: CoreMetrics.Counter
    /// Time to apply and commit one batch (one transaction).
    public let batchApplySeconds: CoreMetrics.Timer
    /// A rebuild's progress: events applied so far and events to apply.
    public let rebuildEventsDone: Meter
    public let rebuildEventsTotal: Meter
    private let states: [Meter]

    init(name: String, make: HandleMaker) {
        let label = [("projection", name)]
        checkpointSeq = make.gauge("careerlog_projection_checkpoint_seq", "Sequence number of the projection's last committed event.", labels: label)
        lagEvents = make.gauge("careerlog_projection_lag_events", "Events in the log not yet applied by the projection.", labels: label)
        lagSeconds = make.gauge("careerlog_projection_lag_seconds", "Recorded-time distance between the log's head and the projection's checkpoint.", labels: label)
        eventsApplied = make.counter("careerlog_projection_events_applied_total", "Events applied and committed by the projection.", labels: label)
        batchApplySeconds = make.timer(
            "careerlog_projection_batch_apply_seconds", "Time to apply and commit one projector batch.", labels: label, buckets: Buckets.batchSeconds)
        rebuildEventsDone = make.gauge("careerlog_projection_rebuild_events_done", "Events a running rebuild has applied.", labels: label)
        rebuildEventsTotal = make.gauge("careerlog_projection_rebuild_events_total", "Events a running rebuild has to apply.", labels: label)
        states = ProjectionState.allCases.map { state in
            make.gauge("careerlog_projection_state", "1 for the projection's current state, 0 for the others.",
                       labels: [("projection", name), ("state", state.rawValue)])
        }
    }

    /// Sets the state gauge of `state` to 1 and the others to 0.
    public func setState(_ state: ProjectionState) {
        for (candidate, gauge) in zip(ProjectionState.allCases, states) {
            gauge.set(candidate == state ? 1 : 0)
        }
    }
}

/// Projection handles by name, created once each.
final class ProjectionMetricsTable: @unchecked Sendable {
    private let lock = NSLock()
    private var byName: [String: ProjectionMetrics] = [:]
    private let make: HandleMaker

    init(make: HandleMaker) { self.make = make }

    func metrics(for name: String) -> ProjectionMetrics {
        lock.withLock {
            if let existing = byName[name] { return existing }
            let label = byName.count < CareerlogMetrics.projectionLabelsMax ? name : "_other"
            if let shared = byName[label] { return shared }
            let created = ProjectionMetrics(name: label, make: make)
            byName[label] = created
            return created
        }
    }
}
