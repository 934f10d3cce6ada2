import Foundation
import XCTest

@testable import Replay

/// `privacy status`'s text form, without the binary: one fact a line.
final class SubjectPrivacyTextTests: XCTestCase {
    private let subject = UUID(uuidString: "9a2e5c1e-0b7a-4a51-9a8f-1c2d3e4f5a6b")!

    func testNoKeyAndNoErasure() {
        var status = SubjectPrivacyStatus(subject: subject, key: .none)
        status.events = 3
        XCTAssertEqual(status.text, """
            subject: 9a2e5c1e-0b7a-4a51-9a8f-1c2d3e4f5a6b
            key: none (no PII-bearing event was ever sealed for this subject)
            events: 3, with sealed PII: 0, with PII in clear (written before sealing): 0
            """)
    }

    func testDestroyedKeyListsTheErasures() {
        var status = SubjectPrivacyStatus(subject: subject, key: .destroyed(erasureSeq: 42, erasedAt: 1_700_000_000_000_001))
        (status.events, status.sealedEvents, status.clearPIIEvents, status.erasureSeqs) = (12, 5, 1, [42, 50])
        XCTAssertEqual(status.text, """
            subject: 9a2e5c1e-0b7a-4a51-9a8f-1c2d3e4f5a6b
            key: destroyed by the erasure at seq 42, 2023-11-14T22:13:20.000001Z
            events: 12, with sealed PII: 5, with PII in clear (written before sealing): 1
            user.erased at seq: 42, 50
            """)
    }

    func testActiveKeyShowsWhenItWasMade() {
        let status = SubjectPrivacyStatus(subject: subject, key: .active(createdAt: 0))
        XCTAssertEqual(status.text.split(separator: "\n")[1], "key: active, created 1970-01-01T00:00:00.000000Z")
    }
}
