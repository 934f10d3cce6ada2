import CCRC32C

/// CRC-32C (Castagnoli), the checksum the event log uses too (FORMAT.md),
/// from the one implementation both share (`CCRC32C`; SubjectKeys may not
/// import EventLog).
enum CRC32C {
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        careerlog_crc32c_update(0, bytes.baseAddress, bytes.count)
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
