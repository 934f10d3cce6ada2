/// What the node knows about its own health at one moment; the runtime
/// fills it in and `/healthz`, `/readyz` and `careerlog status` judge it.
public struct HealthSnapshot: Sendable {
    /// The appender's state, as the ingest library reports it.
    public enum AppenderState: Sendable, Equatable {
        /// Accepting and acknowledging events.
        case accepting
        /// Running but not acknowledging (e.g. healing after a write error).
        case degraded(reason: String)
        /// Not running (stopped, or ingest is turned off).
        case stopped(reason: String)
    }

    /// One projection's position against the log's head.
    public struct Projection: Sendable, Equatable {
        public var name: String
        /// live, building, rebuilding, stale, failed or missing.
        public var state: String
        public var lagEvents: UInt64
        public var lagSeconds: Double?

        public init(name: String, state: String, lagEvents: UInt64, lagSeconds: Double?) {
            self.name = name
            self.state = state
            self.lagEvents = lagEvents
            self.lagSeconds = lagSeconds
        }
    }

    /// nil when the log can be written; else why not (path and reason, no data).
    public var logProblem: String?
    public var appender: AppenderState
    /// nil when the projector is not running (`--no-projector`): readiness
    /// then does not wait for read models.
    public var projections: [Projection]?
    /// nil when not checked (no projector); else whether PostgreSQL answered.
    public var postgresReachable: Bool?

    public init(logProblem: String?, appender: AppenderState, projections: [Projection]?, postgresReachable: Bool?) {
        self.logProblem = logProblem
        self.appender = appender
        self.projections = projections
        self.postgresReachable = postgresReachable
    }
}

/// How far behind read models may be for the node to be ready.
public struct ReadinessPolicy: Sendable, Equatable {
    /// Events a live projection may lag behind the log's head. 10,000 is
    /// well under a second of projector work: a node that has caught up.
    public var projectionLagEventsMax: UInt64 = 10_000
    /// Recorded-time lag a live projection may have, in seconds.
    public var projectionLagSecondsMax: Double = 30

    public init() {}
}

/// `/healthz` and `/readyz`: status 200 or 503 and a JSON body saying why.
///
///     {"status":"ok","checks":{"log":"writable","appender":"accepting",...}}
///     {"status":"unavailable","reasons":["projection analytics: 52000 events behind (max 10000)"],"checks":{...}}
public enum HealthCheck {
    /// Alive: the process answers and the log can be written.
    public static func liveness(_ snapshot: HealthSnapshot) -> WindowResponse {
        var reasons: [String] = []
        if let problem = snapshot.logProblem { reasons.append("log: \(problem)") }
        return response(reasons: reasons, checks: checks(snapshot))
    }

    /// Ready: events are acknowledged, and every live projection is within
    /// the policy's lag (when the projector runs).
    public static func readiness(_ snapshot: HealthSnapshot, policy: ReadinessPolicy) -> WindowResponse {
        response(reasons: readinessReasons(snapshot, policy: policy), checks: checks(snapshot))
    }

    /// Why the node is not ready (empty when it is).
    public static func readinessReasons(_ snapshot: HealthSnapshot, policy: ReadinessPolicy) -> [String] {
        var reasons: [String] = []
        if let problem = snapshot.logProblem { reasons.append("log: \(problem)") }
        switch snapshot.appender {
        case .accepting: break
        case .degraded(let reason): reasons.append("appender: not acknowledging: \(reason)")
        case .stopped(let reason): reasons.append("appender: stopped: \(reason)")
        }
        if snapshot.postgresReachable == false { reasons.append("postgres: not reachable") }
        for projection in snapshot.projections ?? [] {
            switch projection.state {
            case "failed", "missing":
                reasons.append("projection \(projection.name): \(projection.state)")
            default:
                if projection.lagEvents > policy.projectionLagEventsMax {
                    reasons.append("projection \(projection.name): \(projection.lagEvents) events behind (max \(policy.projectionLagEventsMax))")
                } else if let seconds = projection.lagSeconds, seconds > policy.projectionLagSecondsMax {
                    reasons.append("projection \(projection.name): \(JSONText.number(seconds)) s behind (max \(JSONText.number(policy.projectionLagSecondsMax)))")
                }
            }
        }
        return reasons
    }

    private static func checks(_ snapshot: HealthSnapshot) -> String {
        var members = [#""log":\#(JSONText.string(snapshot.logProblem == nil ? "writable" : "not writable"))"#]
        let appender = switch snapshot.appender {
        case .accepting: "accepting"
        case .degraded: "degraded"
        case .stopped: "stopped"
        }
        members.append(#""appender":\#(JSONText.string(appender))"#)
        if let reachable = snapshot.postgresReachable {
            members.append(#""postgres":\#(JSONText.string(reachable ? "reachable" : "unreachable"))"#)
        }
        if let projections = snapshot.projections {
            let items = projections.map { p in
                #"{"name":\#(JSONText.string(p.name)),"state":\#(JSONText.string(p.state)),"lag_events":\#(p.lagEvents),"lag_seconds":\#(JSONText.number(p.lagSeconds))}"#
            }
            members.append(#""projections":[\#(items.joined(separator: ","))]"#)
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    private static func response(reasons: [String], checks: String) -> WindowResponse {
        if reasons.isEmpty { return .json(#"{"status":"ok","checks":\#(checks)}"#) }
        let list = reasons.map(JSONText.string).joined(separator: ",")
        return .json(#"{"status":"unavailable","reasons":[\#(list)],"checks":\#(checks)}"#, status: 503)
    }
}
