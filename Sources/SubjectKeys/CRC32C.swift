/// CRC-32C (Castagnoli), the checksum the event log uses too (FORMAT.md).
/// Byte-wise over one table: key store records are 128 bytes, so this is not
/// worth the event log's slicing-by-8 (SubjectKeys may not import EventLog).
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { i in
        var crc = UInt32(i)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for byte in bytes { c = (c >> 8) ^ t[Int((c ^ UInt32(byte)) & 0xFF)] }
        }
        return ~c
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
