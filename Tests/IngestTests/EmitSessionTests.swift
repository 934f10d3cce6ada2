import Foundation
import NIOConcurrencyHelpers
import XCTest

@testable import Ingest

#if canImport(Glibc)
import Glibc
#endif

/// `EmitSession` (the client loop of `careerlog emit`) against a real server.
final class EmitSessionTests: XCTestCase {
    /// Stored, duplicate, rejected by the server, rejected here as too large,
    /// blank lines skipped but numbered; a window of one line forces a wait
    /// for every answer.
    func testCountsEveryKindOfAnswerAndReportsRejectedLinesByNumber() throws {
        let server = try TestServer()
        defer { server.stop() }
        let valid = ServerTestSupport.validLines(3)
        let overlong = #"{"pad":""# + String(repeating: "x", count: 1500) + #""}"#
        let input = [valid[0], "", valid[1], valid[0], "{}", overlong, "  ", valid[2]].joined(separator: "\n") + "\n"
        let reports = NIOLockedValueBox<[String]>([])

        let result = try run(input: input, on: server, windowLinesMax: 1, lineBytesMax: 1024) { text in
            reports.withLockedValue { $0.append(text) }
        }

        var expected = EmitSession.Result()
        (expected.sent, expected.stored, expected.duplicates, expected.rejected) = (6, 3, 1, 2)
        XCTAssertEqual(result, expected)
        XCTAssertEqual(result.unanswered, 0)
        XCTAssertEqual(try server.storedIDs(), valid.map(ServerTestSupport.id(of:)))
        let lines = reports.withLockedValue { $0 }.sorted()
        XCTAssertEqual(lines.count, 2, "\(lines)")
        XCTAssertTrue(lines[0].hasPrefix("line 5: "), lines[0])
        XCTAssertEqual(lines[1], "line 6: too_large: line is \(overlong.utf8.count) bytes; the limit is 1024")
    }

    /// The auth line's answer from a server that takes no tokens is a refusal
    /// with the server's message, not a hang and not a success.
    func testAuthenticateAgainstAServerWithoutTokensIsRefused() throws {
        let server = try TestServer()
        defer { server.stop() }
        let socket = try IngestSocket(endpoint: server.tcp)
        defer { socket.close() }
        XCTAssertThrowsError(try EmitSession.authenticate(socket, token: "clp_nothing")) { error in
            guard case .refused(let reason)? = error as? EmitSession.AuthenticationError else {
                return XCTFail("expected a refusal, got \(error)")
            }
            XCTAssertNotEqual(reason, "the connection closed")
        }
    }

    private func run(
        input: String, on server: TestServer, windowLinesMax: Int, lineBytesMax: Int,
        report: @escaping @Sendable (String) -> Void
    ) throws -> EmitSession.Result {
        let path = server.directory + "/input.ndjson"
        try input.write(toFile: path, atomically: true, encoding: .utf8)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let socket = try IngestSocket(endpoint: server.tcp)
        defer { socket.close() }
        var configuration = EmitSession.Configuration()
        configuration.windowLinesMax = windowLinesMax
        configuration.lineBytesMax = lineBytesMax
        configuration.inputName = path
        return EmitSession.run(connection: socket, inputDescriptor: fd, configuration: configuration, report: report)
    }
}
