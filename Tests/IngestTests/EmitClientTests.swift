import Foundation
import TestSupport
import XCTest

@testable import Ingest

/// `EmitClient` and the summary of `EmitSession.Result`: what `careerlog
/// emit` reads from a token file and prints, without the binary.
final class EmitClientTests: XCTestCase {
    func testTokenFileGivesItsFirstLineWithoutSurroundingBlanks() throws {
        let path = makeTemporaryDirectory() + "/token"
        try " \tclp_abc \r\nclp_second\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try EmitClient.token(fromFile: path), "clp_abc")
    }

    func testMissingTokenFileNamesTheFile() {
        let path = makeTemporaryDirectory() + "/absent"
        XCTAssertThrowsError(try EmitClient.token(fromFile: path)) { error in
            XCTAssertEqual((error as? EmitClient.TokenFileError)?.message,
                           "cannot read the token file \(path): check that it exists and that you may read it")
        }
    }

    func testBlankFirstLineIsAnEmptyTokenFile() throws {
        let path = makeTemporaryDirectory() + "/blank"
        try "   \n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try EmitClient.token(fromFile: path)) { error in
            XCTAssertEqual((error as? EmitClient.TokenFileError)?.message,
                           "the token file \(path) is empty; put the producer's token on its first line")
        }
    }

    func testSummaryLineAndUnansweredMessages() {
        var result = EmitSession.Result()
        (result.sent, result.stored, result.duplicates, result.rejected) = (10, 6, 1, 2)
        XCTAssertEqual(result.summaryJSON, #"{"sent":10,"stored":6,"duplicates":1,"rejected":2}"#)
        XCTAssertEqual(result.unansweredMessage(tlsFailure: nil),
                       ["1 of 10 lines got no answer (the connection closed early); they may or may not be stored, send them again"])
        XCTAssertEqual(result.unansweredMessage(tlsFailure: "handshake failed").last, "the TLS connection ended with: handshake failed")
        result.stored = 7
        XCTAssertEqual(result.unansweredMessage(tlsFailure: "ignored"), [])
    }
}
