import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// careerlog's HTTP window: one port for what operators' tools scrape
/// (`/metrics`, `/healthz`, `/readyz`) and what people open in a browser
/// (the dashboard and its JSON API). Read-only: only GET and HEAD.
///
/// Built on NIOHTTP1 directly rather than Hummingbird or Vapor: it comes
/// with swift-nio, which ingest already builds, so the window adds no
/// package and no build time (a fresh Hummingbird build adds minutes to
/// every CI run on 2 cores), and a handful of GET routes need no router,
/// middleware or codable layer. The limits (`WindowLimits`) sit at the
/// byte level (`RequestGuard`) where a framework would hide them.
///
/// Threads: `eventLoopThreads` event loops (1 by default: the window is
/// light) parse and write; routes run on `limits.handlerThreads` threads
/// of their own, so a slow PostgreSQL query never blocks a loop. Ingest
/// has separate loops, so the window cannot slow it.
public final class WindowServer: Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        /// Port 0 picks a free port (see `port`).
        public var port = 7401
        public var limits = WindowLimits()
        /// When set, routes not marked public need `Authorization: Bearer
        /// TOKEN` (or `?token=TOKEN`): a read-only token, separate from
        /// producers' ingest credentials.
        public var readToken: String?
        /// When set, every connection starts with the handler this makes
        /// (`serve` gives the ingest door's TLS server context, so the HTTP
        /// port speaks TLS with the same certificate, reloaded by SIGHUP).
        public var tlsHandler: (@Sendable () -> any ChannelHandler)?
        public var eventLoopThreads = 1

        public init() {}
    }

    public let configuration: Configuration
    /// The port actually bound.
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let threadPool: NIOThreadPool
    private let listener: any Channel
    private let connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>
    private let stopped = NIOLockedValueBox(false)
    private let logger: Logger

    private init(configuration: Configuration, port: Int, group: MultiThreadedEventLoopGroup, threadPool: NIOThreadPool,
                 listener: any Channel, connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>, logger: Logger) {
        self.configuration = configuration
        self.port = port
        self.group = group
        self.threadPool = threadPool
        self.listener = listener
        self.connections = connections
        self.logger = logger
    }

    /// Binds and starts serving `routes`.
    public static func start(configuration: Configuration, routes: WindowRoutes, logger: Logger) throws -> WindowServer {
        try configuration.limits.validate()
        if let token = configuration.readToken, token.utf8.count < 16 {
            throw WindowConfigurationError(message: "the HTTP read token must be at least 16 bytes (e.g. `openssl rand -hex 16`)")
        }
        guard configuration.eventLoopThreads >= 1 else {
            throw WindowConfigurationError(message: "at least one HTTP event loop thread is needed")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)
        let threadPool = NIOThreadPool(numberOfThreads: configuration.limits.handlerThreads)
        threadPool.start()
        let shared = WindowShared(routes: routes, limits: configuration.limits, readToken: configuration.readToken.map { Array($0.utf8) },
                                  threadPool: threadPool, inFlight: NIOLockedValueBox(0))
        let connections = NIOLockedValueBox([ObjectIdentifier: any Channel]())
        let listener: any Channel
        do {
            listener = try bootstrap(group: group, shared: shared, connections: connections, tls: configuration.tlsHandler, logger: logger)
                .bind(host: configuration.host, port: configuration.port).wait()
        } catch {
            try? threadPool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            throw WindowConfigurationError(message: "cannot listen for HTTP on \(configuration.host):\(configuration.port): \(error); "
                + "choose another address with --http or turn it off with --no-http")
        }
        let port = listener.localAddress?.port ?? configuration.port
        logger.info("http window listening", metadata: ["http.listen": "\(configuration.host):\(port)",
                                                        "http.token": "\(configuration.readToken == nil ? "none" : "required")",
                                                        "http.tls": "\(configuration.tlsHandler != nil)"])
        return WindowServer(configuration: configuration, port: port, group: group, threadPool: threadPool,
                            listener: listener, connections: connections, logger: logger)
    }

    /// Open connections.
    public var connectionCount: Int { connections.withLockedValue { $0.count } }

    /// Stops listening, closes every connection, stops the threads.
    /// Idempotent; blocks, so it must not run on an event loop.
    public func shutdown() {
        let alreadyStopped = stopped.withLockedValue { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !alreadyStopped else { return }
        try? listener.close().wait()
        for channel in connections.withLockedValue({ Array($0.values) }) { try? channel.close().wait() }
        try? threadPool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
        logger.info("http window stopped")
    }

    private static func bootstrap(group: MultiThreadedEventLoopGroup, shared: WindowShared,
                                  connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>,
                                  tls: (@Sendable () -> any ChannelHandler)?, logger: Logger) -> ServerBootstrap {
        let limits = shared.limits
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                let admitted = connections.withLockedValue { open -> Bool in
                    guard open.count < limits.connectionsMax else { return false }
                    open[id] = channel
                    return true
                }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(tls()) }
                    guard admitted else {
                        logger.warning("http connection refused: too many connections", metadata: ["http.connections.max": "\(limits.connectionsMax)"])
                        try pipeline.addHandler(ConnectionRefusal(connectionsMax: limits.connectionsMax))
                        return
                    }
                    channel.closeFuture.whenComplete { _ in connections.withLockedValue { _ = $0.removeValue(forKey: id) } }
                    let requestGuard = RequestGuard(limits: limits)
                    try pipeline.addHandler(requestGuard)
                    var decoderLimits = NIOHTTPDecoderLimitConfiguration()
                    decoderLimits.maxHeaderListSize = limits.requestHeadBytesMax
                    decoderLimits.maxHeaderFieldSize = limits.requestHeadBytesMax
                    try pipeline.configureHTTPServerPipeline(
                        withEncoderConfiguration: HTTPResponseEncoder.Configuration(), withDecoderLimitConfiguration: decoderLimits)
                    try pipeline.addHandler(WindowHTTPHandler(shared: shared, requestGuard: requestGuard))
                }
            }
    }
}
