import Telemetry

/// The routes every node serves besides the dashboard, wired from
/// closures the runtime provides (so this library knows nothing of the log,
/// ingest or the projector).
public enum StandardRoutes {
    /// `GET /metrics`. `beforeScrape` sets the gauges that are read rather
    /// than recorded (log head, segments, lag) just before rendering.
    public static func addMetrics(to routes: inout WindowRoutes, metrics: CareerlogMetrics,
                                  beforeScrape: @escaping @Sendable () -> Void = {}) {
        routes.add("/metrics") { _ in
            beforeScrape()
            return WindowResponse(status: 200, contentType: MetricsExposition.contentType, body: MetricsExposition.render(metrics))
        }
    }

    /// `GET /healthz` and `GET /readyz`, public (probes carry no token).
    public static func addHealth(to routes: inout WindowRoutes, policy: ReadinessPolicy,
                                 snapshot: @escaping @Sendable () -> HealthSnapshot) {
        routes.add("/healthz", isPublic: true) { _ in HealthCheck.liveness(snapshot()) }
        routes.add("/readyz", isPublic: true) { _ in HealthCheck.readiness(snapshot(), policy: policy) }
    }

    /// `GET /api/status`: the node's summary as JSON, or with `?format=text`
    /// the screen `careerlog status` prints.
    public static func addStatus(to routes: inout WindowRoutes, policy: ReadinessPolicy,
                                 status: @escaping @Sendable () throws -> NodeStatus) {
        routes.add("/api/status") { request in
            let current = try status()
            guard request.query["format"] == "text" else { return .json(current.json(policy: policy)) }
            return WindowResponse(status: 200, contentType: "text/plain; charset=utf-8", body: Array(current.text(policy: policy).utf8))
        }
    }
}
