import Foundation
import XCTest

@testable import Ingest

/// `EmitSession`, the client loop of `careerlog emit`, against a real
/// server over a real socket: counts, line numbers in reports, the
/// in-flight window, and the auth line.
final class EmitSessionTests: XCTestCase {
    /// A file holding `text`, opened for reading; and a file for reports.
    final class Files {
        let directory = ServerTestSupport.makeDirectory()
        var input: Int32 = -1
        var reports: Int32 = -1
        init(input text: String) {
            FileManager.default.createFile(atPath: directory + "/in.ndjson", contents: Data(text.utf8))
            input = open(directory + "/in.ndjson", O_RDONLY)
            reports = open(directory + "/reports.txt", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        var reported: [String] {
            (try? String(contentsOfFile: directory + "/reports.txt", encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        }
        deinit {
            close(input)
            close(reports)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    func testCountsEveryKindOfAnswerAndReportsTheFilesLineNumbers() throws {
        let server = try TestServer()
        defer { server.stop() }
        let valid = ServerTestSupport.validLines(2)
        let wrong = ServerTestSupport.modified(valid[1]) { $0["type"] = .string("no.such-type") }
        let long = String(repeating: "x", count: 3000)
        // Lines: 1 stored, 2 blank, 3 rejected by the server, 4 too large here, 5 stored, 6 duplicate of 1.
        let files = Files(input: [valid[0], "  ", wrong, long, valid[1], valid[0]].joined(separator: "\n") + "\n")
        let session = EmitSession(connection: try IngestSocket(endpoint: server.tcp), window: 2, lineBytesMax: 2000, lineOffset: 0,
                                  output: EmitOutput(fd: files.reports, showsProgress: false))
        let (summary, sendError) = session.run(input: files.input, inputName: "in.ndjson")
        XCTAssertNil(sendError)
        XCTAssertEqual(summary, EmitSession.Summary(sent: 5, stored: 2, duplicates: 1, rejected: 2))
        XCTAssertEqual(summary.unanswered, 0)
        XCTAssertEqual(summary.json, #"{"sent":5,"stored":2,"duplicates":1,"rejected":2}"#)
        XCTAssertEqual(files.reported.sorted(), [
            "line 3: unknown_type: unknown event type no.such-type",
            "line 4: too_large: line is 3000 bytes; the limit is 2000",
        ])
        XCTAssertEqual(try server.storedIDs(), [ServerTestSupport.id(of: valid[0]), ServerTestSupport.id(of: valid[1])])
    }

    func testAWindowOfOneStillSendsEverything() throws {
        let server = try TestServer()
        defer { server.stop() }
        let lines = ServerTestSupport.validLines(300)
        let files = Files(input: lines.joined(separator: "\n"))  // no newline after the last line
        let session = EmitSession(connection: try IngestSocket(endpoint: server.unix), window: 1, lineBytesMax: 1 << 20, lineOffset: 0,
                                  output: EmitOutput(fd: files.reports, showsProgress: false))
        let (summary, sendError) = session.run(input: files.input, inputName: "in.ndjson")
        XCTAssertNil(sendError)
        XCTAssertEqual(summary, EmitSession.Summary(sent: 300, stored: 300))
        XCTAssertEqual(files.reported, [])
        XCTAssertEqual(try server.storedIDs(), lines.map(ServerTestSupport.id(of:)))
    }

    func testTheAuthLineIsAnsweredBeforeAnyEventAndAWrongTokenIsOneError() throws {
        let authorizer = ProducerAuthorizer(registry: try DoorAuthorizerTests.registry())
        let server = try TestServer { $0.door = IngestDoor(tls: nil, producers: authorizer, limits: DoorLimits()) }
        defer { server.stop() }

        let refused = try IngestSocket(endpoint: server.unix)
        XCTAssertThrowsError(try EmitSession.authenticate(refused, token: DoorAuthorizerTests.apiToken + "x")) { error in
            XCTAssertEqual("\(error)", "the server refused the token: the token is not valid; check it against the one made for this producer")
        }

        // Accepted: the file's line numbers are reported, not the server's (the auth line is its line 1).
        let connection = try IngestSocket(endpoint: server.unix)
        try EmitSession.authenticate(connection, token: DoorAuthorizerTests.importToken)
        let valid = ServerTestSupport.validLines(1)
        let wrong = ServerTestSupport.modified(valid[0]) { $0["type"] = .string("no.such-type") }
        let files = Files(input: valid[0] + "\n" + wrong + "\n")
        let session = EmitSession(connection: connection, window: 8, lineBytesMax: 1 << 20, lineOffset: 1,
                                  output: EmitOutput(fd: files.reports, showsProgress: false))
        let (summary, _) = session.run(input: files.input, inputName: "in.ndjson")
        XCTAssertEqual(summary, EmitSession.Summary(sent: 2, stored: 1, rejected: 1))
        XCTAssertEqual(files.reported, ["line 2: unknown_type: unknown event type no.such-type"])
    }

    func testAServerThatIsNotThereIsOneErrorNamingTheAddress() {
        let path = ServerTestSupport.makeDirectory() + "/nobody.sock"
        XCTAssertThrowsError(try EmitSession.connect(.unix(path: path), tls: nil)) { error in
            XCTAssertEqual("\(error)", "cannot reach careerlog serve at \(path): cannot connect to \(path): No such file or directory (is it running? see --connect, --socket, --data-dir)")
        }
    }
}
