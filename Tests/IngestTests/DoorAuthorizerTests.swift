import Foundation
import NIOSSL
import TestSupport
import XCTest

@testable import Ingest

/// Patterns, tokens, authentication and the permission messages.
final class DoorAuthorizerTests: XCTestCase {
    static let apiToken = "clp_api-token-for-tests-0000000000000000000"
    static let importToken = "clp_import-token-for-tests-000000000000000"

    static func registry() throws -> ProducerRegistry {
        try ProducerRegistry(producers: [
            Producer(name: "careerforge-api", tokenSHA256: ProducerToken.sha256Hex(apiToken),
                     certificate: CertificateName(.uri, "spiffe://careerforge/api"),
                     sources: [ProducerPattern("careerforge-api")], types: [ProducerPattern("application.*"), ProducerPattern("interview.practiced")]),
            Producer(name: "mentor-service", certificate: CertificateName(.commonName, "mentor-service"),
                     sources: [ProducerPattern("mentor-*")], types: [ProducerPattern("mentorship.*")]),
            Producer(name: "nightly-import", tokenSHA256: ProducerToken.sha256Hex(importToken), unixUID: 1001,
                     sources: [ProducerPattern("*")], types: [ProducerPattern("*")]),
        ])
    }

    // MARK: - Patterns

    func testPatternSemanticsMatchReplayTypeGlob() {
        let cases: [(String, String, Bool)] = [
            ("application.*", "application.sent", true), ("application.*", "application.", true),
            ("application.*", "application", false), ("application.*", "applications.sent", false),
            ("*", "anything.at.all", true), ("*.sent", "application.sent", true), ("*.sent", "application.sent2", false),
            ("a?c", "abc", true), ("a?c", "ac", false), ("a*b*c", "aXXbYYc", true), ("a*b*c", "aXXbYY", false),
            ("skill.assessed", "skill.assessed", true), ("skill.assessed", "skill.assessedx", false),
            ("*a*a*a*a*a*b", String(repeating: "a", count: 200), false),
        ]
        for (pattern, name, expected) in cases {
            XCTAssertEqual(ProducerPattern(pattern).matches(name), expected, "\(pattern) ~ \(name)")
        }
    }

    // MARK: - Tokens

    func testTokenHashIsSHA256Hex() {
        // FIPS 180-2 test vector.
        XCTAssertEqual(ProducerToken.sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(ProducerToken.sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testBase64URLMatchesRFC4648Vectors() {
        let vectors = [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")]
        for (input, expected) in vectors {
            XCTAssertEqual(ProducerToken.base64URL(Array(input.utf8)), expected, input)
        }
        XCTAssertEqual(ProducerToken.base64URL([0xFB, 0xFF]), "-_8", "the URL alphabet, not + and /")
    }

    func testGeneratedTokensAreLongRandomAndDistinct() {
        let tokens = (0..<100).map { _ in ProducerToken.generate() }
        XCTAssertEqual(Set(tokens).count, 100)
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for token in tokens {
            XCTAssertTrue(token.hasPrefix("clp_"))
            XCTAssertEqual(token.count, 47)
            XCTAssertTrue(token.dropFirst(4).allSatisfy(alphabet.contains), token)
        }
    }

    // MARK: - Authentication

    func testTokenAuthentication() throws {
        let authorizer = ProducerAuthorizer(registry: try Self.registry())
        XCTAssertEqual(authorizer.authenticate(token: Self.apiToken), .producer(try Self.registry().producers[0]))
        XCTAssertEqual(authorizer.authenticate(token: Self.importToken), .producer(try Self.registry().producers[2]))
        XCTAssertEqual(authorizer.authenticate(token: Self.apiToken + "x"), .refused(reason: "the token is not that of any producer"))
        XCTAssertEqual(authorizer.authenticate(token: ProducerToken.sha256Hex(Self.apiToken)),
                       .refused(reason: "the token is not that of any producer"), "the hash itself is not a token")
    }

    func testCertificateNameAuthentication() throws {
        let authorizer = ProducerAuthorizer(registry: try Self.registry())
        let api = try Self.registry().producers[0], mentor = try Self.registry().producers[1]
        XCTAssertEqual(authorizer.authenticate(certificateNames: [CertificateName(.commonName, "whatever"), CertificateName(.uri, "spiffe://careerforge/api")]),
                       .producer(api))
        XCTAssertEqual(authorizer.authenticate(certificateNames: [CertificateName(.commonName, "mentor-service")]), .producer(mentor))
        XCTAssertEqual(authorizer.authenticate(certificateNames: [CertificateName(.dns, "mentor-service")]),
                       .refused(reason: "no producer has the certificate name DNS:mentor-service"))
        XCTAssertEqual(authorizer.authenticate(certificateNames: []),
                       .refused(reason: "no producer has the certificate name (the certificate has none)"))
        XCTAssertEqual(authorizer.authenticate(certificateNames: [CertificateName(.commonName, "mentor-service"), CertificateName(.uri, "spiffe://careerforge/api")]),
                       .refused(reason: "the certificate names several producers (mentor-service, careerforge-api); give it names of one only"))
    }

    func testNamesOfARealCertificate() throws {
        let pki = TestCertificates.shared
        let certificate = try XCTUnwrap(NIOSSLCertificate.fromPEMFile(pki.clientPEM).first)
        XCTAssertEqual(CertificateName.names(of: certificate),
                       [CertificateName(.commonName, "careerforge-api"), CertificateName(.uri, "spiffe://careerforge/api")])
        let authorizer = ProducerAuthorizer(registry: try Self.registry())
        XCTAssertEqual(authorizer.authenticate(certificate: certificate), .producer(try Self.registry().producers[0]))
    }

    func testPeerUIDAuthentication() throws {
        let authorizer = ProducerAuthorizer(registry: try Self.registry())
        XCTAssertEqual(authorizer.authenticate(peerUID: 1001), .producer(try Self.registry().producers[2]))
        XCTAssertEqual(authorizer.authenticate(peerUID: 0), .refused(reason: "no producer has unix_uid 0"))
    }

    // MARK: - Authorization

    func testForbiddenMessagesNameProducerAndWhat() throws {
        let authorizer = ProducerAuthorizer(registry: try Self.registry())
        XCTAssertEqual(authorizer.authorize(producer: "careerforge-api", source: "careerforge-api", type: "application.sent"), .allowed)
        XCTAssertEqual(authorizer.authorize(producer: "careerforge-api", source: "careerforge-api", type: "interview.practiced"), .allowed)
        XCTAssertEqual(authorizer.authorize(producer: "careerforge-api", source: "careerforge-api", type: "placement.recorded"),
                       .forbidden(message: "producer careerforge-api may not write type placement.recorded"))
        XCTAssertEqual(authorizer.authorize(producer: "careerforge-api", source: "mentor-service", type: "application.sent"),
                       .forbidden(message: "producer careerforge-api may not write source mentor-service"))
        XCTAssertEqual(authorizer.authorize(producer: "mentor-service", source: "mentor-eu", type: "mentorship.session_held"), .allowed)
        XCTAssertEqual(authorizer.authorize(producer: "nightly-import", source: "anything", type: "placement.recorded"), .allowed)
        XCTAssertEqual(authorizer.authorize(producer: "ghost", source: "a", type: "b"),
                       .forbidden(message: "producer ghost is no longer in the producers file; it may not write"))
    }

    // MARK: - Reload

    func testReloadSwapsTheRegistryAndABadFileKeepsTheOldOne() throws {
        let directory = ServerTestSupport.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/producers.json"
        let entry = { (types: String) in
            #"{"producers":[{"name":"careerforge-api","token_sha256":"\#(ProducerToken.sha256Hex(Self.apiToken))","sources":["*"],"types":[\#(types)]}]}"#
        }
        try entry(#""application.*""#).write(toFile: path, atomically: true, encoding: .utf8)
        let authorizer = try ProducerAuthorizer(path: path)
        XCTAssertEqual(authorizer.authorize(producer: "careerforge-api", source: "s", type: "placement.recorded"),
                       .forbidden(message: "producer careerforge-api may not write type placement.recorded"))

        try entry(#""application.*","placement.*""#).write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try authorizer.reload().producers.count, 1)
        XCTAssertEqual(authorizer.authorize(producer: "careerforge-api", source: "s", type: "placement.recorded"), .allowed)

        try #"{"producers":[{"name":"careerforge-api"}]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try authorizer.reload()) { error in
            XCTAssertEqual("\(error)", "producers file \(path): producers[0]: producer careerforge-api has no way to prove who it is; "
                           + "give token_sha256, certificate or unix_uid")
        }
        XCTAssertEqual(authorizer.authorize(producer: "careerforge-api", source: "s", type: "placement.recorded"), .allowed, "the old registry stays")
        if case .producer(let producer) = authorizer.authenticate(token: Self.apiToken) {
            XCTAssertEqual(producer.name, "careerforge-api")
        } else {
            XCTFail("the token of the old registry still authenticates")
        }
    }
}
