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
    public static func parse(bytes: UnsafeRawBufferPointer) -> UUID? {
        guard bytes.count == 36,
              bytes[hyphenOffsets.0] == UInt8(ascii: "-"), bytes[hyphenOffsets.1] == UInt8(ascii: "-"),
              bytes[hyphenOffsets.2] == UInt8(ascii: "-"), bytes[hyphenOffsets.3] == UInt8(ascii: "-")
        else { return nil }
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let ok = withUnsafeMutableBytes(of: &raw) { out -> Bool in
            var i = 0
            var o = 0
            while i < 36 {
                if i == 8 || i == 13 || i == 18 || i == 23 { i += 1; continue }
                let high = hexDigitValue(bytes[i])
                let low = hexDigitValue(bytes[i + 1])
                guard high | low < 16 else { return false }
                out[o] = high << 4 | low
                o += 1
                i += 2
            }
            return true
        }
        return ok ? UUID(uuid: raw) : nil
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
