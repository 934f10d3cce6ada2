import Prometheus

/// The text `GET /metrics` answers: the registry's metrics, then the
/// process metrics, in the Prometheus text exposition format 0.0.4.
public enum MetricsExposition {
    /// The `Content-Type` of the exposition.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders `metrics` and, when `/proc` is there, the process metrics.
    public static func render(_ metrics: CareerlogMetrics, process: ProcessMetrics? = ProcessMetrics.read()) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(64 << 10)
        metrics.registry.emit(into: &buffer)
        if let process { buffer.append(contentsOf: process.exposition().utf8) }
        return buffer
    }

    /// A sample value: integers without a fraction, others as Swift prints
    /// doubles (both parse as Go floats).
    static func number(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
