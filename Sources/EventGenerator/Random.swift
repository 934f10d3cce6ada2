/// The generator's only source of randomness: SplitMix64 (Steele, Lea and
/// Flood, "Fast splittable pseudorandom number generators", 2014).
///
/// Every simulated person owns one, seeded from the run's seed and the
/// person's index, so a person's history does not depend on how the people
/// interleave. Only integer arithmetic and IEEE `+ - * /` are used on the
/// draws (no `log`, `exp` or `pow`, whose last bits differ between C
/// libraries), which keeps the output byte-identical on every machine.
struct SplitMix64: Sendable {
    private(set) var state: UInt64

    init(seed: UInt64) { self.state = seed }

    /// The stream for one simulated entity: `domain` separates learners,
    /// mentors, recruiters and the other id spaces; `index` is the entity.
    init(seed: UInt64, domain: UInt64, index: Int) {
        self.state = SplitMix64.derive(seed: seed, domain: domain, index: index)
    }

    static func derive(seed: UInt64, domain: UInt64, index: Int) -> UInt64 {
        let a = mix(seed ^ (domain &* 0xD1B5_4A32_D192_ED03))
        return mix(a &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// SplitMix64's output function: a bijection on 64 bits with full avalanche.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// A value in `0..<bound` (Lemire's multiply-high; the bias is below
    /// 2^-40 for the bounds used here, and it is deterministic either way).
    @inline(__always)
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "empty range")
        return Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    @inline(__always)
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.count)
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    @inline(__always)
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * unit()
    }

    @inline(__always)
    mutating func chance(_ probability: Double) -> Bool {
        unit() < probability
    }

    @inline(__always)
    mutating func pick<T>(_ items: [T]) -> T {
        items[below(items.count)]
    }

    /// An index drawn with the given relative integer weights.
    mutating func weighted(_ weights: [Int]) -> Int {
        var total = 0
        for weight in weights { total += weight }
        var ticket = below(total)
        for (index, weight) in weights.enumerated() {
            if ticket < weight { return index }
            ticket -= weight
        }
        preconditionFailure("weights must be positive")
    }

    /// A duration between `low` and `high` days, in milliseconds.
    @inline(__always)
    mutating func days(_ low: Double, _ high: Double) -> Int64 {
        Int64(uniform(low, high) * Double(Millis.day))
    }

    mutating func uuid() -> UUID128 {
        UUID128(randomHigh: next(), randomLow: next())
    }
}

/// Durations in milliseconds, the generator's time unit.
enum Millis {
    static let second: Int64 = 1000
    static let minute: Int64 = 60 * second
    static let hour: Int64 = 60 * minute
    static let day: Int64 = 24 * hour
}
