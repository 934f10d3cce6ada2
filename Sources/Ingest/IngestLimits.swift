/// Every bound the ingest server works with, in one place, with why.
///
/// Whatever a client sends, the server's memory is bounded by these numbers:
/// per connection `lineBytesMax` (+ one socket read) of unframed input and
/// `unacknowledgedLinesMax` answers waiting to be written; across
/// connections `connectionsMax` and the appender's queue bounds.
public struct IngestLimits: Sendable, Equatable {
    /// Longest line accepted, in bytes without the line ending. 1 MiB, the
    /// log's largest event (`LogLimits.eventBytesMax`): any longer line could
    /// not be stored anyway. The rest of a longer line is discarded as it
    /// arrives and the line is answered `too_large`.
    public var lineBytesMax = 1 << 20
    /// Deepest JSON nesting accepted. The catalog's deepest event nests 4
    /// levels; 64 leaves room for new versions and keeps parser recursion
    /// shallow.
    public var jsonDepthMax = 64
    /// Open connections, both listeners together. Each costs a socket, a
    /// line buffer and answer slots; beyond this a new connection gets one
    /// `overloaded` line and is closed.
    public var connectionsMax = 1024
    /// Lines read from one connection and not yet answered on the socket.
    /// At this count the server stops reading that socket until answers
    /// drain (backpressure). 4096 covers several group commits at full rate
    /// (~20,000 events/s per connection x 8 ms), so a pipelining client is
    /// never slowed by it, and bounds a connection to a few MiB.
    public var unacknowledgedLinesMax = 4096
    /// Rejected lines in a row after which the connection is closed (with a
    /// final line): a client sending garbage, not one with a few bad events.
    public var rejectedLinesInARowMax = 1000
    /// A connection that sends no byte at all, and has nothing waiting, for
    /// this long is answered `idle_timeout` (line 0) and closed: frees the
    /// slot held by a forgotten client.
    public var idleTimeoutMs = 300_000
    /// Longest time one line may take to arrive, from its first byte to its
    /// newline. A client trickling a line is answered `line_timeout` (for
    /// that line) and closed: it holds a slot and a buffer without ever
    /// completing work. 60 s lets a 1 MiB line through a 20 KiB/s link.
    public var lineDeadlineMs = 60_000
    /// Bytes of unfinished lines buffered across all connections. Past it the
    /// connections holding input stop being read until others finish their
    /// lines, and a line that does not fit is answered `overloaded` (send it
    /// again later). 256 MiB holds 256 largest lines at once while bounding
    /// what a flood of half-sent lines can take.
    public var bufferedBytesMax = 256 << 20
    /// Descriptors kept free for the log and the rest of the process (segment
    /// rolls open a segment, an index temporary file and the directory at
    /// once; the projector's log readers and PostgreSQL connections; status
    /// files). Connections get what the open-file limit leaves beyond these.
    public var descriptorsReserved = 64
    /// After a failed write the appender answers `unavailable` for this long
    /// before trying the log again, doubling up to the maximum while it keeps
    /// failing: a full disk is not hammered, and a freed one is used within
    /// seconds.
    public var writeRetryDelayMinMs = 100
    public var writeRetryDelayMaxMs = 5_000
    /// A connection whose answers cannot be written (the client does not read
    /// them) for this long is closed. Reading already stops while answers are
    /// stuck, so this only bounds how long the slot is held.
    public var slowClientTimeoutMs = 30_000
    /// Events validated by all connections and waiting for the appender.
    /// At ~250,000 events/s append speed this is at most ~0.4 s of work; a
    /// batch that does not fit is answered `overloaded` (the client retries).
    public var appenderQueueEventsMax = 100_000
    /// The same queue in stored bytes: bounds memory when events are large
    /// (128 one-MiB events).
    public var appenderQueueBytesMax = 128 << 20
    /// On shutdown, how long connections get to receive their last answers
    /// before they are closed regardless (a client that does not read).
    public var drainTimeoutMs = 10_000
    /// Outbound bytes buffered per connection before it counts as not
    /// writable (which stops reading it and starts the slow-client clock).
    public var writeBufferHighBytes = 256 << 10
    public var writeBufferLowBytes = 64 << 10

    public init() {}

    /// Checks the limits against each other; a bad configuration is the
    /// caller's error, reported before the server starts.
    public func validate() throws(IngestConfigurationError) {
        func require(_ condition: Bool, _ message: String) throws(IngestConfigurationError) {
            if !condition { throw IngestConfigurationError(message: message) }
        }
        try require(lineBytesMax >= 1024 && lineBytesMax <= 64 << 20, "the line limit must be between 1 KiB and 64 MiB")
        try require(jsonDepthMax >= 2 && jsonDepthMax <= 128, "the JSON depth limit must be between 2 and 128")
        try require(connectionsMax >= 1 && connectionsMax <= 1_000_000, "the connection limit must be between 1 and 1,000,000")
        try require(unacknowledgedLinesMax >= 1 && unacknowledgedLinesMax <= 1 << 20,
                    "the unacknowledged lines limit must be between 1 and 1,048,576")
        try require(rejectedLinesInARowMax >= 1, "the rejected lines limit must be at least 1")
        try require(idleTimeoutMs >= 1, "the idle timeout must be at least 1 ms")
        try require(lineDeadlineMs >= 1, "the line deadline must be at least 1 ms")
        try require(bufferedBytesMax >= lineBytesMax + 1, "the buffered input limit must hold at least one largest line")
        try require(descriptorsReserved >= 16, "at least 16 descriptors must be reserved for the log")
        try require(writeRetryDelayMinMs >= 1 && writeRetryDelayMinMs <= writeRetryDelayMaxMs,
                    "the write retry delays must be at least 1 ms, the minimum not above the maximum")
        try require(slowClientTimeoutMs >= 1, "the slow-client timeout must be at least 1 ms")
        try require(appenderQueueEventsMax >= 1, "the appender queue must hold at least 1 event")
        try require(appenderQueueBytesMax >= lineBytesMax, "the appender queue must hold at least one largest line")
        try require(drainTimeoutMs >= 0, "the drain timeout must not be negative")
        try require(writeBufferLowBytes >= 1 && writeBufferLowBytes <= writeBufferHighBytes,
                    "the write buffer low mark must be between 1 and the high mark")
    }
}

/// A configuration the server cannot start with (limits, addresses).
public struct IngestConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
