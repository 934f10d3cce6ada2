import Foundation

/// A test PKI (for TLS tests) made by the `openssl` command line once per test process, in
/// a temporary directory: two CAs and certificates signed by them. P-256
/// keys, so the whole set takes well under a second.
///
/// Why the openssl CLI and not swift-certificates: the tests need a handful
/// of PEM files, which eight `openssl` runs make; swift-certificates would
/// add swift-asn1, swift-crypto's extras and X509 to every test build for
/// that. `openssl` is on the machine (Tools/setup.sh installs it).
public final class TestCertificates: @unchecked Sendable {
    public let directory: String

    /// The CA that signs the server's and the good clients' certificates.
    public var caPEM: String { directory + "/ca.pem" }
    /// A second CA, trusted by nobody: what a wrongly signed certificate
    /// chains to.
    public var otherCAPEM: String { directory + "/other-ca.pem" }
    /// Server: CN=localhost, SAN DNS:localhost and IP:127.0.0.1, by `ca`.
    public var serverPEM: String { directory + "/server.pem" }
    public var serverKey: String { directory + "/server.key" }
    /// A second server certificate (CN=careerlog-renewed), by `ca`: what a
    /// reload swaps in.
    public var renewedServerPEM: String { directory + "/renewed.pem" }
    public var renewedServerKey: String { directory + "/renewed.key" }
    /// Client CN=careerforge-api, SAN URI:spiffe://careerforge/api, by `ca`.
    public var clientPEM: String { directory + "/client.pem" }
    public var clientKey: String { directory + "/client.key" }
    /// The same subject, by `ca`, expired yesterday.
    public var expiredClientPEM: String { directory + "/expired.pem" }
    public var expiredClientKey: String { directory + "/expired.key" }
    /// The same subject, signed by `other-ca`.
    public var strangerClientPEM: String { directory + "/stranger.pem" }
    public var strangerClientKey: String { directory + "/stranger.key" }
    /// A server certificate by `ca` that expired yesterday.
    public var expiredServerPEM: String { directory + "/expired-server.pem" }
    public var expiredServerKey: String { directory + "/expired-server.key" }

    public static let shared: TestCertificates = {
        do {
            return try TestCertificates()
        } catch {
            fatalError("cannot make the test certificates with openssl: \(error)")
        }
    }()

    private init() throws {
        directory = "/tmp/cl-door-pki-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try makeCA("ca", subject: "/CN=careerlog test CA")
        try makeCA("other-ca", subject: "/CN=someone else's CA")
        try makeLeaf("server", subject: "/CN=localhost", ca: "ca", days: 2,
                     extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
        try makeLeaf("renewed", subject: "/CN=careerlog-renewed", ca: "ca", days: 2,
                     extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
        try makeLeaf("expired-server", subject: "/CN=localhost", ca: "ca", days: -1,
                     extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
        let client = "subjectAltName=URI:spiffe://careerforge/api\nextendedKeyUsage=clientAuth"
        try makeLeaf("client", subject: "/CN=careerforge-api", ca: "ca", days: 2, extensions: client)
        try makeLeaf("expired", subject: "/CN=careerforge-api", ca: "ca", days: -1, extensions: client)
        try makeLeaf("stranger", subject: "/CN=careerforge-api", ca: "other-ca", days: 2, extensions: client)
    }

    private func makeCA(_ name: String, subject: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", subject])
    }

    /// `days` -1 makes a certificate whose notAfter is a day before now.
    private func makeLeaf(_ name: String, subject: String, ca: String, days: Int, extensions: String) throws {
        try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
        try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key",
                     "-set_serial", "\(Int.random(in: 1...1_000_000))", "-days", "\(days)",
                     "-extfile", "\(name).ext", "-out", "\(name).pem"])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "openssl", code: Int(process.terminationStatus), userInfo: [
                NSLocalizedDescriptionKey: "openssl \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))",
            ])
        }
    }

    /// A copy of `source` at a new path in the PKI directory (reload tests
    /// replace the files a server was started with).
    public func copy(_ source: String, to name: String) throws -> String {
        let path = directory + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: source, toPath: path)
        return path
    }

    /// Overwrites `path` with `source`'s bytes (what `cp` over a renewed
    /// certificate does).
    public func overwrite(_ path: String, with source: String) throws {
        try Data(contentsOf: URL(fileURLWithPath: source)).write(to: URL(fileURLWithPath: path))
    }
}
