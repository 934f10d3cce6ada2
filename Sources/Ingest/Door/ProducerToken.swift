import Crypto

/// Bearer tokens for producers: made at random, handed to the producer, and
/// stored on the server only as their SHA-256.
///
/// Why SHA-256 and not a slow password hash (bcrypt, Argon2): a token is 32
/// random bytes (256 bits) from the system's CSPRNG, not a password a person
/// chose, so there is no dictionary to try and brute force over 2^256
/// values is hopeless however fast the hash; a slow hash only protects
/// low-entropy secrets. SHA-256 keeps checking an auth line at about a
/// microsecond, so failed authentications cannot be turned into a CPU
/// attack, and a leaked producers file reveals no usable token.
///
/// Lookups go by the hash (a dictionary key), never by comparing the token
/// itself, so the time taken tells a guesser nothing about the token.
public enum ProducerToken {
    /// Random bytes in a token made by `generate`.
    public static let randomBytes = 32
    /// Marks careerlog producer tokens, so one found in a log or a
    /// repository is recognisable (secret scanners key on such prefixes).
    public static let prefix = "clp_"

    /// A new token: `clp_` and 43 base64url characters (256 random bits).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<randomBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return prefix + base64URL(bytes)
    }

    /// The token's SHA-256 as 64 lower-case hex digits: what the producers
    /// file stores as `token_sha256`.
    public static func sha256Hex(_ token: String) -> String {
        sha256Hex(bytes: Array(token.utf8))
    }

    public static func sha256Hex(bytes: some Collection<UInt8>) -> String {
        let digest = SHA256.hash(data: Array(bytes))
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 4648 section 5, without padding.
    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let chunk = bytes[i..<min(i + 3, bytes.count)]
            var value: UInt32 = 0
            for (n, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * UInt32(n)) }
            for n in 0...chunk.count { out.append(alphabet[Int((value >> (18 - 6 * UInt32(n))) & 0x3F)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
