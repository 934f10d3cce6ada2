import Foundation
import Logging

/// How long to wait between attempts when the server has gone away:
/// exponential backoff with jitter, so many clients of one restarted server
/// do not all knock at the same moment. The one backoff of careerlog: used
/// by `withReconnect`, by the projector's loop, and by a node (`Runtime`)
/// waiting for the read models' PostgreSQL. It lives here, the lowest
/// library all three import.
///
///     attempt   1      2      3      4      5       6       7...
///     delay     100ms  200ms  400ms  800ms  1.6s    3.2s    5s (cap)
///     (each delay is then drawn from [delay/2, delay])
public struct ReconnectPolicy: Sendable {
    /// First delay, in milliseconds: a restart is often over within a second.
    public let delayMsInitial: Int
    /// Longest delay, in milliseconds: the end of an outage is noticed within 5 s.
    public let delayMsMax: Int
    /// Attempts before giving up and rethrowing. The default, 60, waits about
    /// four minutes at the cap; a long-running projector passes `Int.max`.
    public let attemptsMax: Int

    public init(delayMsInitial: Int = 100, delayMsMax: Int = 5_000, attemptsMax: Int = 60) {
        precondition(delayMsInitial > 0 && delayMsMax >= delayMsInitial && attemptsMax >= 1, "invalid ReconnectPolicy")
        self.delayMsInitial = delayMsInitial
        self.delayMsMax = delayMsMax
        self.attemptsMax = attemptsMax
    }

    /// The delay before retrying after the `failures`-th failure (1-based).
    public func delayMs(afterFailures failures: Int, using random: inout some RandomNumberGenerator) -> Int {
        precondition(failures >= 1)
        // Doubling stops at the cap; the shift is bounded so it cannot overflow.
        let doublings = min(failures - 1, 30)
        let delay = min(delayMsMax, delayMsInitial << doublings)
        return delay / 2 + Int.random(in: 0...(delay - delay / 2), using: &random)
    }

    /// How often a pause looks at `shouldStop`, in milliseconds: a stop
    /// (SIGTERM) is noticed within this while a retry waits, instead of
    /// after a whole delay of up to `delayMsMax`.
    public static let pauseSliceMs = 50

    /// Waits `milliseconds` (a `delayMs` result), ending early when
    /// `shouldStop` turns true. Returns false when it ended early: the
    /// caller should stop instead of retrying. Blocks the calling thread.
    public func pause(milliseconds: Int, shouldStop: () -> Bool = { false }) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(milliseconds)
        while ContinuousClock.now < deadline {
            if shouldStop() { return false }
            let remaining = Self.seconds(deadline - ContinuousClock.now)
            Thread.sleep(forTimeInterval: Swift.min(Double(Self.pauseSliceMs) / 1_000, remaining))
        }
        return !shouldStop()
    }

    private static func seconds(_ duration: Duration) -> Double {
        Swift.max(0, Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}

extension PostgresConnection {
    /// Runs `body`, and when it fails because the server or the connection
    /// went away (`PostgresError.isConnectionFailure`), waits per `policy`,
    /// reconnects and runs `body` again, up to `policy.attemptsMax` times.
    /// Other errors are rethrown at once.
    ///
    /// `body` is retried as a whole, so make it one unit of work: typically a
    /// whole `transaction { ... }`. A transaction cut by a lost connection was
    /// rolled back by the server, so running it again from the start is
    /// correct; retrying only the failed statement would not be.
    /// Blocks the calling thread while waiting.
    public func withReconnect<T>(
        policy: ReconnectPolicy = ReconnectPolicy(), logger: Logger? = nil,
        _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        var random = SystemRandomNumberGenerator()
        var failures = 0
        while true {
            do {
                if failures > 0 || !isConnected { try reconnect() }
                let value = try body(self)
                if failures > 0 { logger?.info("reconnected to PostgreSQL", metadata: ["postgres.target": "\(target)", "postgres.failures": "\(failures)"]) }
                return value
            } catch let error as PostgresError where error.isConnectionFailure {
                failures += 1
                guard failures < policy.attemptsMax else { throw error }
                let delayMs = policy.delayMs(afterFailures: failures, using: &random)
                logger?.warning("PostgreSQL unavailable, retrying", metadata: [
                    "postgres.target": "\(target)", "postgres.failures": "\(failures)",
                    "postgres.retry_ms": "\(delayMs)", "error": "\(error)",
                ])
                _ = policy.pause(milliseconds: delayMs)
            }
        }
    }
}
