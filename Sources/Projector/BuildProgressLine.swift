import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A build's `\r`-rewritten progress line on a terminal (stderr by
/// default), and its closing newline; nothing when not `enabled`.
public final class BuildProgressLine: @unchecked Sendable {
    /// What the line shows.
    public enum Style: Sendable {
        /// `CHECKPOINT/HEAD events, N events/s, ETA S s`: one pass, every projection.
        case rebuild
        /// `SCHEMA: CHECKPOINT/HEAD events`: schema after schema.
        case asOf
    }

    public let style: Style
    public let enabled: Bool
    private let fd: Int32

    public init(_ style: Style, enabled: Bool, fd: Int32 = 2) {
        self.style = style
        self.enabled = enabled
        self.fd = fd
    }

    /// The line for `progress`, without the terminal controls.
    public static func text(_ progress: BuildProgress, style: Style) -> String {
        switch style {
        case .rebuild:
            let eta = progress.etaSeconds.map { String(format: "%.0f s", $0) } ?? "-"
            return "\(progress.checkpoint)/\(progress.head) events, \(Int(progress.eventsPerSecond)) events/s, ETA \(eta)"
        case .asOf:
            return "\(progress.schema): \(progress.checkpoint)/\(progress.head) events"
        }
    }

    /// Redraws the line.
    public func update(_ progress: BuildProgress) {
        guard enabled else { return }
        write("\r" + Self.text(progress, style: style) + "   ")
    }

    /// Ends the line, so what follows starts on a line of its own.
    public func finish() {
        guard enabled else { return }
        write("\n")
    }

    private func write(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress!, $0.count - 1) }
    }
}
