import EventLog
import Foundation

/// The ids of the newest `capacity` events and their seqs: an `id` seen
/// again within the window is a duplicate and is answered with the original
/// seq instead of being appended twice.
///
/// Rebuilt from the log on start (the log is the truth), so it survives
/// restarts without a file of its own. Memory is bounded by `capacity`.
///
/// Layout, for about 36 bytes per id when full (a `[UUID: UInt64]` with an
/// eviction ring of ids took 57): an open-addressing table with linear
/// probing of 24-byte slots (the id's two halves and its seq; seq 0 marks
/// an empty slot), kept at most 3/4 full, and a ring of 4-byte slot numbers
/// indexed by `seq % capacity`, which finds the id that falls out of the
/// window when a newer seq takes its ring cell. Deletion shifts the probe
/// chain back (no tombstones), so lookups never slow down with age.
/// Lookups are exact: a hit compares all 128 bits of the id.
public struct DedupeWindow: Sendable {
    public let capacity: Int
    private var slots: [Slot]
    /// `ring[seq % capacity]` = 1 + the slot of the id stored at that seq; 0 = none.
    private var ring: [UInt32]
    private var used = 0
    /// The newest seq inserted.
    private var newest: UInt64 = 0
    /// The table's largest size: `capacity` ids at a load of 3/4.
    private let slotsMax: Int

    /// Slots in a table that starts small and doubles up to `slotsMax`, so a
    /// large window on a small log costs little.
    private static let slotsInitial = 1 << 10
    /// A ring holds slot numbers in 32 bits.
    public static let capacityMax = Int(UInt32.max / 2)

    private struct Slot {
        var high: UInt64
        var low: UInt64
        /// 0: empty (seqs start at 1).
        var seq: UInt64
        static let empty = Slot(high: 0, low: 0, seq: 0)
    }

    public init(capacity: Int) {
        precondition(capacity >= 1 && capacity <= Self.capacityMax, "dedupe window capacity out of range")
        self.capacity = capacity
        slotsMax = max(capacity + capacity / 3 + 1, 2)
        slots = Array(repeating: .empty, count: min(Self.slotsInitial, slotsMax))
        ring = Array(repeating: 0, count: capacity)
    }

    public var count: Int { used }

    /// The newest seq inserted (0 when empty).
    public var newestSeq: UInt64 { newest }

    /// The id stored at the newest seq, if the window holds it.
    public var newestID: UUID? {
        guard newest > 0 else { return nil }
        let registered = Int(ring[Int(newest % UInt64(capacity))])
        guard registered != 0, slots[registered - 1].seq == newest else { return nil }
        let slot = slots[registered - 1]
        return withUnsafeBytes(of: (slot.high, slot.low)) { UUID(uuid: $0.load(as: uuid_t.self)) }
    }

    // MARK: - Snapshot support (see DedupeSnapshot)

    /// Bumped whenever `home` or the slot layout changes: a snapshot made
    /// with another one is not used.
    static let hashVersion: UInt32 = 1
    static let slotStride = MemoryLayout<Slot>.stride

    struct StorageHeader {
        var capacity: Int
        var newest: UInt64
        var slotCount: Int
        var used: Int
    }

    /// The table's raw bytes, for writing a snapshot.
    func withStorage(_ body: (StorageHeader, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        slots.withUnsafeBytes { slotBytes in
            ring.withUnsafeBytes { ringBytes in
                body(StorageHeader(capacity: capacity, newest: newest, slotCount: slots.count, used: used), slotBytes, ringBytes)
            }
        }
    }

    /// A window from a snapshot: `fill` writes the table's raw bytes into
    /// the slots and the ring, and they are checked for consistency (the
    /// CRC guards against damage; this against a bug or a forged file
    /// making a lookup probe forever or index out of range).
    init(
        capacity: Int, newest: UInt64, used: Int, slotCount: Int,
        fill: (UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        self.init(capacity: capacity)
        guard slotCount >= 2, slotCount <= slotsMax, used < slotCount else {
            throw DedupeSnapshot.Rejection(description: "table size out of range")
        }
        var loaded = [Slot](repeating: .empty, count: slotCount)
        try loaded.withUnsafeMutableBytes { slotBytes in
            try ring.withUnsafeMutableBytes { ringBytes in try fill(slotBytes, ringBytes) }
        }
        var held = 0
        for slot in loaded where slot.seq != 0 { held += 1 }
        guard held == used, ring.allSatisfy({ Int($0) <= slotCount }) else {
            throw DedupeSnapshot.Rejection(description: "table contents do not match its header")
        }
        slots = loaded
        self.used = used
        self.newest = newest
    }

    /// The seq of `id` if it is in the window.
    public func seq(of id: UUID) -> UInt64? {
        let (high, low) = Self.halves(id)
        var index = home(high, low, slots.count)
        while true {
            let slot = slots[index]
            if slot.seq == 0 { return nil }
            if slot.high == high && slot.low == low { return slot.seq }
            index = index + 1 == slots.count ? 0 : index + 1
        }
    }

    /// Records `id` as stored at `seq` (seqs must come in increasing order),
    /// evicting the id that the window's newest `capacity` seqs leave out.
    public mutating func insert(_ id: UUID, seq: UInt64) {
        precondition(seq > 0, "seqs start at 1")
        if seq > newest {
            // Seqs skipped (a repair's gap) leave the window too: their cells
            // are not revisited in order, so the ids they hold are evicted now.
            let skipped = min(seq - newest - 1, UInt64(capacity))
            for gapSeq in (seq - skipped)..<seq { evict(cell: Int(gapSeq % UInt64(capacity))) }
            newest = seq
        }
        let (high, low) = Self.halves(id)
        let cell = Int(seq % UInt64(capacity))
        evict(cell: cell, keeping: (high, low))
        if used + 1 > slots.count - slots.count / 4, slots.count < slotsMax {
            grow()
        }
        var index = home(high, low, slots.count)
        while slots[index].seq != 0 {
            if slots[index].high == high && slots[index].low == low { break }
            index = index + 1 == slots.count ? 0 : index + 1
        }
        if slots[index].seq == 0 { used += 1 }
        slots[index] = Slot(high: high, low: low, seq: seq)
        ring[cell] = UInt32(index + 1)
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

    // MARK: - The table

    /// Deletes the id registered in `cell` (unless it is `keeping`): one
    /// cell holds one id, so a newer seq in the cell pushes the older one
    /// out of the window. This also bounds the table by `capacity` ids
    /// whatever order seqs come in. A pointer left behind by an id that
    /// moved to another cell (stored again at a later seq) no longer
    /// matches the slot's seq and is ignored.
    private mutating func evict(cell: Int, keeping id: (high: UInt64, low: UInt64)? = nil) {
        let registered = Int(ring[cell])
        guard registered != 0 else { return }
        let old = slots[registered - 1]
        guard old.seq != 0, Int(old.seq % UInt64(capacity)) == cell else { return }
        if let id, old.high == id.high && old.low == id.low { return }
        delete(at: registered - 1)
        ring[cell] = 0
    }

    /// Removes the slot at `index`, moving later members of its probe chain
    /// back so that no lookup stops early at the hole.
    private mutating func delete(at index: Int) {
        let n = slots.count
        var hole = index
        var next = index
        while true {
            next = next + 1 == n ? 0 : next + 1
            let slot = slots[next]
            if slot.seq == 0 { break }
            let wanted = home(slot.high, slot.low, n)
            // The slot may move into the hole only if its home is not
            // cyclically within (hole, next].
            let staysPut = hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next)
            if staysPut { continue }
            slots[hole] = slot
            let cell = Int(slot.seq % UInt64(capacity))
            if ring[cell] == UInt32(next + 1) { ring[cell] = UInt32(hole + 1) }
            hole = next
        }
        slots[hole] = .empty
        used -= 1
    }

    /// Doubles the table (up to `slotsMax`) and re-registers every id's ring cell.
    private mutating func grow() {
        let old = slots
        let n = min(slots.count * 2, slotsMax)
        slots = Array(repeating: .empty, count: n)
        for slot in old where slot.seq != 0 {
            var index = home(slot.high, slot.low, n)
            while slots[index].seq != 0 { index = index + 1 == n ? 0 : index + 1 }
            slots[index] = slot
            let cell = Int(slot.seq % UInt64(capacity))
            ring[cell] = UInt32(index + 1)
        }
    }

    private static func halves(_ id: UUID) -> (UInt64, UInt64) {
        withUnsafeBytes(of: id.uuid) { ($0.load(fromByteOffset: 0, as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt64.self)) }
    }

    /// The slot an id hashes to: ids are not always random (time-ordered
    /// UUIDv1/v7 share their high bits), so both halves are mixed, then the
    /// hash is mapped onto `n` slots by a multiply (no power-of-two size).
    private func home(_ high: UInt64, _ low: UInt64, _ n: Int) -> Int {
        var h = high ^ (low &* 0x9E37_79B9_7F4A_7C15)
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return Int(h.multipliedFullWidth(by: UInt64(n)).high)
    }
}
