import CareerEvents
import EventLog
import Foundation
import Ingest
import TestSupport
import XCTest

/// The audit trail end to end: `careerlog serve --producers` over TLS,
/// `careerlog emit` with each producer's token, then `careerlog replay
/// --producer` and `careerlog log dump` as a person runs them.
final class DoorAuditTrailServeTests: XCTestCase {
    private let pki = TestCertificates.shared

    private func writeFile(_ text: String, _ path: String) throws -> String {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The `producer` member of each NDJSON line of `output` (nil: absent).
    private func producers(_ output: String) -> [String?] {
        output.split(separator: "\n").map { line in
            guard case .object(let object) = try! JSONParser.parse(Array(line.utf8)) else { return "not an object" }
            if case .string(let producer)? = object["producer"] { return producer }
            return nil
        }
    }

    private func ids(_ output: String) -> [String] {
        output.split(separator: "\n").map { ServerTestSupportIDs.id(of: String($0)) }
    }

    func testReplayProducerPrintsExactlyThatProducersEvents() throws {
        let directory = makeTemporaryDirectory()
        let producersFile = try writeFile(DoorServeTests.producersFile(), directory + "/producers.json")
        let apiToken = try writeFile(DoorServeTests.apiToken + "\n", directory + "/api.token")
        let mentorToken = try writeFile(DoorServeTests.mentorToken + "\n", directory + "/mentor.token")
        let apiLines = DoorServeTests.lines(types: ["user.", "profile."], count: 4)
        let mentorLines = DoorServeTests.lines(types: ["mentorship."], count: 3)
        let apiFile = try writeFile(apiLines.joined(separator: "\n") + "\n", directory + "/api.ndjson")
        let mentorFile = try writeFile(mentorLines.joined(separator: "\n") + "\n", directory + "/mentor.ndjson")

        let server = try ServeProcess(dataDirectory: directory, arguments: [
            "--tls-cert", pki.serverPEM, "--tls-key", pki.serverKey, "--producers", producersFile,
        ])
        defer { server.stop() }
        func emit(_ token: String, _ file: String) throws -> CommandResult {
            try runCareerlog(["emit", "--connect", server.tcpAddress, "--tls-ca", pki.caPEM, "--token-file", token, file])
        }
        XCTAssertEqual(try emit(apiToken, apiFile).stdout, #"{"sent":4,"stored":4,"duplicates":0,"rejected":0}"# + "\n")
        XCTAssertEqual(try emit(mentorToken, mentorFile).stdout, #"{"sent":3,"stored":3,"duplicates":0,"rejected":0}"# + "\n")

        // While the server runs (replay reads read-only beside it).
        let api = try runCareerlog(["replay", "--data-dir", directory, "--producer", "careerforge-api"])
        XCTAssertEqual(api.status, 0, api.stderr)
        XCTAssertEqual(ids(api.stdout), apiLines.map(ServerTestSupportIDs.id(of:)))
        XCTAssertEqual(producers(api.stdout), Array(repeating: "careerforge-api", count: 4))
        XCTAssertTrue(api.stdout.hasPrefix(#"{"seq":1,"recorded":""#), api.stdout)
        XCTAssertTrue(api.stdout.split(separator: "\n").allSatisfy { $0.contains(#"Z","producer":"careerforge-api","id":""#) }, api.stdout)

        let mentor = try runCareerlog(["replay", "--data-dir", directory, "--producer", "mentor-service"])
        XCTAssertEqual(ids(mentor.stdout), mentorLines.map(ServerTestSupportIDs.id(of:)))
        XCTAssertEqual(producers(mentor.stdout), Array(repeating: "mentor-service", count: 3))

        let nobody = try runCareerlog(["replay", "--data-dir", directory, "--producer", "cert-client"])
        XCTAssertEqual(nobody.status, 0, nobody.stderr)
        XCTAssertEqual(nobody.stdout, "")

        XCTAssertEqual(server.stop(), 0)
        let dump = try runCareerlog(["log", "dump", "--data-dir", directory])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        XCTAssertEqual(producers(dump.stdout), Array(repeating: "careerforge-api", count: 4) + Array(repeating: "mentor-service", count: 3))
        // The operator's dump shows PII where a key exists; an analyst's
        // replay shows it only when asked (--include-pii).
        let all = try runCareerlog(["replay", "--data-dir", directory, "--include-pii"])
        XCTAssertEqual(all.stdout, dump.stdout, "replay --include-pii and log dump print the same lines")
        let redacted = try runCareerlog(["log", "dump", "--data-dir", directory, "--redact-pii"])
        XCTAssertEqual(try runCareerlog(["replay", "--data-dir", directory]).stdout, redacted.stdout, "replay and log dump --redact-pii print the same lines")

        let bad = try runCareerlog(["replay", "--data-dir", directory, "--producer", "CareerForge API"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--producer 'CareerForge API' is not a producer name: names are 1 to 64 of a-z, 0-9, '.', '_' and '-', "
            + "starting with a letter or digit, as in the producers file"), bad.stderr)
        XCTAssertEqual(bad.stdout, "")
    }

    func testEventsEmittedWithoutAProducersFileHaveNoProducer() throws {
        let directory = makeTemporaryDirectory()
        let lines = DoorServeTests.lines(types: ["user."], count: 3)
        let file = try writeFile(lines.joined(separator: "\n") + "\n", directory + "/events.ndjson")
        let server = try ServeProcess(dataDirectory: directory)
        defer { server.stop() }
        XCTAssertEqual(try runCareerlog(["emit", "--connect", server.tcpAddress, file]).status, 0)
        XCTAssertEqual(server.stop(), 0)
        let all = try runCareerlog(["replay", "--data-dir", directory])
        XCTAssertEqual(producers(all.stdout), [nil, nil, nil])
        XCTAssertFalse(all.stdout.contains("producer"), all.stdout)
        let filtered = try runCareerlog(["replay", "--data-dir", directory, "--producer", "careerforge-api"])
        XCTAssertEqual(filtered.status, 0, filtered.stderr)
        XCTAssertEqual(filtered.stdout, "")
    }
}

/// The `id` of an event line.
enum ServerTestSupportIDs {
    static func id(of line: String) -> String {
        guard case .object(let object) = try! JSONParser.parse(Array(line.utf8)), case .string(let id)? = object["id"] else {
            fatalError("not an event line: \(line)")
        }
        return id
    }
}
