import Crypto
import Foundation

/// A bounded cache of unwrapped data keys: least recently used goes first,
/// approximated by the CLOCK algorithm (a reference bit per slot, a hand
/// that clears bits until it finds an unreferenced slot), which needs no
/// linked list and no allocation per hit.
struct KeyCache {
    let capacity: Int
    private var slotOf: [UUID: Int] = [:]
    private var subjects: [UUID] = []
    private var keys: [DataKey] = []
    private var referenced: [Bool] = []
    private var hand = 0

    init(capacity: Int) {
        precondition(capacity >= 1, "the key cache needs room for one key")
        self.capacity = capacity
    }

    var count: Int { keys.count }

    mutating func get(_ subject: UUID) -> DataKey? {
        guard let slot = slotOf[subject] else { return nil }
        referenced[slot] = true
        return keys[slot]
    }

    mutating func put(_ subject: UUID, _ key: DataKey) {
        if let slot = slotOf[subject] {
            keys[slot] = key
            referenced[slot] = true
            return
        }
        if keys.count < capacity {
            slotOf[subject] = keys.count
            subjects.append(subject)
            keys.append(key)
            referenced.append(false)
            return
        }
        while referenced[hand] {
            referenced[hand] = false
            hand = (hand + 1) % capacity
        }
        slotOf[subjects[hand]] = nil
        slotOf[subject] = hand
        subjects[hand] = subject
        keys[hand] = key
        hand = (hand + 1) % capacity
    }

    /// Forgets `subject`'s key (destroyed): its slot is reused first.
    mutating func remove(_ subject: UUID) {
        guard let slot = slotOf.removeValue(forKey: subject) else { return }
        let last = keys.count - 1
        if slot != last {
            subjects[slot] = subjects[last]
            keys[slot] = keys[last]
            referenced[slot] = referenced[last]
            slotOf[subjects[slot]] = slot
        }
        subjects.removeLast()
        keys.removeLast()
        referenced.removeLast()
        if hand >= keys.count { hand = 0 }
    }

    mutating func removeAll() {
        self = KeyCache(capacity: capacity)
    }
}
