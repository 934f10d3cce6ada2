import NIOCore
import Telemetry
import XCTest

@testable import Ingest

/// Ack latency: each event the appender answers is one observation, timed
/// from the read that brought its submission, matched in submission order
/// even when one delivery covers part of a submission.
final class PendingAcksTests: XCTestCase {
    /// `careerlog_ingest_ack_latency_seconds` count and sum as rendered.
    private func ackLatency(_ metrics: CareerlogMetrics) -> (count: String?, sum: Double?) {
        let lines = String(decoding: MetricsExposition.render(metrics, process: nil), as: UTF8.self).split(separator: "\n")
        func sample(_ name: String) -> String? {
            lines.first { $0.hasPrefix(name + " ") }.map { String($0.dropFirst(name.count + 1)) }
        }
        return (sample("careerlog_ingest_ack_latency_seconds_count"), sample("careerlog_ingest_ack_latency_seconds_sum").flatMap(Double.init))
    }

    func testEveryAnsweredEventIsOneObservationFromItsSubmissionsRead() {
        let metrics = CareerlogMetrics()
        var pending = PendingAcks()
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
        pending.submitted(3, arrivedAt: t0)
        pending.submitted(2, arrivedAt: t0 + .milliseconds(10))
        XCTAssertEqual(ackLatency(metrics).count, "0")

        // 4 outcomes at t0 + 30 ms: the first submission's 3 (30 ms each) and 1 of the second (20 ms).
        pending.answered(4, now: t0 + .milliseconds(30), metrics: metrics)
        XCTAssertEqual(ackLatency(metrics).count, "4")
        XCTAssertEqual(ackLatency(metrics).sum ?? -1, 0.110, accuracy: 1e-9)

        // The second submission's last event at t0 + 50 ms: 40 ms.
        pending.answered(1, now: t0 + .milliseconds(50), metrics: metrics)
        XCTAssertEqual(ackLatency(metrics).count, "5")
        XCTAssertEqual(ackLatency(metrics).sum ?? -1, 0.150, accuracy: 1e-9)

        // Entries are reused once all are answered.
        pending.submitted(1, arrivedAt: t0 + .milliseconds(60))
        pending.answered(1, now: t0 + .milliseconds(61), metrics: metrics)
        XCTAssertEqual(ackLatency(metrics).count, "6")
        XCTAssertEqual(ackLatency(metrics).sum ?? -1, 0.151, accuracy: 1e-9)
    }

    func testAConnectionThatAlwaysHasLinesInFlightKeepsFewEntries() {
        let metrics = CareerlogMetrics()
        var pending = PendingAcks()
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
        pending.submitted(10, arrivedAt: t0)
        // 10,000 rounds: a new submission, then the answer to the one before; one is always waiting.
        var held = 0
        for round in 1...10_000 {
            pending.submitted(10, arrivedAt: t0 + .milliseconds(Int64(round)))
            pending.answered(10, now: t0 + .milliseconds(Int64(round) + 1), metrics: metrics)
            held = max(held, pending.entriesHeld)
        }
        XCTAssertLessThanOrEqual(held, 4, "entries held at most")
        XCTAssertEqual(ackLatency(metrics).count, "100000")
        // Round r answers round r - 1's submission, 2 ms after its read: 100,000 x 2 ms.
        XCTAssertEqual(ackLatency(metrics).sum ?? -1, 200, accuracy: 1e-6)
    }
}
