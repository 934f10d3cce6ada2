import Foundation
import Ingest
import TestSupport
import XCTest

/// The compact dedupe window against the plain model it replaced (a
/// dictionary and a ring of ids): after every insert, every id ever seen
/// must get the model's answer, so an eviction, a back-shifted probe chain
/// or a growth that loses or invents an id fails here.
final class DedupeWindowTests: XCTestCase {
    /// The previous implementation, kept as the specification.
    private struct Model {
        let capacity: Int
        var seqs: [UUID: UInt64] = [:]
        var order: [(UUID, UInt64)] = []
        mutating func insert(_ id: UUID, seq: UInt64) {
            seqs[id] = seq
            order.append((id, seq))
            // The window is the newest `capacity` seqs.
            for (old, oldSeq) in order where oldSeq + UInt64(capacity) <= seq && seqs[old] == oldSeq { seqs[old] = nil }
            order.removeAll { $0.1 + UInt64(capacity) <= seq }
        }
    }

    private func check(capacity: Int, inserts: Int, idKind: String, seed: UInt64, reinsertEvery: Int? = nil, seqGapEvery: Int? = nil) {
        var random = SplitMix(seed: seed)
        var window = DedupeWindow(capacity: capacity)
        var model = Model(capacity: capacity)
        var seen: [UUID] = []
        var seq: UInt64 = 0
        for n in 0..<inserts {
            seq += (seqGapEvery.map { n % $0 == $0 - 1 } ?? false) ? 1 + UInt64(random.int(1...(capacity + 3))) : 1
            let id: UUID
            if let every = reinsertEvery, n % every == every - 1, let old = seen.randomElement(using: &random) {
                id = old
            } else if idKind == "time-ordered" {
                // UUIDv7-like: the high half grows slowly, the low half random.
                let high = UInt64(n / 16), low = random.next()
                id = withUnsafeBytes(of: (high.bigEndian, low)) { UUID(uuid: $0.load(as: uuid_t.self)) }
            } else {
                id = random.uuid()
            }
            window.insert(id, seq: seq)
            model.insert(id, seq: seq)
            seen.append(id)
            XCTAssertEqual(window.count, model.seqs.count, "count after insert \(n) (capacity \(capacity), \(idKind))")
            // Every id ever seen (a sample once there are many).
            let probes = seen.count <= 300 ? seen : (0..<300).map { _ in seen[random.int(0..<seen.count)] }
            for probe in probes where window.seq(of: probe) != model.seqs[probe] {
                return XCTFail("insert \(n), capacity \(capacity), \(idKind): \(probe) answered \(String(describing: window.seq(of: probe))), model \(String(describing: model.seqs[probe]))")
            }
        }
        for id in seen where window.seq(of: id) != model.seqs[id] {
            return XCTFail("at the end, capacity \(capacity), \(idKind): \(id)")
        }
        // Ids never inserted are never duplicates.
        for _ in 0..<2_000 { XCTAssertNil(window.seq(of: random.uuid())) }
    }

    func testRandomIdsAgreeWithTheModelAcrossEvictionsAndGrowth() {
        for capacity in [1, 2, 3, 7, 64, 1_000, 5_000] {
            check(capacity: capacity, inserts: capacity * 3 + 50, idKind: "random", seed: UInt64(capacity))
        }
    }

    func testTimeOrderedIdsAgreeWithTheModel() {
        for capacity in [5, 777, 4_096] {
            check(capacity: capacity, inserts: capacity * 3 + 50, idKind: "time-ordered", seed: 99)
        }
    }

    /// The same id stored again (the importer and the appender never do, but
    /// the window must not lose track) and seqs with gaps (a repair's).
    func testReinsertsAndSeqGapsAgreeWithTheModel() {
        for capacity in [3, 100, 2_000] {
            check(capacity: capacity, inserts: capacity * 4, idKind: "random", seed: 7, reinsertEvery: 5)
            check(capacity: capacity, inserts: capacity * 4, idKind: "random", seed: 8, seqGapEvery: 11)
        }
    }

    func testACapacityOfOneKeepsOnlyTheNewestId() {
        var window = DedupeWindow(capacity: 1)
        let a = UUID(), b = UUID()
        window.insert(a, seq: 1)
        XCTAssertEqual(window.seq(of: a), 1)
        window.insert(b, seq: 2)
        XCTAssertNil(window.seq(of: a))
        XCTAssertEqual(window.seq(of: b), 2)
        XCTAssertEqual(window.count, 1)
    }
}

extension DedupeWindowTests {
    /// Seqs that repeat or go back (no caller does this today) must still
    /// leave the window bounded by its capacity: a table that filled up
    /// would make every later lookup probe forever.
    func testRepeatedAndBackwardSeqsKeepTheWindowWithinItsCapacity() {
        var random = SplitMix(seed: 5)
        var window = DedupeWindow(capacity: 16)
        for n in 0..<5_000 {
            let seq = UInt64(n % 3 == 0 ? max(1, n / 2) : n + 1)
            window.insert(random.uuid(), seq: seq)
            XCTAssertLessThanOrEqual(window.count, 16, "insert \(n)")
        }
        XCTAssertNil(window.seq(of: random.uuid()))
    }
}
