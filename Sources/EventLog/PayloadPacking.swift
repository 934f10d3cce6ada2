#if canImport(Glibc)
import Glibc
#endif

/// The reversible byte transform of a recompressed frame's payload before
/// LZ4 HC (codec 3, FORMAT.md "Packed payloads"). LZ4 has no entropy coding,
/// so a UUID written as 36 hex characters costs it 36 bytes where its value
/// is 16; events name one or more other entities by UUID in `data`.
///
/// - A UUID in canonical lowercase text between quotes (`"` 8-4-4-4-12 hex
///   digits `"`, 38 bytes) becomes `FF 01` and its 16 bytes in text order.
/// - A byte `FF` (never in UTF-8 text; found in binary ids and varints)
///   becomes `FF 00`.
/// - Every other byte is itself.
///
/// Uppercase or otherwise non-canonical text is left as it is, so unpacking
/// gives back the payload byte for byte. The log never interprets what it
/// packs: the pattern is matched anywhere in the payload, binary fields
/// included, and the escape makes any input round-trip.
///
/// Why not a library: this is part of the segment format (one pattern, one
/// escape), not general compression; liblz4 does the compressing.
enum PayloadPacking {
    static let marker: UInt8 = 0xFF
    static let tagLiteral: UInt8 = 0x00
    static let tagUUID: UInt8 = 0x01
    /// `"` + 36 characters + `"`.
    static let quotedUUIDLength = 38

    /// Calls `body` with what a recompressed frame's LZ4 block holds: the
    /// packed form of `raw` (in `scratch`) when it packs any UUID, else
    /// `raw` itself, and whether it was packed.
    static func withCompressionInput<R>(
        _ raw: UnsafeRawBufferPointer, scratch: inout [UInt8], _ body: (UnsafeRawBufferPointer, Bool) throws -> R
    ) rethrows -> R {
        scratch.removeAll(keepingCapacity: true)
        guard pack(raw, into: &scratch) > 0 else { return try body(raw, false) }
        return try scratch.withUnsafeBytes { try body($0, true) }
    }

    /// The largest packed form of `count` payload bytes (every byte `FF`).
    static func packedBound(_ count: Int) -> Int { 2 * count }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A lowercase hex digit's value, or 0xFF.
    private static let hexValue: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, digit) in hexDigits.enumerated() { table[Int(digit)] = UInt8(value) }
        return table
    }()

    /// Where the four hyphens of canonical UUID text are (0-based, in the 36 characters).
    private static func isHyphenPosition(_ i: Int) -> Bool { i == 8 || i == 13 || i == 18 || i == 23 }

    /// The packed form of `raw`, appended to `out`. Returns how many UUIDs
    /// were packed (0: packing saves nothing; the recompressor then keeps
    /// codec 2 and the payload as it is).
    @discardableResult
    static func pack(_ raw: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Int {
        out.reserveCapacity(out.count + raw.count + raw.count / 64)
        var packed = 0
        var i = 0
        let n = raw.count
        var value = [UInt8](repeating: 0, count: 16)
        while i < n {
            let byte = raw[i]
            if byte == UInt8(ascii: "\""), i + quotedUUIDLength <= n, raw[i + quotedUUIDLength - 1] == UInt8(ascii: "\""),
               parseCanonical(raw, at: i + 1, into: &value) {
                out.append(marker)
                out.append(tagUUID)
                out.append(contentsOf: value)
                packed += 1
                i += quotedUUIDLength
                continue
            }
            out.append(byte)
            if byte == marker { out.append(tagLiteral) }
            i += 1
        }
        return packed
    }

    /// The 16 bytes of the canonical lowercase UUID text at `start`, or false.
    private static func parseCanonical(_ raw: UnsafeRawBufferPointer, at start: Int, into value: inout [UInt8]) -> Bool {
        var k = 0
        var c = 0
        while c < 36 {
            if isHyphenPosition(c) {
                guard raw[start + c] == UInt8(ascii: "-") else { return false }
                c += 1
                continue
            }
            let high = hexValue[Int(raw[start + c])]
            let low = hexValue[Int(raw[start + c + 1])]
            guard high < 16, low < 16 else { return false }
            value[k] = high << 4 | low
            k += 1
            c += 2
        }
        return true
    }

    /// Unpacks `packed` into exactly `destination.count` bytes. False when
    /// the packed bytes are malformed (an unknown tag, a sequence cut short)
    /// or do not unpack to exactly that length: the caller reports corruption.
    static func unpack(_ packed: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        guard let source = packed.baseAddress else { return destination.isEmpty }
        guard let target = destination.baseAddress else { return packed.isEmpty }
        let end = packed.count
        let capacity = destination.count
        var i = 0
        var o = 0
        while i < end {
            // Copy up to the next marker in one go (memchr is vectorised).
            let rest = end - i
            let found = memchr(source + i, Int32(marker), rest)
            let span = found.map { UnsafeRawPointer($0) - (source + i) } ?? rest
            guard o + span <= capacity else { return false }
            if span > 0 { memcpy(target + o, source + i, span) }
            i += span
            o += span
            guard i < end else { break }
            guard i + 1 < end else { return false }
            switch packed[i + 1] {
            case tagLiteral:
                guard o < capacity else { return false }
                destination[o] = marker
                o += 1
                i += 2
            case tagUUID:
                guard i + 18 <= end, o + quotedUUIDLength <= capacity else { return false }
                writeQuotedUUID(source + i + 2, to: target + o)
                o += quotedUUIDLength
                i += 18
            default:
                return false
            }
        }
        return o == capacity
    }

    /// `"` + canonical lowercase text of the 16 bytes at `value` + `"`.
    private static func writeQuotedUUID(_ value: UnsafeRawPointer, to out: UnsafeMutableRawPointer) {
        hexDigits.withUnsafeBufferPointer { digits in
            out.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
            var o = 1
            for k in 0..<16 {
                if k == 4 || k == 6 || k == 8 || k == 10 {
                    out.storeBytes(of: UInt8(ascii: "-"), toByteOffset: o, as: UInt8.self)
                    o += 1
                }
                let byte = value.load(fromByteOffset: k, as: UInt8.self)
                out.storeBytes(of: digits[Int(byte >> 4)], toByteOffset: o, as: UInt8.self)
                out.storeBytes(of: digits[Int(byte & 0x0F)], toByteOffset: o + 1, as: UInt8.self)
                o += 2
            }
            out.storeBytes(of: UInt8(ascii: "\""), toByteOffset: o, as: UInt8.self)
        }
    }
}
