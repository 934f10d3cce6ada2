import Foundation

/// The key store's in-memory index: subject -> record number, with the
/// erased bit. Open addressing with linear probing over 20-byte slots kept
/// in one flat `[UInt32]` (4 words of subject, 1 word of value), so
/// 1,000,000 subjects take 25-38 MB instead of a `Dictionary`'s hundreds.
///
///     slot (5 words): | subject bytes 0..<16 (4 x UInt32) | value |
///     value: bit 31 = erased, bits 0..<31 = record number + 1 (0 = empty slot)
///
/// The slot count is any number (Lemire's multiply-shift maps a hash onto
/// it), so the table grows by half instead of doubling.
struct SubjectTable {
    static let wordsPerSlot = 5
    /// Grow past this load: linear probing stays short (about 3 probes for a
    /// hit, 13 for a miss at 0.8) while memory stays near the entries' size.
    static let loadMax = 0.8
    /// Growth factor: after growing the load is 0.53.
    static let growth = 1.5
    static let erasedBit: UInt32 = 1 << 31
    /// Record numbers must fit under the erased bit.
    static let recordNumberMax = Int(erasedBit) - 2

    private(set) var words: [UInt32]
    private(set) var slotCount: Int
    private(set) var count = 0

    init(expected: Int = 0) {
        slotCount = max(16, Int((Double(expected) / Self.loadMax).rounded(.up)) + 1)
        words = [UInt32](repeating: 0, count: slotCount * Self.wordsPerSlot)
    }

    /// Bytes the table itself holds (its slot array).
    var bytesAllocated: Int { words.capacity * MemoryLayout<UInt32>.stride }

    struct Entry: Equatable {
        var record: Int
        var erased: Bool
    }

    func find(_ subject: UUID) -> Entry? {
        let key = Self.words(subject)
        return words.withUnsafeBufferPointer { w -> Entry? in
            var slot = Self.slot(key, slotCount)
            while true {
                let base = slot * Self.wordsPerSlot
                let value = w[base + 4]
                if value == 0 { return nil }
                if w[base] == key.0 && w[base + 1] == key.1 && w[base + 2] == key.2 && w[base + 3] == key.3 {
                    return Entry(record: Int(value & ~Self.erasedBit) - 1, erased: value & Self.erasedBit != 0)
                }
                slot = slot + 1 == slotCount ? 0 : slot + 1
            }
        }
    }

    /// Inserts or replaces the entry of `subject`.
    mutating func set(_ subject: UUID, _ entry: Entry) {
        precondition(entry.record >= 0 && entry.record <= Self.recordNumberMax, "record number out of range")
        if Double(count + 1) > Double(slotCount) * Self.loadMax { grow() }
        let value = UInt32(entry.record + 1) | (entry.erased ? Self.erasedBit : 0)
        if Self.place(Self.words(subject), value, in: &words, slotCount) { count += 1 }
    }

    /// Removes every entry (the store reloads after a cut or compaction).
    mutating func removeAll(expected: Int) {
        self = SubjectTable(expected: expected)
    }

    private mutating func grow() {
        let newCount = Int(Double(slotCount) * Self.growth) + 1
        var newWords = [UInt32](repeating: 0, count: newCount * Self.wordsPerSlot)
        words.withUnsafeBufferPointer { w in
            for slot in 0..<slotCount where w[slot * Self.wordsPerSlot + 4] != 0 {
                let b = slot * Self.wordsPerSlot
                _ = Self.place((w[b], w[b + 1], w[b + 2], w[b + 3]), w[b + 4], in: &newWords, newCount)
            }
        }
        words = newWords
        slotCount = newCount
    }

    /// Puts `value` at `key`'s slot; true when the key was new.
    private static func place(_ key: (UInt32, UInt32, UInt32, UInt32), _ value: UInt32, in words: inout [UInt32], _ slotCount: Int) -> Bool {
        words.withUnsafeMutableBufferPointer { w in
            var slot = slot(key, slotCount)
            while true {
                let base = slot * wordsPerSlot
                if w[base + 4] == 0 {
                    w[base] = key.0; w[base + 1] = key.1; w[base + 2] = key.2; w[base + 3] = key.3
                    w[base + 4] = value
                    return true
                }
                if w[base] == key.0 && w[base + 1] == key.1 && w[base + 2] == key.2 && w[base + 3] == key.3 {
                    w[base + 4] = value
                    return false
                }
                slot = slot + 1 == slotCount ? 0 : slot + 1
            }
        }
    }

    @inline(__always) static func words(_ subject: UUID) -> (UInt32, UInt32, UInt32, UInt32) {
        withUnsafeBytes(of: subject.uuid) { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self), raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self),
             raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self), raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        }
    }

    /// A well-mixed hash (UUIDv7s share their time bits), then multiply-shift
    /// onto `slotCount` slots.
    @inline(__always) static func slot(_ key: (UInt32, UInt32, UInt32, UInt32), _ slotCount: Int) -> Int {
        var h = (UInt64(key.0) | UInt64(key.1) << 32) ^ (UInt64(key.2) | UInt64(key.3) << 32) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31
        return Int(h.multipliedFullWidth(by: UInt64(slotCount)).high)
    }
}
