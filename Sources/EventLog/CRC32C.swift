import CCRC32C

/// CRC-32C (Castagnoli), as used by iSCSI, ext4 and Kafka record batches.
///
/// The one implementation is `CCRC32C` (the CPU's crc32 instruction where
/// there is one, else slicing-by-8), shared with the key store; this is
/// its Swift face for the log's write and read paths.
public enum CRC32C {
    /// Continues a CRC over `bytes`. Start with `0` for a fresh checksum:
    /// `update(update(0, a), b) == checksum(a + b)`.
    @inline(__always)
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        careerlog_crc32c_update(crc, bytes.baseAddress, bytes.count)
    }

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }

    /// Whether the CPU's crc32 instruction is used (else the tables).
    public static var usesHardware: Bool { careerlog_crc32c_uses_hardware() != 0 }

    /// The table-driven path alone, for tests that compare the two.
    public static func portableUpdate(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        careerlog_crc32c_update_portable(crc, bytes.baseAddress, bytes.count)
    }
}
