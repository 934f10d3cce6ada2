import Foundation
import XCTest

@testable import Ingest

/// The producers file: what a correct one yields, and the exact error for
/// each way a person can get it wrong.
final class DoorProducersFileTests: XCTestCase {
    static let hashA = String(repeating: "a", count: 64)
    static let hashB = String(repeating: "b", count: 64)

    static let example = """
        {
          "producers": [
            {
              "name": "careerforge-api",
              "comment": "the CareerForge web API",
              "token_sha256": "\(hashA.uppercased())",
              "sources": ["careerforge-api"],
              "types": ["application.*", "interview.practiced"]
            },
            {
              "name": "mentor-service",
              "certificate": "URI:spiffe://careerforge/mentor",
              "sources": ["mentor-*"],
              "types": ["mentorship.*"]
            },
            {
              "name": "nightly-import",
              "unix_uid": 1001,
              "token_sha256": "\(hashB)",
              "sources": ["*"],
              "types": ["*"]
            }
          ]
        }
        """

    private func parse(_ text: String) throws(ProducersFileError) -> ProducerRegistry {
        try ProducerRegistry.parse(Array(text.utf8), path: "/etc/careerlog/producers.json")
    }

    /// The error's full text for `text`, or a failure if it loads.
    private func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try parse(text)
            XCTFail("loaded a file that should have been refused", file: file, line: line)
            return ""
        } catch {
            return error.description
        }
    }

    private func producersFile(_ entries: String...) -> String {
        #"{"producers":["# + entries.joined(separator: ",") + "]}"
    }

    func testExampleLoadsEveryProducerWithItsProofsAndPatterns() throws {
        let registry = try parse(Self.example)
        XCTAssertEqual(registry.producers.map(\.name), ["careerforge-api", "mentor-service", "nightly-import"])
        let api = try XCTUnwrap(registry.producer(named: "careerforge-api"))
        XCTAssertEqual(api.tokenSHA256, Self.hashA, "hex is kept in lower case")
        XCTAssertNil(api.certificate)
        XCTAssertNil(api.unixUID)
        XCTAssertEqual(api.sources.map(\.pattern), ["careerforge-api"])
        XCTAssertEqual(api.types.map(\.pattern), ["application.*", "interview.practiced"])
        XCTAssertEqual(registry.producer(tokenSHA256: Self.hashA)?.name, "careerforge-api")
        XCTAssertEqual(registry.producer(tokenSHA256: Self.hashB)?.name, "nightly-import")
        XCTAssertEqual(registry.producer(certificateName: CertificateName(.uri, "spiffe://careerforge/mentor"))?.name, "mentor-service")
        XCTAssertNil(registry.producer(certificateName: CertificateName(.commonName, "spiffe://careerforge/mentor")))
        XCTAssertEqual(registry.producer(unixUID: 1001)?.name, "nightly-import")
        XCTAssertNil(registry.producer(unixUID: 1002))
        XCTAssertNil(registry.producer(named: "nobody"))
    }

    func testEmptyListIsAValidFileWithNoProducers() throws {
        XCTAssertEqual(try parse(#"{"producers":[]}"#).producers.count, 0)
    }

    func testNotJSONNamesTheByte() {
        XCTAssertTrue(error(#"{"producers": [,]}"#).hasPrefix("producers file /etc/careerlog/producers.json: byte 15: not valid JSON: "))
    }

    func testCommentsAreNotJSONAndSaySo() {
        XCTAssertTrue(error("{\n// prod\n\"producers\": []}").contains(": byte 2: not valid JSON"))
    }

    func testUnknownTopLevelKey() {
        XCTAssertEqual(error(#"{"producers":[],"producer":[]}"#),
                       #"producers file /etc/careerlog/producers.json: producer: unknown key; the file has only "producers""#)
    }

    func testMissingProducersList() {
        XCTAssertEqual(error("{}"), "producers file /etc/careerlog/producers.json: producers: is missing; list the producers there")
    }

    func testUnknownProducerKeyIsATypoNotIgnored() {
        let text = producersFile(#"{"name":"a","token_sha256":"\#(Self.hashA)","sources":["*"],"type":["*"]}"#)
        XCTAssertEqual(error(text), "producers file /etc/careerlog/producers.json: producers[0].type: unknown key; "
                       + "a producer has name, comment, token_sha256, certificate, unix_uid, sources and types")
    }

    func testProducerWithoutProof() {
        let text = producersFile(#"{"name":"lonely","sources":["*"],"types":["*"]}"#)
        XCTAssertEqual(error(text), "producers file /etc/careerlog/producers.json: producers[0]: producer lonely has no way to prove "
                       + "who it is; give token_sha256, certificate or unix_uid")
    }

    func testBadNames() {
        for name in ["", "CareerForge", "-api", "a b", String(repeating: "x", count: 65)] {
            let text = producersFile(#"{"name":"\#(name)","unix_uid":1,"sources":["*"],"types":["*"]}"#)
            XCTAssertEqual(error(text), "producers file /etc/careerlog/producers.json: producers[0].name: must be 1 to 64 of "
                           + "a-z, 0-9, '.', '_' and '-', starting with a letter or digit", name)
        }
        XCTAssertNoThrow(try parse(producersFile(#"{"name":"\#(String(repeating: "x", count: 64))","unix_uid":1,"sources":["*"],"types":["*"]}"#)))
    }

    func testTokenHashMustBe64HexDigits() {
        for hash in ["abc", String(repeating: "g", count: 64), String(repeating: "a", count: 65)] {
            let text = producersFile(#"{"name":"a","token_sha256":"\#(hash)","sources":["*"],"types":["*"]}"#)
            XCTAssertEqual(error(text), "producers file /etc/careerlog/producers.json: producers[0].token_sha256: must be the SHA-256 "
                           + "of the token as 64 hex digits (`careerlog producers token` prints one)")
        }
    }

    func testCertificateNameForms() throws {
        for (text, expected) in [("CN=x", CertificateName(.commonName, "x")), ("DNS:a.b", CertificateName(.dns, "a.b")),
                                 ("email:o@p.q", CertificateName(.email, "o@p.q")), ("URI:u:v", CertificateName(.uri, "u:v"))] {
            let registry = try parse(producersFile(#"{"name":"a","certificate":"\#(text)","sources":["*"],"types":["*"]}"#))
            XCTAssertEqual(registry.producers[0].certificate, expected)
            XCTAssertEqual(expected.description, text)
        }
        let bad = producersFile(#"{"name":"a","certificate":"careerforge-api","sources":["*"],"types":["*"]}"#)
        XCTAssertEqual(error(bad), "producers file /etc/careerlog/producers.json: producers[0].certificate: must be CN=<common name>, "
                       + "DNS:<name>, URI:<uri> or email:<address> of the client certificate")
    }

    func testUIDRange() {
        for uid in ["-1", "4294967295", "1.5", "\"1001\""] {
            let text = producersFile(#"{"name":"a","unix_uid":\#(uid),"sources":["*"],"types":["*"]}"#)
            XCTAssertEqual(error(text), "producers file /etc/careerlog/producers.json: producers[0].unix_uid: must be a uid, "
                           + "an integer from 0 to 4294967294", uid)
        }
    }

    func testPatternsMustBeNonEmptyLists() {
        XCTAssertEqual(error(producersFile(#"{"name":"a","unix_uid":1,"types":["*"]}"#)),
                       #"producers file /etc/careerlog/producers.json: producers[0].sources: is missing; list the source values this producer may write ("*" for any)"#)
        XCTAssertEqual(error(producersFile(#"{"name":"a","unix_uid":1,"sources":["*"],"types":[]}"#)),
                       "producers file /etc/careerlog/producers.json: producers[0].types: must be a list of 1 to 256 event types or patterns")
        XCTAssertEqual(error(producersFile(#"{"name":"a","unix_uid":1,"sources":["*",""],"types":["*"]}"#)),
                       "producers file /etc/careerlog/producers.json: producers[0].sources[1]: must be a non-empty string of at most 800 bytes")
    }

    func testTypePatternsHoldOnlyTypeCharacters() {
        XCTAssertEqual(error(producersFile(#"{"name":"a","unix_uid":1,"sources":["*"],"types":["Application.*"]}"#)),
                       "producers file /etc/careerlog/producers.json: producers[0].types[0]: an event type pattern holds only "
                       + "a-z, 0-9, '_', '.', '*' and '?' (such as application.*)")
    }

    func testSourcePatternsMayHoldAnyCharacters() throws {
        let registry = try parse(producersFile(#"{"name":"a","unix_uid":1,"sources":["Career Forge (prod)"],"types":["*"]}"#))
        XCTAssertTrue(registry.producers[0].mayWrite(source: "Career Forge (prod)"))
    }

    func testEachNameAndProofNamesOneProducer() {
        let entry = { (name: String, proof: String) in #"{"name":"\#(name)",\#(proof),"sources":["*"],"types":["*"]}"# }
        XCTAssertEqual(error(producersFile(entry("a", #""unix_uid":1"#), entry("a", #""unix_uid":2"#))),
                       "producers file /etc/careerlog/producers.json: producers[1]: the name a is also that of producers[0] (a); each must name one producer")
        XCTAssertEqual(error(producersFile(entry("a", #""token_sha256":"\#(Self.hashA)""#), entry("b", #""token_sha256":"\#(Self.hashA.uppercased())""#))),
                       "producers file /etc/careerlog/producers.json: producers[1]: token_sha256 is also that of producers[0] (a); each must name one producer")
        XCTAssertEqual(error(producersFile(entry("a", #""certificate":"CN=x""#), entry("b", #""certificate":"CN=x""#))),
                       "producers file /etc/careerlog/producers.json: producers[1]: the certificate name CN=x is also that of producers[0] (a); each must name one producer")
        XCTAssertEqual(error(producersFile(entry("a", #""unix_uid":7"#), entry("b", #""unix_uid":7"#))),
                       "producers file /etc/careerlog/producers.json: producers[1]: unix_uid 7 is also that of producers[0] (a); each must name one producer")
    }

    func testRepeatedKeyIsRefusedByTheStrictParser() {
        XCTAssertTrue(error(producersFile(#"{"name":"a","name":"b","unix_uid":1,"sources":["*"],"types":["*"]}"#)).contains("not valid JSON"))
    }

    func testLoadFromDiskAndTheFileErrors() throws {
        let directory = ServerTestSupport.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/producers.json"
        try Self.example.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ProducerRegistry.load(path: path).producers.count, 3)

        XCTAssertThrowsError(try ProducerRegistry.load(path: directory + "/missing.json")) { error in
            XCTAssertEqual("\(error)", "producers file \(directory)/missing.json: does not exist (give the path of the producers file; "
                           + #"README.md, "Running it on a network", shows one)"#)
        }
        let big = directory + "/big.json"
        try Data(repeating: 0x20, count: ProducerRegistry.fileBytesMax + 1).write(to: URL(fileURLWithPath: big))
        XCTAssertThrowsError(try ProducerRegistry.load(path: big)) { error in
            XCTAssertEqual("\(error)", "producers file \(big): is larger than 1048576 bytes; list fewer producers")
        }
    }

    func testTooManyProducers() {
        let entries = (0...ProducerRegistry.producersMax).map { #"{"name":"p\#($0)","unix_uid":\#($0),"sources":["*"],"types":["*"]}"# }
        XCTAssertEqual(error(#"{"producers":["# + entries.joined(separator: ",") + "]}"),
                       "producers file /etc/careerlog/producers.json: producers: lists 1001 producers; at most 1000 are allowed")
    }

    func testErrorsNeverQuoteTheHash() {
        let text = producersFile(#"{"name":"a","token_sha256":"\#(Self.hashA)x","sources":["*"],"types":["*"]}"#)
        XCTAssertFalse(error(text).contains(Self.hashA))
    }
}
