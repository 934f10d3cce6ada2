import EventLog
import Foundation

/// The ids of the newest `capacity` events and their seqs: an `id` seen
/// again within the window is a duplicate and is answered with the original
/// seq instead of being appended twice.
///
/// Rebuilt from the log on start (the log is the truth), so it survives
/// restarts without a file of its own. Memory is bounded by `capacity`.
public struct DedupeWindow: Sendable {
    public let capacity: Int
    private var seqs: [UUID: UInt64] = [:]
    /// Ids in seq order, oldest first, for eviction: a ring of `capacity`.
    private var ring: [UUID] = []
    private var ringStart = 0

    public init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
        seqs.reserveCapacity(min(capacity, 1 << 20))
    }

    public var count: Int { seqs.count }

    /// The seq of `id` if it is in the window.
    public func seq(of id: UUID) -> UInt64? { seqs[id] }

    /// Records `id` as stored at `seq` (seqs must come in increasing order),
    /// evicting the oldest id when the window is full.
    public mutating func insert(_ id: UUID, seq: UInt64) {
        if ring.count < capacity {
            ring.append(id)
        } else {
            let evicted = ring[ringStart]
            if seqs[evicted].map({ $0 <= seq }) == true { seqs[evicted] = nil }
            ring[ringStart] = id
            ringStart = (ringStart + 1) % capacity
        }
        seqs[id] = seq
    }

    /// A window holding the ids of the newest `capacity` events of `log`.
    public static func load(from log: EventLog, capacity: Int) throws(LogError) -> DedupeWindow {
        var window = DedupeWindow(capacity: capacity)
        let last = log.lastSeq
        let first = last > UInt64(capacity) ? last - UInt64(capacity) + 1 : 1
        let reader = log.reader(fromSeq: first)
        while let record = try reader.next() {
            window.insert(record.event.id, seq: record.seq)
        }
        return window
    }
}
