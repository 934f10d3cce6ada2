import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The uid of the process at the other end of a Unix socket connection,
/// as the kernel recorded it at `connect` (SO_PEERCRED): it cannot be
/// forged by the peer, which is what lets `unix_uid` stand as a proof.
public enum PeerCredentials {
    /// Linux's `struct ucred` (pid_t, uid_t, gid_t: three 32-bit fields, no
    /// padding). Glibc declares it only under _GNU_SOURCE, which Swift's
    /// Glibc module does not set, so it is spelled out here.
    struct UCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// `SO_PEERCRED` on Linux (asm-generic/socket.h).
    static let peerCredentialsOption: Int32 = 17

    /// The peer's uid, or nil when the channel is not a Unix socket (or the
    /// platform has no SO_PEERCRED). Completes on the channel's event loop.
    public static func uid(of channel: any Channel) -> EventLoopFuture<UInt32?> {
        #if os(Linux)
        guard case .unixDomainSocket? = channel.localAddress, let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        precondition(MemoryLayout<UCred>.size == 12, "struct ucred is three 32-bit fields")
        let credentials: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(peerCredentialsOption))
        return credentials.map { credentials -> UInt32? in credentials.uid }.recover { _ in nil }
        #else
        return channel.eventLoop.makeSucceededFuture(nil)
        #endif
    }
}
