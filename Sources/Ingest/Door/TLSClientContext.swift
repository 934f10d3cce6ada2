import NIOSSL

/// The files `emit --tls-ca/--tls-cert/--tls-key` name.
public struct TLSClientFiles: Sendable, Equatable {
    /// PEM: the CA that signed the server's certificate; nil for the
    /// system's trusted CAs.
    public var caPath: String?
    /// PEM: this client's certificate (mutual TLS); nil for none.
    public var certificateChainPath: String?
    /// PEM: its private key; given exactly when `certificateChainPath` is.
    public var privateKeyPath: String?

    public init(caPath: String? = nil, certificateChainPath: String? = nil, privateKeyPath: String? = nil) {
        self.caPath = caPath
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
    }
}

/// Client-side TLS for `emit`, the benchmark and the tests: TLS 1.2+, the
/// server's certificate checked against the CA and the host name dialled.
public enum TLSClientContext {
    public static func make(_ files: TLSClientFiles) throws(TLSFilesError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let caPath = files.caPath {
            configuration.trustRoots = .certificates(try TLSServerContext.loadCertificates(caPath, what: "the server's CA (--tls-ca)"))
        }
        switch (files.certificateChainPath, files.privateKeyPath) {
        case (let certificatePath?, let keyPath?):
            let chain = try TLSServerContext.loadCertificates(certificatePath, what: "the client certificate (--tls-cert)")
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(try TLSServerContext.loadPrivateKey(keyPath))
        case (nil, nil):
            break
        case (let path?, nil), (nil, let path?):
            throw TLSFilesError(path: path, reason: "a client certificate needs both --tls-cert and --tls-key")
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFilesError(path: files.privateKeyPath ?? files.caPath ?? "(system CAs)", reason:
                "cannot set up TLS with these files (\(error)); check that the key goes with the certificate")
        }
    }
}
