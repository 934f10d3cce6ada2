import CareerEvents
import EventLog
import Foundation
import Ingest
import TestSupport
import XCTest

/// `careerlog serve` with its door: TLS, producers, permissions, reloads,
/// a crowd of unauthenticated connections. Real processes, sockets and TLS.
final class DoorServeTests: XCTestCase {
    private let pki = TestCertificates.shared
    static let apiToken = "clp_integration-api-token-000000000000000000"
    static let mentorToken = "clp_integration-mentor-token-00000000000000"

    /// careerforge-api may write `user.*`, `profile.*`, `mentor.*` from
    /// source careerforge-api; mentor-service only `mentorship.*`;
    /// cert-client is the client certificate's CN.
    static func producersFile(apiTypes: [String] = ["user.*", "profile.*", "learning.*"]) -> String {
        let types = apiTypes.map { "\"\($0)\"" }.joined(separator: ",")
        return """
            {"producers":[
              {"name":"careerforge-api","token_sha256":"\(ProducerToken.sha256Hex(apiToken))","sources":["careerforge-api"],"types":[\(types)]},
              {"name":"mentor-service","token_sha256":"\(ProducerToken.sha256Hex(mentorToken))","sources":["careerforge-api"],"types":["mentorship.*"]},
              {"name":"cert-client","certificate":"CN=careerforge-api","sources":["*"],"types":["*"]}
            ]}
            """
    }

    private struct Setup {
        var directory: String
        var producers: String
        var tokenFile: String
        var mentorTokenFile: String
        var wrongTokenFile: String
    }

    private func setup(_ name: String = #function) throws -> Setup {
        let directory = makeTemporaryDirectory(name)
        let setup = Setup(directory: directory, producers: directory + "/producers.json", tokenFile: directory + "/api.token",
                          mentorTokenFile: directory + "/mentor.token", wrongTokenFile: directory + "/wrong.token")
        try Self.producersFile().write(toFile: setup.producers, atomically: true, encoding: .utf8)
        try (Self.apiToken + "\n").write(toFile: setup.tokenFile, atomically: true, encoding: .utf8)
        try (Self.mentorToken + "\n").write(toFile: setup.mentorTokenFile, atomically: true, encoding: .utf8)
        try "clp_not-a-token-anyone-has\n".write(toFile: setup.wrongTokenFile, atomically: true, encoding: .utf8)
        return setup
    }

    private func tlsServer(_ setup: Setup, extra: [String] = []) throws -> ServeProcess {
        try ServeProcess(dataDirectory: setup.directory, arguments: [
            "--tls-cert", pki.serverPEM, "--tls-key", pki.serverKey, "--producers", setup.producers,
        ] + extra)
    }

    /// Generated events whose type starts with one of `prefixes`, each
    /// from source careerforge-api (the generator spreads them over several).
    static func lines(types prefixes: [String], count: Int, seed: UInt64 = 3) -> [String] {
        let lines = generatedLines(6000, seed: seed).filter { line in
            guard case .object(let object) = try! JSONParser.parse(line), case .string(let type)? = object["type"] else { return false }
            return prefixes.contains { type.hasPrefix($0) }
        }.prefix(count).map {
            $0.replacingOccurrences(of: #""source":"[^"]*""#, with: #""source":"careerforge-api""#, options: .regularExpression)
        }
        precondition(lines.count == count, "the generated history has only \(lines.count) events of \(prefixes)")
        return lines
    }

    private func write(_ lines: [String], in setup: Setup, name: String = "events.ndjson") throws -> String {
        let path = setup.directory + "/" + name
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: - Safe defaults

    func testNonLoopbackWithoutTLSAndProducersRefusesToStart() throws {
        let directory = makeTemporaryDirectory()
        let result = try runCareerlog(["serve", "--data-dir", directory, "--listen", "0.0.0.0:0", "--no-projector"], timeoutSeconds: 60)
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("refusing to listen on 0.0.0.0:0: it is not a loopback address"), result.stderr)
        XCTAssertTrue(result.stderr.contains("Add --tls-cert FILE --tls-key FILE and --producers FILE"), result.stderr)
        XCTAssertEqual(result.stdout, "", "never got ready")
    }

    // MARK: - The HTTP port, protected the same way

    /// With the door's certificate the HTTP port speaks TLS too: the read
    /// token over TLS gets the metrics, no token gets 401, plain HTTP
    /// gets no answer.
    func testTheHTTPPortUsesTheDoorsTLSWithTheReadToken() throws {
        let setup = try setup()
        let token = "read-token-0123456789abcdef"
        let server = try ServeProcess(dataDirectory: setup.directory, arguments: [
            "--tls-cert", pki.serverPEM, "--tls-key", pki.serverKey, "--producers", setup.producers,
        ], environment: ["CAREERLOG_HTTP_TOKEN": token])
        defer { server.stop() }
        let (_, port) = try hostPort(server.httpAddress)
        let url = "https://localhost:\(port)/metrics"
        let good = try run("/usr/bin/curl", ["-sS", "--cacert", pki.caPEM, "-H", "Authorization: Bearer \(token)", "-w", "\n%{http_code}", url])
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertTrue(good.stdout.hasSuffix("\n200"), String(good.stdout.suffix(200)))
        XCTAssertTrue(good.stdout.contains("careerlog_ingest_events_stored_total"), String(good.stdout.prefix(300)))
        let anonymous = try run("/usr/bin/curl", ["-sS", "--cacert", pki.caPEM, "-o", "/dev/null", "-w", "%{http_code}", url])
        XCTAssertEqual(anonymous.stdout, "401")
        let plain = try run("/usr/bin/curl", ["-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "http://localhost:\(port)/healthz"])
        XCTAssertNotEqual(plain.status, 0, "plain HTTP to the TLS port gets no answer")
        XCTAssertEqual(server.stop(), 0)
        XCTAssertTrue(server.stderr.contains("http.tls=true"), server.stderr)
    }

    func testNonLoopbackHTTPWithoutTLSAndATokenRefusesToStart() throws {
        let directory = makeTemporaryDirectory()
        let result = try runCareerlog(["serve", "--data-dir", directory, "--listen", "127.0.0.1:0", "--http", "0.0.0.0:0", "--no-projector"],
                                      timeoutSeconds: 60)
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("refusing to serve HTTP on 0.0.0.0:0: it is not a loopback address"), result.stderr)
        XCTAssertTrue(result.stderr.contains("Add --tls-cert FILE --tls-key FILE and CAREERLOG_HTTP_TOKEN"), result.stderr)
        XCTAssertEqual(result.stdout, "", "never got ready")

        let insecure = try ServeProcess(dataDirectory: directory, arguments: ["--http", "0.0.0.0:0", "--insecure-listen"])
        XCTAssertEqual(insecure.stop(), 0)
        XCTAssertTrue(insecure.stderr.contains("serving HTTP on 0.0.0.0:0 without TLS and a read token (--insecure-listen)"), insecure.stderr)
    }

    /// Runs a program to its end: exit status, stdout, stderr.
    private func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process(), out = Pipe(), err = Pipe()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func testInsecureListenStartsWithAWarning() throws {
        let directory = makeTemporaryDirectory()
        let server = try ServeProcess(dataDirectory: directory, listen: "0.0.0.0:0", arguments: ["--insecure-listen"])
        XCTAssertEqual(server.stop(), 0)
        XCTAssertTrue(server.stderr.contains("listening on 0.0.0.0:0 without TLS and a producers file (--insecure-listen)"), server.stderr)
    }

    // MARK: - Tokens and permissions over TLS

    func testTokenOverTLSStoresAllowedEventsAndAnswersForbiddenOnes() throws {
        let setup = try setup()
        let server = try tlsServer(setup)
        defer { server.stop() }
        let allowed = Self.lines(types: ["user.", "profile."], count: 6)
        let forbiddenType = Self.lines(types: ["application.sent"], count: 1)[0]
        let forbiddenSource = allowed[5].replacingOccurrences(of: #""source":"careerforge-api""#, with: #""source":"mentor-service""#)
        let file = try write(Array(allowed[0..<5]) + [forbiddenType, forbiddenSource], in: setup)

        let result = try runCareerlog(["emit", "--connect", server.tcpAddress, "--tls-ca", pki.caPEM, "--token-file", setup.tokenFile, file])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertEqual(result.stdout, #"{"sent":7,"stored":5,"duplicates":0,"rejected":2}"# + "\n")
        XCTAssertEqual(result.stderr.split(separator: "\n").map(String.init), [
            "line 6: forbidden: producer careerforge-api may not write type application.sent",
            "line 7: forbidden: producer careerforge-api may not write source mentor-service",
        ])
        XCTAssertEqual(server.stop(), 0)
        XCTAssertEqual(try EventLog.verify(directory: setup.directory + "/log").events, 5, "forbidden events never reach the log")
        let closed = server.stderr.split(separator: "\n").filter { $0.contains("connection closed") }
        XCTAssertEqual(closed.count, 1, server.stderr)
        for part in ["connection.peer=[IPv4]127.0.0.1/127.0.0.1:", "connection.rejected=2", "connection.stored=5", "producer=careerforge-api"] {
            XCTAssertTrue(closed.first?.contains(part) == true, "\(part) in \(closed)")
        }
    }

    func testWrongTokenAndAnotherProducersToken() throws {
        let setup = try setup()
        let server = try tlsServer(setup)
        defer { server.stop() }
        let file = try write(Self.lines(types: ["user."], count: 2), in: setup)

        let wrong = try runCareerlog(["emit", "--connect", server.tcpAddress, "--tls-ca", pki.caPEM, "--token-file", setup.wrongTokenFile, file])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertEqual(wrong.stderr, "emit: the server refused the token: the token is not valid; check it against the one made for this producer\n")
        XCTAssertEqual(wrong.stdout, "")

        let other = try runCareerlog(["emit", "--connect", server.tcpAddress, "--tls-ca", pki.caPEM, "--token-file", setup.mentorTokenFile, file])
        XCTAssertEqual(other.status, 1)
        XCTAssertEqual(other.stdout, #"{"sent":2,"stored":0,"duplicates":0,"rejected":2}"# + "\n")
        XCTAssertTrue(other.stderr.hasPrefix("line 1: forbidden: producer mentor-service may not write type user."), other.stderr)
    }

    func testMissingAuthLineIsAnsweredUnauthenticated() throws {
        let setup = try setup()
        let server = try tlsServer(setup)
        defer { server.stop() }
        let file = try write(Self.lines(types: ["user."], count: 3), in: setup)
        let result = try runCareerlog(["emit", "--connect", server.tcpAddress, "--tls-ca", pki.caPEM, file])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stdout, #"{"sent":3,"stored":0,"duplicates":0,"rejected":3}"# + "\n")
        XCTAssertEqual(result.stderr.split(separator: "\n").first.map(String.init),
                       #"line 1: unauthenticated: authenticate first: send {"auth":"<token>"} as the first line"#)
        XCTAssertEqual(server.stop(), 0)
        XCTAssertEqual(try EventLog.verify(directory: setup.directory + "/log").events, 0)
    }

    // MARK: - TLS failures

    func testPlainClientToTLSPortAndTLSClientToPlainPortFailCleanly() throws {
        let setup = try setup()
        let tls = try tlsServer(setup)
        defer { tls.stop() }
        let file = try write(Self.lines(types: ["user."], count: 1), in: setup)
        let plainToTLS = try runCareerlog(["emit", "--connect", tls.tcpAddress, "--token-file", setup.tokenFile, file])
        XCTAssertEqual(plainToTLS.status, 1)
        XCTAssertTrue(plainToTLS.stderr.hasPrefix("emit: the server refused the token: the connection closed"), plainToTLS.stderr)

        let plainDirectory = makeTemporaryDirectory()
        let plain = try ServeProcess(dataDirectory: plainDirectory)
        defer { plain.stop() }
        let tlsToPlain = try runCareerlog(["emit", "--connect", plain.tcpAddress, "--tls-ca", pki.caPEM, file])
        XCTAssertEqual(tlsToPlain.status, 1)
        XCTAssertTrue(tlsToPlain.stderr.contains("TLS handshake with \(plain.tcpAddress) failed"), tlsToPlain.stderr)
        XCTAssertTrue(tlsToPlain.stderr.contains("WRONG_VERSION_NUMBER"), tlsToPlain.stderr)
        XCTAssertEqual(plain.stop(), 0)
        XCTAssertEqual(tls.stop(), 0, "neither server was hurt")
    }

    func testClientCertificateAuthenticatesAndAnExpiredOneIsRefused() throws {
        let setup = try setup()
        let server = try tlsServer(setup, extra: ["--tls-client-ca", pki.caPEM])
        defer { server.stop() }
        let file = try write(Self.lines(types: ["application."], count: 3), in: setup)
        let good = try runCareerlog(["emit", "--connect", server.tcpAddress, "--tls-ca", pki.caPEM,
                                     "--tls-cert", pki.clientPEM, "--tls-key", pki.clientKey, file])
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertEqual(good.stdout, #"{"sent":3,"stored":3,"duplicates":0,"rejected":0}"# + "\n")

        let expired = try runCareerlog(["emit", "--connect", server.tcpAddress, "--tls-ca", pki.caPEM,
                                        "--tls-cert", pki.expiredClientPEM, "--tls-key", pki.expiredClientKey, file])
        XCTAssertEqual(expired.status, 1)
        XCTAssertTrue(expired.stderr.contains("CERTIFICATE_EXPIRED"), expired.stderr)

        let stranger = try runCareerlog(["emit", "--connect", server.tcpAddress, "--tls-ca", pki.caPEM,
                                         "--tls-cert", pki.strangerClientPEM, "--tls-key", pki.strangerClientKey, file])
        XCTAssertEqual(stranger.status, 1, "a certificate signed by another CA is refused")
        // Under TLS 1.3 the client may finish its side and send before the server refuses: nothing is stored either way.
        XCTAssertTrue(stranger.stdout == "" || stranger.stdout.contains(#""stored":0,"#), stranger.stdout)
        let none = try runCareerlog(["emit", "--connect", server.tcpAddress, "--tls-ca", pki.caPEM, "--token-file", setup.tokenFile, file])
        XCTAssertEqual(none.status, 1, "under --tls-client-ca a token alone does not get past TLS")
        // Under TLS 1.3 the client may finish its side and send before the server refuses: nothing is stored either way.
        XCTAssertTrue(none.stdout == "" || none.stdout.contains(#""stored":0,"#), none.stdout)
        XCTAssertEqual(server.stop(), 0)
        XCTAssertEqual(try EventLog.verify(directory: setup.directory + "/log").events, 3)
    }

    // MARK: - SIGHUP

    func testSIGHUPReloadsTheProducersFileAndABrokenOneKeepsTheOld() throws {
        let setup = try setup()
        let server = try tlsServer(setup)
        defer { server.stop() }
        let applications = try write(Self.lines(types: ["application."], count: 2), in: setup)
        let emit = { try runCareerlog(["emit", "--connect", server.tcpAddress, "--tls-ca", self.pki.caPEM, "--token-file", setup.tokenFile, applications]) }
        XCTAssertEqual(try emit().stdout, #"{"sent":2,"stored":0,"duplicates":0,"rejected":2}"# + "\n")

        try Self.producersFile(apiTypes: ["user.*", "application.*"]).write(toFile: setup.producers, atomically: true, encoding: .utf8)
        kill(server.pid, SIGHUP)
        try waitFor { server.stderr.contains("producers file reloaded") }
        XCTAssertEqual(try emit().stdout, #"{"sent":2,"stored":2,"duplicates":0,"rejected":0}"# + "\n")

        try "{\"producers\":[{\"name\":\"careerforge-api\"}]}".write(toFile: setup.producers, atomically: true, encoding: .utf8)
        kill(server.pid, SIGHUP)
        try waitFor { server.stderr.contains("producers file reload failed; the producers in force stay") }
        XCTAssertTrue(server.stderr.contains("producer careerforge-api has no way to prove who it is"), server.stderr)
        XCTAssertEqual(try emit().stdout, #"{"sent":2,"stored":0,"duplicates":2,"rejected":0}"# + "\n", "the old file still lets it write")
        XCTAssertEqual(server.stop(), 0)
    }

    func testSIGHUPReloadsTheCertificate() throws {
        let setup = try setup()
        let certificate = setup.directory + "/server.pem", key = setup.directory + "/server.key"
        try pki.overwrite(certificate, with: pki.serverPEM)
        try pki.overwrite(key, with: pki.serverKey)
        let server = try ServeProcess(dataDirectory: setup.directory, arguments: [
            "--tls-cert", certificate, "--tls-key", key, "--producers", setup.producers,
        ])
        defer { server.stop() }
        let (host, port) = try hostPort(server.tcpAddress)
        XCTAssertEqual(try serverCommonName(host: host, port: port, ca: pki.caPEM), "localhost")
        try pki.overwrite(certificate, with: pki.renewedServerPEM)
        try pki.overwrite(key, with: pki.renewedServerKey)
        kill(server.pid, SIGHUP)
        try waitFor { server.stderr.contains("TLS certificate reloaded") }
        XCTAssertEqual(try serverCommonName(host: host, port: port, ca: pki.caPEM), "careerlog-renewed")
        XCTAssertEqual(server.stop(), 0)
    }

    // MARK: - A crowd

    func testAThousandUnauthenticatedConnectionsDoNotStarveAProducer() throws {
        let setup = try setup()
        let server = try tlsServer(setup)
        defer { server.stop() }
        let (host, port) = try hostPort(server.tcpAddress)
        let lines = Self.lines(types: ["learning."], count: 400)
        let producer = try DoorProducerConnection(host: host, port: port, ca: pki.caPEM, token: Self.apiToken)
        XCTAssertEqual(try producer.send(Array(lines[0..<200])).count, 200)

        // Half send garbage, half nothing at all (stuck before TLS).
        var crowd: [IngestSocket] = []
        defer { for socket in crowd { socket.close() } }
        for i in 0..<1000 {
            guard let socket = try? IngestSocket(endpoint: .tcp(host: host, port: port)) else { continue }
            if i % 2 == 0 { try? socket.send("GET / HTTP/1.1\r\n\r\n") }
            crowd.append(socket)
        }
        let start = Date()
        let acks = try producer.send(Array(lines[200..<400]))
        XCTAssertEqual(acks.count, 200)
        XCTAssertEqual(acks.compactMap(\.seq), (201...400).map(UInt64.init), "every event stored, in order")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "the producer was not held up by the crowd")
        XCTAssertEqual(server.stop(), 0)
    }

    // MARK: - Helpers

    private func waitFor(timeout: TimeInterval = 10, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw ServeProcessError(message: "condition not met within \(timeout) s") }
            usleep(10_000)
        }
    }

    /// The CN of the certificate the server presents now, as `openssl
    /// s_client` sees it.
    private func serverCommonName(host: String, port: Int, ca: String) throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-connect", "\(host):\(port)", "-CAfile", ca, "-servername", "localhost", "-verify_return_error"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("subject=") }) else { return nil }
        return line.components(separatedBy: "CN = ").last.map { String($0) }
    }

    private func hostPort(_ address: String) throws -> (String, Int) {
        guard case .tcp(let host, let port)? = IngestEndpoint(hostPort: address) else { throw ServeProcessError(message: "bad address \(address)") }
        return (host, port)
    }
}

/// A producer connected over TLS with its token, sending batches and
/// waiting (bounded) for their answers.
final class DoorProducerConnection {
    private let bridge: IngestTLSBridge
    private let socket: IngestSocket
    private var buffer = ResponseLineBuffer()

    init(host: String, port: Int, ca: String, token: String) throws {
        bridge = try IngestTLSBridge.connect(host: host, port: port, context: try TLSClientContext.make(TLSClientFiles(caPath: ca)))
        socket = IngestSocket(connectedDescriptor: dup(bridge.descriptor))
        try socket.send(#"{"auth":"\#(token)"}"# + "\n")
        let answer = try receiveLines(1)[0]
        guard answer.contains(#""ok":true"#) else { throw ServeProcessError(message: "not authenticated: \(answer)") }
    }

    deinit {
        socket.close()
        bridge.close()
    }

    /// Sends `lines` and returns their answers.
    func send(_ lines: [String]) throws -> [IngestAck] {
        try socket.send(lines.joined(separator: "\n") + "\n")
        return try receiveLines(lines.count).map { line in
            guard let ack = IngestAck(line: Array(line.utf8)) else { throw ServeProcessError(message: "not an answer: \(line)") }
            return ack
        }
    }

    private func receiveLines(_ count: Int) throws -> [String] {
        var lines: [String] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { chunk.deallocate() }
        while lines.count < count {
            buffer.forEachLine { lines.append(String(decoding: $0, as: UTF8.self)) }
            if lines.count >= count { break }
            let n = try socket.receive(into: chunk, timeoutMs: 10_000)
            guard n > 0 else { throw ServeProcessError(message: "the server closed after \(lines.count) of \(count) answers") }
            buffer.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
        }
        return lines
    }
}
