import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Everything the ingest server checks before a line may become an event:
/// TLS on TCP, the producers file, the failed-authentication limiter and
/// the count of connections not yet authenticated. One per server, shared
/// by every connection; thread-safe.
public final class IngestDoor: Sendable {
    /// TLS for the TCP listener; nil for plain TCP (loopback only, unless
    /// `--insecure-listen`).
    public let tls: TLSServerContext?
    /// The producers; nil when there is no producers file (every connection
    /// may write anything, as before this door existed).
    public let producers: ProducerAuthorizer?
    public let limits: DoorLimits
    public let limiter: FailedAuthenticationLimiter
    private let unauthenticated = NIOLockedValueBox(0)

    public init(tls: TLSServerContext?, producers: ProducerAuthorizer?, limits: DoorLimits = DoorLimits()) {
        self.tls = tls
        self.producers = producers
        self.limits = limits
        self.limiter = FailedAuthenticationLimiter(limits: limits)
    }

    /// A door with neither TLS nor producers: today's behaviour.
    public static let open = IngestDoor(tls: nil, producers: nil)

    /// Connections open and not yet authenticated.
    public var unauthenticatedConnections: Int { unauthenticated.withLockedValue { $0 } }

    /// Takes one of `unauthenticatedConnectionsMax` slots; false when none
    /// is left (refuse the connection: a crowd must not starve producers).
    func admitUnauthenticated() -> Bool {
        unauthenticated.withLockedValue { count in
            guard count < limits.unauthenticatedConnectionsMax else { return false }
            count += 1
            return true
        }
    }

    /// Gives the slot back (the connection authenticated or closed).
    func releaseUnauthenticated() {
        unauthenticated.withLockedValue { count in
            precondition(count > 0, "released an unauthenticated slot that was never taken")
            count -= 1
        }
    }

    /// The failed-authentication key of a peer: its IP address without the
    /// port; every Unix socket peer shares `unix`.
    public static func peerKey(_ address: SocketAddress?) -> String {
        address?.ipAddress ?? "unix"
    }

    /// What SIGHUP does: read the certificate, key and producers file
    /// again. Each part that fails keeps what was in force, and the log
    /// says why; the others still change. Returns true when all succeeded.
    @discardableResult
    public func reload(logger: Logger) -> Bool {
        var succeeded = true
        if let tls {
            do {
                try tls.reload()
                logger.notice("TLS certificate reloaded", metadata: ["tls.certificate": "\(tls.files.certificateChainPath)"])
            } catch {
                succeeded = false
                logger.error("TLS reload failed; the certificate in force stays", metadata: ["error": "\(error)"])
            }
        }
        if let producers {
            do {
                let registry = try producers.reload()
                logger.notice("producers file reloaded", metadata: [
                    "producers.file": "\(producers.path ?? "")", "producers.count": "\(registry.producers.count)",
                ])
            } catch {
                succeeded = false
                logger.error("producers file reload failed; the producers in force stay", metadata: ["error": "\(error)"])
            }
        }
        return succeeded
    }
}
