/// The bounds of the ingest door (TLS, producer identities, authentication),
/// in one place, with why each value was chosen.
///
/// Whatever an unauthenticated peer does, it costs the server at most one
/// connection slot (of `unauthenticatedConnectionsMax`) for
/// `authenticationDeadlineMs`, `unauthenticatedLinesMax` lines of at most
/// `unauthenticatedLineBytesMax` bytes, and one entry (of
/// `failedAuthenticationPeersMax`) in the failed-authentication table.
public struct DoorLimits: Sendable, Equatable {
    /// Time a new connection has to finish its TLS handshake and
    /// authenticate. A producer sends its auth line right after connecting
    /// (one round trip, a few ms on a network); 5 s is generous for a slow
    /// link and short enough that a crowd of idle connections cannot hold
    /// slots for long.
    public var authenticationDeadlineMs = 5_000
    /// Longest line read before authentication, in bytes. An auth line is
    /// `{"auth":"<token>"}` with a token of at most `tokenBytesMax` bytes;
    /// 4 KiB leaves room for JSON escapes and keeps a garbage sender's cost
    /// to a few KiB per connection.
    public var unauthenticatedLineBytesMax = 4096
    /// Lines answered `unauthenticated` on one connection before it is
    /// closed: a producer that forgot to authenticate learns it from the
    /// first answer; more only costs the server.
    public var unauthenticatedLinesMax = 16
    /// Connections open and not (yet) authenticated, all listeners together.
    /// Half of `IngestLimits.connectionsMax` by default, so a crowd of idle
    /// or garbage connections can never take the slots producers need.
    public var unauthenticatedConnectionsMax = 512
    /// Failed authentications one peer address may make per minute before
    /// its connections are closed at once (a token bucket of this size that
    /// refills over `failedAuthenticationWindowMs`). Ten covers a producer
    /// retrying with a stale token; a guesser gets ten tries a minute.
    public var failedAuthenticationsPerWindowMax = 10
    /// The refill period of the bucket above: 1 minute.
    public var failedAuthenticationWindowMs = 60_000
    /// Peer addresses the failed-authentication table remembers. Each entry
    /// is ~100 bytes, so the table stays under ~1 MiB; when it is full,
    /// peers whose buckets have refilled are forgotten first.
    public var failedAuthenticationPeersMax = 8192
    /// Longest token accepted, in bytes. Tokens made by `careerlog producers
    /// token` are 47 bytes; 512 leaves room for tokens from other tools.
    public var tokenBytesMax = 512

    public init() {}

    /// Checks the limits against each other before the server starts.
    public func validate() throws(IngestConfigurationError) {
        func require(_ condition: Bool, _ message: String) throws(IngestConfigurationError) {
            if !condition { throw IngestConfigurationError(message: message) }
        }
        try require(authenticationDeadlineMs >= 1 && authenticationDeadlineMs <= 600_000,
                    "the authentication deadline must be between 1 ms and 10 minutes")
        try require(unauthenticatedLineBytesMax >= tokenBytesMax + 16 && unauthenticatedLineBytesMax <= 1 << 20,
                    "the unauthenticated line limit must hold an auth line with the longest token and be at most 1 MiB")
        try require(unauthenticatedLinesMax >= 1, "the unauthenticated lines limit must be at least 1")
        try require(unauthenticatedConnectionsMax >= 1, "the unauthenticated connections limit must be at least 1")
        try require(failedAuthenticationsPerWindowMax >= 1, "the failed authentications limit must be at least 1")
        try require(failedAuthenticationWindowMs >= 1, "the failed authentication window must be at least 1 ms")
        try require(failedAuthenticationPeersMax >= 1, "the failed authentication table must hold at least 1 peer")
        try require(tokenBytesMax >= 16 && tokenBytesMax <= 4096, "the token limit must be between 16 and 4096 bytes")
    }
}
