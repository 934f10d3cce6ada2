#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// UUIDs as text, in the one form the catalog allows:
///
///     2eb8aa08-aa98-11ea-b4aa-73b441d16380
///     |------| |--| |--| |--| |----------|
///         8      4    4    4       12       hex digits, either case
///
/// No braces, no `urn:uuid:` prefix, no missing hyphens, no whitespace.
/// Version and variant nibbles are not checked: producers may use any UUID
/// version (JSON Schema's `uuid` format accepts them all too).
public enum UUIDText {
    /// Offsets of the four hyphens in the 36-byte canonical form.
    private static let hyphenOffsets: (Int, Int, Int, Int) = (8, 13, 18, 23)

    /// Parses the canonical 8-4-4-4-12 form, upper or lower case; nil for
    /// anything else.
    public static func parse(_ text: some StringProtocol) -> UUID? {
        if let parsed = text.utf8.withContiguousStorageIfAvailable({ parse(bytes: UnsafeRawBufferPointer($0)) }) {
            return parsed
        }
        var copy = String(text)
        return copy.withUTF8 { parse(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Parses the canonical form from UTF-8 bytes; nil for anything else.
    ///
    /// On the ingest path for every id, subject and uuid-formatted field
    /// (it was the largest single symbol of an ingest profile): no branch
    /// per digit, one check of all 32 digits at the end.
    public static func parse(bytes: UnsafeRawBufferPointer) -> UUID? {
        guard bytes.count == 36, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
              base[hyphenOffsets.0] == UInt8(ascii: "-"), base[hyphenOffsets.1] == UInt8(ascii: "-"),
              base[hyphenOffsets.2] == UInt8(ascii: "-"), base[hyphenOffsets.3] == UInt8(ascii: "-")
        else { return nil }
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var invalid: UInt8 = 0
        withUnsafeMutableBytes(of: &raw) { out in
            for o in 0..<16 {
                // Byte o's two digits start at 2o, plus one per hyphen before them.
                let i = 2 &* o &+ (o >= 4 ? 1 : 0) &+ (o >= 6 ? 1 : 0) &+ (o >= 8 ? 1 : 0) &+ (o >= 10 ? 1 : 0)
                let high = hexNibble(base[i]), low = hexNibble(base[i &+ 1])
                invalid |= high | low
                out[o] = high &<< 4 | low & 0x0F
            }
        }
        return invalid < 16 ? UUID(uuid: raw) : nil
    }

    /// A hex digit's value, or 0xFF for any other byte; the same answers
    /// as `hexDigitValue` (a test checks all 256), without its branches.
    @inline(__always) static func hexNibble(_ c: UInt8) -> UInt8 {
        let digit = c &- UInt8(ascii: "0")
        let letter = (c | 0x20) &- UInt8(ascii: "a")
        return digit < 10 ? digit : letter < 6 ? letter &+ 10 : 0xFF
    }

    /// The lower-case canonical form. Written by hand because Foundation's
    /// `uuidString` is upper case and slower on the ack/replay path.
    public static func string(_ uuid: UUID) -> String {
        String(unsafeUninitializedCapacity: 36) { out in
            write(uuid, into: UnsafeMutableRawBufferPointer(out))
            return 36
        }
    }

    /// Appends the lower-case canonical form's 36 bytes to `out`.
    public static func append(_ uuid: UUID, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: 36))
        out.withUnsafeMutableBytes { buffer in
            write(uuid, into: UnsafeMutableRawBufferPointer(rebasing: buffer[start..<start + 36]))
        }
    }

    private static func write(_ uuid: UUID, into out: UnsafeMutableRawBufferPointer) {
        withUnsafeBytes(of: uuid.uuid) { raw in
            var o = 0
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 {
                    out[o] = UInt8(ascii: "-")
                    o += 1
                }
                out[o] = lowerHexDigit(raw[i] >> 4)
                out[o + 1] = lowerHexDigit(raw[i] & 0xF)
                o += 2
            }
        }
    }

    @inline(__always) private static func lowerHexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }
}
