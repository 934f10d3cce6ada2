/// The rule for a producer's name, shared by the producers file (which
/// gives names) and `replay --producer` (which asks for one): 1 to 64 of
/// `a-z 0-9 . _ -`, starting with a letter or digit, so a name is safe in
/// log lines, messages and JSON without escaping.
public enum ProducerName {
    /// Longest name, in bytes (it is stored with every event the producer writes).
    public static let bytesMax = 64
    /// The rule in words, for error messages.
    public static let rule = "1 to \(bytesMax) of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"

    /// `[a-z0-9][a-z0-9._-]{0,63}`.
    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, bytes.count <= bytesMax else { return false }
        func isLowerAlphanumeric(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        return isLowerAlphanumeric(first) && bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }
}
