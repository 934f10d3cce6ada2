import Dispatch
import Foundation

/// The one way a careerlog process asks its long-running work to stop: set
/// once (by SIGTERM/SIGINT, by a caller, by a test), polled by loops
/// (`isRequested`), waited for by the thread that drains (`wait()`), and
/// able to cut a sleep short (`sleep(for:)`).
///
/// The first request wins: its reason is the one reported. Requests are
/// never withdrawn.
public final class StopSignal: @unchecked Sendable {
    /// Why the stop was requested.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// A caller asked (`request()`).
        case requested
        /// The process received this signal number.
        case signal(Int32)

        /// `SIGTERM`, `SIGINT`, `signal N`, or `request`.
        public var description: String {
            switch self {
            case .requested: "request"
            case .signal(let number) where number == SIGTERM: "SIGTERM"
            case .signal(let number) where number == SIGINT: "SIGINT"
            case .signal(let number): "signal \(number)"
            }
        }
    }

    // Guards `stopReason` and `sources`; waiters sleep on it.
    private let condition = NSCondition()
    private var stopReason: Reason?
    private var sources: [any DispatchSourceSignal] = []

    public init() {}

    /// Asks for a stop; the first reason is kept. Safe from any thread.
    public func request(_ reason: Reason = .requested) {
        condition.withLock {
            if stopReason == nil { stopReason = reason }
            condition.broadcast()
        }
    }

    /// True once a stop was requested.
    public var isRequested: Bool { condition.withLock { stopReason != nil } }

    /// The reason of the first request, nil while none came.
    public var reason: Reason? { condition.withLock { stopReason } }

    /// Blocks until a stop is requested; returns its reason.
    @discardableResult
    public func wait() -> Reason {
        condition.withLock {
            while stopReason == nil { condition.wait() }
            return stopReason!
        }
    }

    /// Sleeps for `duration`, or less when a stop is requested meanwhile.
    /// Returns true when a stop was requested (the caller should end).
    @discardableResult
    public func sleep(for duration: Duration) -> Bool {
        let deadline = Date(timeIntervalSinceNow: max(0, duration.secondsValue))
        return condition.withLock {
            while stopReason == nil, condition.wait(until: deadline) {}
            return stopReason != nil
        }
    }

    /// Routes `signals` to this stop request instead of their default
    /// action (ending the process), so the shutdown runs as ordinary code on
    /// the thread that waits. Taken by dispatch sources, not a C handler,
    /// which could do nothing safely. The signals stay away from their
    /// default action for the rest of the process.
    public func trap(_ signals: [Int32] = [SIGTERM, SIGINT]) {
        for signalNumber in signals {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.request(.signal(signalNumber)) }
            source.resume()
            // Kept for the life of this object: a released source stops delivering.
            condition.withLock { sources.append(source) }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var secondsValue: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
