import EventLog
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Drives a scan to its end, or with `follow` on until interrupted, the
/// output closes, or the filter's end (`--to-seq`, `--recorded-until`) is
/// passed. Shared by `careerlog replay` and anything else that streams the
/// history (the HTTP dashboard).
public struct ReplaySession {
    public let scan: ReplayScan
    public let follow: Bool
    public let progress: ReplayProgress
    /// Checked before each event: true ends the loop (after a last `idle`).
    /// Cheap, as it runs per event; `ReplayInterrupt` by default.
    public var interrupted: () -> Bool
    /// Checked only while following and idle: true when nobody reads the
    /// output any more (`--follow | head`), so the loop ends without
    /// waiting for another event.
    public var outputClosed: () -> Bool

    /// How long one wait for new events lasts: short enough that a signal
    /// or a closed pipe is noticed at once, long enough to cost nothing.
    public static let followPollMs = 250

    public init(scan: ReplayScan, follow: Bool, progress: ReplayProgress = ReplayProgress(enabled: false, lastSeq: 0),
                interrupted: @escaping () -> Bool = { ReplayInterrupt.requested },
                outputClosed: @escaping () -> Bool = { ReplayInterrupt.outputClosed(fd: 1) }) {
        self.scan = scan
        self.follow = follow
        self.progress = progress
        self.interrupted = interrupted
        self.outputClosed = outputClosed
        if progress.enabled { scan.onProgress = { progress.update($0) } }
    }

    /// Hands every matching event to `emit`; calls `idle` (flush) whenever
    /// the log has nothing more for now, and at the end.
    public func pump(idle: () throws -> Void, emit: (EventRecord) throws -> Void) throws {
        defer { progress.clear() }
        while !interrupted() {
            if let record = try scan.next() {
                try emit(record)
                continue
            }
            try idle()
            guard follow, !scan.isFinished, !outputClosed() else { break }
            if let record = try scan.next(waitingUpTo: .milliseconds(Self.followPollMs)) { try emit(record) }
        }
        try idle()
    }
}

/// `\r`-rewritten progress on a terminal (stderr by default), at most every
/// 200 ms; called by the scan every `ReplayScan.progressInterval` events read.
public final class ReplayProgress {
    public let enabled: Bool
    public let lastSeq: UInt64
    private let fd: Int32
    private var lastDraw = ContinuousClock.now
    private var shown = false

    /// Redraws at most this often: a person can read no faster, and the
    /// terminal is not kept busy.
    static let redrawIntervalMs = 200

    public init(enabled: Bool, lastSeq: UInt64, fd: Int32 = 2) {
        self.enabled = enabled
        self.lastSeq = lastSeq
        self.fd = fd
    }

    /// The progress line for `scan`, without the terminal controls.
    public static func line(position: UInt64, lastSeq: UInt64, matched: UInt64) -> String {
        let at = position > 0 ? position - 1 : 0
        let done = lastSeq > 0 ? min(100, Int(Double(at) * 100 / Double(lastSeq))) : 100
        return "replay: at seq \(at) of \(lastSeq) (\(done)%), \(matched) matched"
    }

    public func update(_ scan: ReplayScan) {
        guard enabled, ContinuousClock.now - lastDraw >= .milliseconds(Self.redrawIntervalMs) else { return }
        lastDraw = ContinuousClock.now
        write("\r" + Self.line(position: scan.position, lastSeq: lastSeq, matched: scan.eventsMatched) + "\u{1B}[K")
        shown = true
    }

    /// Erases the line, if one was drawn (before an error or the end).
    public func clear() {
        guard shown else { return }
        write("\r\u{1B}[K")
        shown = false
    }

    private func write(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress!, $0.count - 1) }
    }
}

/// SIGINT/SIGTERM end a `--follow` cleanly: the loop sees the flag, flushes
/// what it has and exits 0.
public enum ReplayInterrupt {
    private static let flag = Atomic<Bool>(false)

    public static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Routes SIGINT and SIGTERM to the flag (once per process).
    public static func install() {
        signal(SIGINT) { _ in ReplayInterrupt.flag.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in ReplayInterrupt.flag.store(true, ordering: .relaxed) }
    }

    /// True when `fd` is a pipe whose reader has gone.
    public static func outputClosed(fd: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: 0, revents: 0)
        return poll(&descriptor, 1, 0) == 1 && descriptor.revents & Int16(POLLERR | POLLHUP) != 0
    }
}
