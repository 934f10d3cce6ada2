import Foundation

/// The tests' one deterministic PRNG (SplitMix64, Steele, Lea and Flood
/// 2014), so a failure reproduces from its seed.
public struct SplitMix: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform enough for tests in `range` (modulo bias is irrelevant here).
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    public mutating func int(_ range: Range<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// 128 random bits as a UUID (no version bits: tests only need distinct ids).
    public mutating func uuid() -> UUID {
        let a = next(), b = next()
        return UUID(uuid: withUnsafeBytes(of: (a, b)) { $0.load(as: uuid_t.self) })
    }
}
