import Crypto

/// A 256-bit AES key: a subject's data key, or a key the store derives.
///
/// `@unchecked Sendable` because swift-crypto 3.x does not declare
/// `SymmetricKey` Sendable (4.x does): its storage is never mutated after
/// creation, so sharing it between threads is safe.
public struct DataKey: @unchecked Sendable, Equatable {
    let symmetricKey: SymmetricKey

    init(_ symmetricKey: SymmetricKey) {
        self.symmetricKey = symmetricKey
    }

    /// A key from 32 raw bytes (tools and tests).
    public init(bytes: [UInt8]) throws(KeyStoreError) {
        guard bytes.count == 32 else {
            throw KeyStoreError(.badMasterKey, "a key is 32 bytes, not \(bytes.count)")
        }
        symmetricKey = SymmetricKey(data: bytes)
    }

    /// A fresh random key from the system's generator.
    static func random() -> DataKey { DataKey(SymmetricKey(size: .bits256)) }

    /// The raw key bytes, for the closure's duration only.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try symmetricKey.withUnsafeBytes(body)
    }

    /// Compares in constant time (no early exit on the first differing byte).
    public static func == (a: DataKey, b: DataKey) -> Bool {
        a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                guard x.count == y.count else { return false }
                var difference: UInt8 = 0
                for i in 0 ..< x.count { difference |= x[i] ^ y[i] }
                return difference == 0
            }
        }
    }
}
