import NIOConcurrencyHelpers
import NIOSSL

/// Who a connection is talking to, and what that producer may write.
///
/// Holds the current `ProducerRegistry` and swaps it whole on `reload` (the
/// server's SIGHUP): connections look their producer up by name at every
/// event, so a producer removed from the file, or one whose permissions
/// shrank, is held to the new file from its next line on. Thread-safe; each
/// call takes one short uncontended lock.
public final class ProducerAuthorizer: Sendable {
    /// The outcome of one authentication.
    public enum Authentication: Sendable, Equatable {
        case producer(Producer)
        /// Why not, for the server's log (never sent to the peer, which only
        /// learns `unauthenticated`).
        case refused(reason: String)
    }

    /// The outcome of checking one event against its producer's permissions.
    public enum Authorization: Sendable, Equatable {
        case allowed
        /// The `message` of the `forbidden` answer.
        case forbidden(message: String)
    }

    /// The file reloads read; nil when the registry was given directly.
    public let path: String?
    private let registry: NIOLockedValueBox<ProducerRegistry>

    public init(registry: ProducerRegistry, path: String? = nil) {
        self.registry = NIOLockedValueBox(registry)
        self.path = path
    }

    /// Loads the producers file at `path`.
    public convenience init(path: String) throws(ProducersFileError) {
        self.init(registry: try ProducerRegistry.load(path: path), path: path)
    }

    /// The registry in force now.
    public var current: ProducerRegistry { registry.withLockedValue { $0 } }

    /// Reads the file again. A file that cannot be read or is wrong leaves
    /// the registry in force as it was and throws why (the caller logs it).
    @discardableResult
    public func reload() throws(ProducersFileError) -> ProducerRegistry {
        guard let path else {
            throw ProducersFileError(path: "(none)", location: "", reason: "the producers were not read from a file, so there is nothing to reload")
        }
        let fresh = try ProducerRegistry.load(path: path)
        registry.withLockedValue { $0 = fresh }
        return fresh
    }

    /// Replaces the registry (tests, and a caller that loaded it itself).
    public func replace(with fresh: ProducerRegistry) {
        registry.withLockedValue { $0 = fresh }
    }

    // MARK: - Authentication

    /// The producer whose `token_sha256` is the SHA-256 of `token`.
    public func authenticate(token: some Collection<UInt8>) -> Authentication {
        let hash = ProducerToken.sha256Hex(bytes: token)
        guard let producer = current.producer(tokenSHA256: hash) else {
            return .refused(reason: "the token is not that of any producer")
        }
        return .producer(producer)
    }

    public func authenticate(token: String) -> Authentication {
        authenticate(token: Array(token.utf8))
    }

    /// The producer a verified client certificate names. The certificate
    /// must already have passed TLS verification against `--tls-client-ca`;
    /// this only maps its names to a producer. A certificate whose names
    /// match two producers names neither.
    public func authenticate(certificate: NIOSSLCertificate) -> Authentication {
        authenticate(certificateNames: CertificateName.names(of: certificate))
    }

    public func authenticate(certificateNames names: [CertificateName]) -> Authentication {
        let registry = current
        var matches: [Producer] = []
        for name in names {
            if let producer = registry.producer(certificateName: name), !matches.contains(producer) { matches.append(producer) }
        }
        switch matches.count {
        case 1:
            return .producer(matches[0])
        case 0:
            return .refused(reason: "no producer has the certificate name \(Self.list(names))")
        default:
            return .refused(reason: "the certificate names several producers (\(matches.map(\.name).joined(separator: ", "))); give it names of one only")
        }
    }

    /// The producer with `unix_uid` equal to the Unix socket peer's uid.
    public func authenticate(peerUID uid: UInt32) -> Authentication {
        guard let producer = current.producer(unixUID: uid) else {
            return .refused(reason: "no producer has unix_uid \(uid)")
        }
        return .producer(producer)
    }

    private static func list(_ names: [CertificateName]) -> String {
        let shown = names.prefix(4).map(\.description).joined(separator: ", ")
        return names.isEmpty ? "(the certificate has none)" : names.count > 4 ? shown + ", ..." : shown
    }

    // MARK: - Authorization

    /// Whether the producer named `producer` may write an event of `type`
    /// from `source`, under the registry in force now.
    public func authorize(producer name: String, source: String, type: String) -> Authorization {
        guard let producer = current.producer(named: name) else {
            return .forbidden(message: "producer \(name) is no longer in the producers file; it may not write")
        }
        return Self.authorize(producer, source: source, type: type)
    }

    /// The same check against a producer already looked up.
    public static func authorize(_ producer: Producer, source: String, type: String) -> Authorization {
        guard producer.mayWrite(type: type) else {
            return .forbidden(message: "producer \(producer.name) may not write type \(type)")
        }
        guard producer.mayWrite(source: source) else {
            return .forbidden(message: "producer \(producer.name) may not write source \(source)")
        }
        return .allowed
    }
}

extension CertificateName {
    /// The names a certificate offers for identifying a producer: every
    /// subject common name, then its DNS, URI and email subjectAltNames.
    public static func names(of certificate: NIOSSLCertificate) -> [CertificateName] {
        var names = certificate.subjectName.filter { $0.type == .commonName }.map { CertificateName(.commonName, $0.value) }
        for entry in certificate._subjectAlternativeNames() {
            let kind: Kind
            switch entry.nameType {
            case .dnsName: kind = .dns
            case .uri: kind = .uri
            case .email: kind = .email
            default: continue
            }
            names.append(CertificateName(kind, String(decoding: entry.contents, as: UTF8.self)))
        }
        return names
    }
}
