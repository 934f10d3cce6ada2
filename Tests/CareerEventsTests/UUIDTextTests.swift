import Foundation
import TestSupport
import XCTest

@testable import CareerEvents

/// The branch-free parser (the ingest hot path) against the plain definitions.
extension UUIDTextTests {
    func testTheBranchFreeNibbleAgreesWithTheJSONParsersHexDigitsForEveryByte() {
        for byte in 0...255 {
            let c = UInt8(byte)
            XCTAssertEqual(UUIDText.hexNibble(c), hexDigitValue(c), "byte \(byte)")
        }
    }

    func testParsingRoundTripsAndEveryWrongByteAtEveryPlaceIsRefused() {
        var random = SplitMix(seed: 7)
        for _ in 0..<200 {
            let uuid = UUID(uuid: withUnsafeBytes(of: (random.next(), random.next())) { $0.load(as: uuid_t.self) })
            let text = UUIDText.string(uuid)
            XCTAssertEqual(UUIDText.parse(text), uuid)
            XCTAssertEqual(UUIDText.parse(text.uppercased()), uuid)
            XCTAssertEqual(UUIDText.parse(text), UUID(uuidString: text))
        }
        let good = Array("2eb8aa08-aa98-11ea-b4aa-73b441d16380".utf8)
        for position in good.indices {
            for wrong in ["g", "G", "-", " ", "/", ":", "@", "`", "\u{7F}"].map({ UInt8(ascii: $0) }) + [0, 0x80, 0xC3, 0xFF] {
                var bytes = good
                bytes[position] = wrong
                guard bytes != good else { continue }
                XCTAssertNil(bytes.withUnsafeBytes { UUIDText.parse(bytes: $0) }, "byte \(wrong) at \(position)")
            }
        }
        XCTAssertNil(UUIDText.parse("2eb8aa08aa98-11ea-b4aa-73b441d16380-"))
        XCTAssertNil(UUIDText.parse("{2eb8aa08-aa98-11ea-b4aa-73b441d16380}"))
        XCTAssertNil(UUIDText.parse("2eb8aa08-aa98-11ea-b4aa-73b441d1638"))
    }
}
