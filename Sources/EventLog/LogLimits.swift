/// Every size the log works with has a limit; they live here, with why.
public struct LogLimits: Sendable, Equatable {
    /// The largest encoded record. Matches the ingest line limit (1 MiB) so
    /// that any event the server accepts fits.
    public var eventBytesMax: Int = 1 << 20
    /// The writer cuts a frame once its records reach this many bytes:
    /// LZ4 compresses 16-64 KiB blocks well, and larger frames only add read
    /// latency and memory per reader.
    public var frameTargetBytes: Int = 32 << 10
    /// The largest raw or stored frame payload accepted on read. A frame holds
    /// at most `frameTargetBytes` plus one largest event, so anything larger
    /// is corruption, and a reader never allocates more than this per frame.
    public var frameBytesMax: Int = 2 << 20
    /// The most records in one frame: bounds per-frame work and memory.
    public var frameEventsMax: Int = 8192
    /// A segment is sealed and a new one started when the next frame would
    /// pass this size. 256 MiB: sequential I/O, and small enough to verify,
    /// copy and delete one at a time.
    public var segmentBytesMax: Int = 256 << 20

    public init() {}

    public init(segmentBytesMax: Int) {
        self.segmentBytesMax = segmentBytesMax
    }

    /// Checks the limits against each other; a bad configuration is the
    /// caller's error, reported before anything is written.
    func validate() throws(LogError) {
        guard eventBytesMax >= 1024 else {
            throw LogError(.invalidArgument, "eventBytesMax must be at least 1024 bytes")
        }
        guard frameTargetBytes >= 1024, frameTargetBytes <= frameBytesMax - eventBytesMax else {
            throw LogError(.invalidArgument, "frameTargetBytes must be at least 1 KiB and at most frameBytesMax - eventBytesMax")
        }
        guard frameBytesMax <= Int(Int32.max) / 2 else {
            throw LogError(.invalidArgument, "frameBytesMax must be below 1 GiB")
        }
        guard frameEventsMax >= 1 else {
            throw LogError(.invalidArgument, "frameEventsMax must be at least 1")
        }
        // A frame larger than the limit still goes alone into a fresh segment,
        // so the only floor is practical.
        guard segmentBytesMax >= 4096 else {
            throw LogError(.invalidArgument, "segmentBytesMax must be at least 4096 bytes")
        }
    }
}
