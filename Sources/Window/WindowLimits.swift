/// Every bound the HTTP window works with, in one place, with why.
///
/// The window serves a few operators' scrapers and a handful of browsers;
/// these numbers keep a misbehaving client (or many) from costing the node
/// more than a few MiB or from holding a slot forever. Ingest is a separate
/// listener with its own limits and threads, so nothing here can slow it.
public struct WindowLimits: Sendable, Equatable {
    /// Open HTTP connections. Scrapers and dashboards keep one or two each;
    /// beyond 128 a new connection gets 503 and is closed.
    public var connectionsMax = 128
    /// Bytes of a request head (request line and headers). Browsers send
    /// 1-4 KiB; 16 KiB is room for long cookies. Beyond: 431 and close.
    public var requestHeadBytesMax = 16 << 10
    /// Bytes of a request body. Every route is a GET; a body is only
    /// tolerated (and discarded) up to 64 KiB. Beyond: 413 and close.
    public var requestBodyBytesMax = 64 << 10
    /// From a request's first byte to its last: a client that trickles a
    /// request (slowloris) gets 408 and is closed after this long.
    public var requestReadTimeoutMs = 10_000
    /// A kept-alive connection with no request for this long is closed;
    /// dashboards poll every few seconds, Prometheus every 15-60 s.
    public var idleTimeoutMs = 120_000
    /// Requests being answered at once, across connections. Answers run on
    /// `handlerThreads` threads (analytics queries block on PostgreSQL);
    /// beyond this a request gets 503 with `Retry-After`.
    public var requestsInFlightMax = 32
    /// Threads that run route handlers, off the event loop.
    public var handlerThreads = 2
    /// A response whose client does not read it for this long is cut: its
    /// bytes stay in memory until written.
    public var responseWriteTimeoutMs = 30_000

    public init() {}

    /// Checks the limits against each other before the server starts.
    public func validate() throws(WindowConfigurationError) {
        func require(_ condition: Bool, _ message: String) throws(WindowConfigurationError) {
            if !condition { throw WindowConfigurationError(message: message) }
        }
        try require(connectionsMax >= 1 && connectionsMax <= 100_000, "the HTTP connection limit must be between 1 and 100,000")
        try require(requestHeadBytesMax >= 1024 && requestHeadBytesMax <= 1 << 20, "the HTTP request head limit must be between 1 KiB and 1 MiB")
        try require(requestBodyBytesMax >= 0 && requestBodyBytesMax <= 16 << 20, "the HTTP request body limit must be between 0 and 16 MiB")
        try require(requestReadTimeoutMs >= 1, "the HTTP request read timeout must be at least 1 ms")
        try require(idleTimeoutMs >= 1, "the HTTP idle timeout must be at least 1 ms")
        try require(requestsInFlightMax >= 1, "at least one HTTP request must be allowed in flight")
        try require(handlerThreads >= 1 && handlerThreads <= 64, "HTTP handler threads must be between 1 and 64")
        try require(responseWriteTimeoutMs >= 1, "the HTTP response write timeout must be at least 1 ms")
    }
}

/// A configuration the window cannot start with (limits, address, token).
public struct WindowConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
