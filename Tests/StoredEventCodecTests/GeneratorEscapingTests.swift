import StoredEventCodec
import XCTest

@testable import EventGenerator

/// `careerlog generate` writes strings through EventGenerator's own fast
/// escaper (it cannot import the codec); it may keep it only while it gives
/// the shared writer's bytes for every Unicode scalar.
final class GeneratorEscapingTests: XCTestCase {
    func testGeneratorEscaperEqualsTheSharedWriterForEveryScalar() {
        var mismatches = 0
        var text = ""
        for value in UInt32(0)...0x10FFFF {
            if let scalar = Unicode.Scalar(value) { text.unicodeScalars.append(scalar) }  // surrogates are no scalars
            // ASCII one scalar at a time (every escape on its own); the rest in runs.
            guard value < 0x80 || text.unicodeScalars.count == 1_024 || value == 0x10FFFF else { continue }
            if generatorEscaped(text) != Array(JSONString.quoted(text).utf8) {
                mismatches += 1
                if mismatches <= 5 { XCTFail("differs at U+\(String(value, radix: 16))") }
            }
            text = ""
        }
        XCTAssertEqual(mismatches, 0)
    }

    private func generatorEscaped(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { utf8 in
            [UInt8](unsafeUninitializedCapacity: utf8.count * 6 + 2) { buffer, count in
                count = JSONText.writeEscaped(utf8, to: buffer.baseAddress!)
            }
        }
    }
}
