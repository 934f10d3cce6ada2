import Foundation
import TestSupport
import XCTest

/// The HTTP port is protected the way the ingest door is: with the door's
/// TLS certificate it speaks only TLS (renewed by the same SIGHUP), and a
/// non-loopback address needs TLS and a read token, or --insecure-listen.
final class WindowProtectionTests: XCTestCase {
    private let pki = TestCertificates.shared

    func testWithTheDoorsCertificateTheHTTPPortSpeaksOnlyTLSAndReloadsWithIt() throws {
        let directory = makeTemporaryDirectory()
        let certificate = directory + "/server.pem", key = directory + "/server.key"
        try pki.overwrite(certificate, with: pki.serverPEM)
        try pki.overwrite(key, with: pki.serverKey)
        let server = try ServeProcess(dataDirectory: directory, arguments: ["--tls-cert", certificate, "--tls-key", key])
        defer { server.stop() }
        let http = server.httpAddress
        XCTAssertFalse(http.isEmpty, "the ready line names the HTTP address")

        let secure = try curl(["--cacert", pki.caPEM, "https://\(http)/metrics"])
        XCTAssertEqual(secure.status, 0, secure.stderr)
        XCTAssertTrue(secure.stdout.contains("careerlog_ingest_events_stored_total 0"), secure.stdout)
        let plain = try curl(["http://\(http)/metrics"])
        XCTAssertNotEqual(plain.status, 0, "plain HTTP must not be answered: \(plain.stdout)")
        XCTAssertFalse(plain.stdout.contains("careerlog_"), "figures went out in clear")

        XCTAssertEqual(try certificateCommonName(http), "localhost")
        try pki.overwrite(certificate, with: pki.renewedServerPEM)
        try pki.overwrite(key, with: pki.renewedServerKey)
        kill(server.pid, SIGHUP)
        try waitUntil("the HTTP port presents the renewed certificate") { try certificateCommonName(http) == "careerlog-renewed" }
        XCTAssertEqual(server.stop(), 0)
    }

    func testANonLoopbackHTTPAddressNeedsTLSAndAToken() throws {
        let directory = makeTemporaryDirectory()
        let arguments = ["serve", "--data-dir", directory, "--listen", "127.0.0.1:0", "--no-socket", "--no-projector", "--http", "0.0.0.0:0"]
        let refused = try runCareerlog(arguments)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("refusing to serve HTTP on 0.0.0.0:0"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--tls-cert FILE --tls-key FILE and CAREERLOG_HTTP_TOKEN"), refused.stderr)
        let withToken = try runCareerlog(arguments, environment: ["CAREERLOG_HTTP_TOKEN": "0123456789abcdef0123"])
        XCTAssertEqual(withToken.status, 1)
        XCTAssertTrue(withToken.stderr.contains("Add --tls-cert FILE --tls-key FILE (README.md"), withToken.stderr)
    }

    private func curl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["--silent", "--show-error", "--max-time", "10"] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// The CN of the certificate `address` presents, as `openssl s_client`
    /// sees it after verifying it against the test CA.
    private func certificateCommonName(_ address: String) throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-connect", address, "-CAfile", pki.caPEM, "-servername", "localhost", "-verify_return_error"]
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
}
