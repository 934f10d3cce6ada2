import NIOConcurrencyHelpers

/// Counts failed authentications per peer address, so a token cannot be
/// guessed at line speed: each address has a bucket of
/// `failedAuthenticationsPerWindowMax` tries that refills over
/// `failedAuthenticationWindowMs` (10 a minute by default). A failure with
/// the bucket empty blocks the address: its connections are closed at once,
/// and no token it sends is even checked, until the bucket refills.
///
/// Memory is bounded by `failedAuthenticationPeersMax` addresses. When the
/// table is full, addresses whose bucket has refilled (which no longer
/// restrict anything) are forgotten first; if none has, the least
/// restricted one is. Shared by every connection; thread-safe.
///
/// The key is the address without the port (a client gets a new port per
/// connection). All Unix socket peers share one key: the socket's file mode
/// already limits who may try.
public final class FailedAuthenticationLimiter: Sendable {
    private struct Bucket {
        /// Tries left, in units of 1/`perWindow` so refill is exact integer
        /// arithmetic: one try is `windowNanoseconds` units.
        var credit: UInt64
        var updatedAt: UInt64
    }

    private let perWindow: UInt64
    private let windowNanoseconds: UInt64
    private let peersMax: Int
    private let buckets = NIOLockedValueBox<[String: Bucket]>([:])

    public init(limits: DoorLimits) {
        perWindow = UInt64(limits.failedAuthenticationsPerWindowMax)
        windowNanoseconds = UInt64(limits.failedAuthenticationWindowMs) * 1_000_000
        peersMax = limits.failedAuthenticationPeersMax
    }

    /// A full bucket: `perWindow` tries.
    private var capacity: UInt64 { perWindow * windowNanoseconds }

    /// Addresses tracked now (tests check the bound with it).
    public var trackedPeers: Int { buckets.withLockedValue { $0.count } }

    /// True while `peer` may not authenticate: its bucket has less than one
    /// try in it. `now` is a monotonic time in nanoseconds
    /// (`NIODeadline.now().uptimeNanoseconds`).
    public func isBlocked(peer: String, now: UInt64) -> Bool {
        buckets.withLockedValue { table in
            guard let bucket = table[peer] else { return false }
            return refilled(bucket, now: now).credit < windowNanoseconds
        }
    }

    /// Records one failed authentication by `peer`. Returns true when the
    /// peer may go on trying, false when this failure found the bucket empty
    /// (close the connection at once).
    public func recordFailure(peer: String, now: UInt64) -> Bool {
        buckets.withLockedValue { table in
            var bucket = table[peer].map { refilled($0, now: now) } ?? Bucket(credit: capacity, updatedAt: now)
            let allowed = bucket.credit >= windowNanoseconds
            if allowed { bucket.credit -= windowNanoseconds }
            if table[peer] == nil, table.count >= peersMax { makeRoom(&table, now: now) }
            table[peer] = bucket
            return allowed
        }
    }

    /// Credit refills at `perWindow` tries per window: one unit per
    /// nanosecond per try, capped at a full bucket.
    private func refilled(_ bucket: Bucket, now: UInt64) -> Bucket {
        let elapsed = now > bucket.updatedAt ? now - bucket.updatedAt : 0
        let gain = elapsed.multipliedReportingOverflow(by: perWindow)
        let credit = gain.overflow ? capacity : min(capacity, bucket.credit + min(gain.partialValue, capacity))
        return Bucket(credit: credit, updatedAt: now)
    }

    /// Forgets every full bucket; if there is none, the fullest one.
    private func makeRoom(_ table: inout [String: Bucket], now: UInt64) {
        let before = table.count
        table = table.filter { refilled($0.value, now: now).credit < capacity }
        guard table.count == before else { return }
        if let fullest = table.max(by: { refilled($0.value, now: now).credit < refilled($1.value, now: now).credit }) {
            table.removeValue(forKey: fullest.key)
        }
    }
}
