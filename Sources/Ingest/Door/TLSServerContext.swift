import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// The files `serve --tls-cert/--tls-key/--tls-client-ca` name.
public struct TLSServerFiles: Sendable, Equatable {
    /// PEM: the server certificate, then any intermediates.
    public var certificateChainPath: String
    /// PEM: the certificate's private key (unencrypted).
    public var privateKeyPath: String
    /// PEM: the CA certificates client certificates must be signed by;
    /// nil for no client certificates (tokens only).
    public var clientCAPath: String?

    public init(certificateChainPath: String, privateKeyPath: String, clientCAPath: String? = nil) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.clientCAPath = clientCAPath
    }
}

/// A TLS file that cannot be used: which file, what is wrong, what to do.
public struct TLSFilesError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "TLS: \(path): \(reason)" }
}

/// The server's TLS context, swapped whole on reload so certificates can
/// be renewed without a restart: each new connection takes the context in
/// force when it is accepted, and connections already open keep theirs
/// (a TLS session never changes certificate mid-way), so a reload drops
/// nothing.
///
/// TLS 1.2 and 1.3 only. With a client CA, every client must present a
/// certificate signed by it, valid now; the handshake fails otherwise (an
/// expired or wrongly signed certificate never reaches the ingest code).
public final class TLSServerContext: Sendable {
    public let files: TLSServerFiles
    private let context: NIOLockedValueBox<NIOSSLContext>

    /// Loads and checks the files; throws what is wrong with which file.
    public init(files: TLSServerFiles) throws(TLSFilesError) {
        self.files = files
        self.context = NIOLockedValueBox(try Self.makeContext(files))
    }

    /// True when clients must present a certificate.
    public var requiresClientCertificate: Bool { files.clientCAPath != nil }

    /// A handler for one new connection, with the context in force now.
    public func makeServerHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: context.withLockedValue { $0 })
    }

    /// Reads the files again. Files that cannot be used leave the context in
    /// force as it was and throw why (the caller logs it).
    public func reload() throws(TLSFilesError) {
        let fresh = try Self.makeContext(files)
        context.withLockedValue { $0 = fresh }
    }

    // MARK: - Loading

    static func makeContext(_ files: TLSServerFiles) throws(TLSFilesError) -> NIOSSLContext {
        let chain = try loadCertificates(files.certificateChainPath, what: "the server certificate (--tls-cert)")
        try checkValidNow(chain[0], path: files.certificateChainPath)
        let key = try loadPrivateKey(files.privateKeyPath)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let caPath = files.clientCAPath {
            let roots = try loadCertificates(caPath, what: "the client CA (--tls-client-ca)")
            configuration.trustRoots = .certificates(roots)
            // Clients are identified by certificate names, not host names;
            // `noHostnameVerification` still requires a certificate that
            // chains to `roots` and is valid now.
            configuration.certificateVerification = .noHostnameVerification
            configuration.sendCANameList = true
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFilesError(path: files.privateKeyPath, reason:
                "the key does not go with the certificate \(files.certificateChainPath), or one of them is unusable (\(error)); give the key the certificate was made for")
        }
    }

    static func loadCertificates(_ path: String, what: String) throws(TLSFilesError) -> [NIOSSLCertificate] {
        try requireReadable(path, what: what)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw TLSFilesError(path: path, reason: "is not \(what) in PEM form (-----BEGIN CERTIFICATE-----): \(error)")
        }
        guard !certificates.isEmpty else {
            throw TLSFilesError(path: path, reason: "holds no certificate; \(what) must be in PEM form (-----BEGIN CERTIFICATE-----)")
        }
        return certificates
    }

    static func loadPrivateKey(_ path: String) throws(TLSFilesError) -> NIOSSLPrivateKey {
        try requireReadable(path, what: "the private key (--tls-key)")
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw TLSFilesError(path: path, reason: "is not an unencrypted private key in PEM form (-----BEGIN PRIVATE KEY-----): \(error)")
        }
    }

    /// An expired server certificate would fail every handshake with an
    /// error only the clients see; refuse it here, where the operator looks.
    static func checkValidNow(_ certificate: NIOSSLCertificate, path: String) throws(TLSFilesError) {
        let now = time(nil)
        if certificate.notValidAfter < now {
            throw TLSFilesError(path: path, reason: "the certificate expired on \(date(certificate.notValidAfter)); renew it")
        }
        if certificate.notValidBefore > now {
            throw TLSFilesError(path: path, reason: "the certificate is not valid before \(date(certificate.notValidBefore)); check the clock or the certificate")
        }
    }

    static func requireReadable(_ path: String, what: String) throws(TLSFilesError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TLSFilesError(path: path, reason: "does not exist; give the path of \(what)")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw TLSFilesError(path: path, reason: "cannot be read; let the server's user read \(what)")
        }
    }

    private static func date(_ seconds: time_t) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
