import CareerEvents
import Foundation

/// A name in a client certificate that identifies a producer under mutual
/// TLS: the subject's common name or one subjectAltName entry, written as
/// OpenSSL prints them: `CN=careerforge-api`, `DNS:api.careerforge.example`,
/// `URI:spiffe://careerforge/api`, `email:ops@careerforge.example`.
public struct CertificateName: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case commonName = "CN="
        case dns = "DNS:"
        case uri = "URI:"
        case email = "email:"
    }

    public var kind: Kind
    public var value: String

    public init(_ kind: Kind, _ value: String) {
        self.kind = kind
        self.value = value
    }

    /// Reads `CN=…`, `DNS:…`, `URI:…` or `email:…`; nil for anything else
    /// or an empty value.
    public init?(parsing text: String) {
        guard let kind = Kind.allCases.first(where: { text.hasPrefix($0.rawValue) }) else { return nil }
        let value = String(text.dropFirst(kind.rawValue.count))
        guard !value.isEmpty else { return nil }
        self.init(kind, value)
    }

    public var description: String { kind.rawValue + value }
}

/// One entry of the producers file: who a producer is, how it proves it,
/// and what it may write.
public struct Producer: Sendable, Equatable {
    /// Recorded with every event it writes (the audit trail) and named in
    /// log lines and `forbidden` answers.
    public let name: String
    /// SHA-256 of its bearer token, 64 lower-case hex digits.
    public let tokenSHA256: String?
    /// The certificate name that identifies it under mutual TLS.
    public let certificate: CertificateName?
    /// The uid that identifies it on the Unix socket (SO_PEERCRED).
    public let unixUID: UInt32?
    /// Allowed `source` values (patterns).
    public let sources: [ProducerPattern]
    /// Allowed event `type`s (patterns).
    public let types: [ProducerPattern]

    public init(
        name: String, tokenSHA256: String? = nil, certificate: CertificateName? = nil, unixUID: UInt32? = nil,
        sources: [ProducerPattern], types: [ProducerPattern]
    ) {
        self.name = name
        self.tokenSHA256 = tokenSHA256
        self.certificate = certificate
        self.unixUID = unixUID
        self.sources = sources
        self.types = types
    }

    public func mayWrite(source: String) -> Bool { sources.contains { $0.matches(source) } }
    public func mayWrite(type: String) -> Bool { types.contains { $0.matches(type) } }
}

/// Why a producers file cannot be used: which file, where in it, what is
/// wrong. Never quotes a token or a hash.
public struct ProducersFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    /// A JSON path (`producers[2].types[0]`) or `byte N`; empty for the
    /// file as a whole.
    public var location: String
    public var reason: String

    public init(path: String, location: String, reason: String) {
        self.path = path
        self.location = location
        self.reason = reason
    }

    public var description: String {
        "producers file \(path): \(location.isEmpty ? "" : location + ": ")\(reason)"
    }
}

/// The producers file, read and checked: every producer, and the tables
/// that find one by token hash, certificate name or uid. Immutable; a
/// reload builds a new one (see `ProducerAuthorizer`).
///
/// The file is JSON (strict: no comments, no trailing commas, no repeated
/// keys), edited by hand. README.md, "Running it on a network", shows it:
///
///     {
///       "producers": [
///         {
///           "name": "careerforge-api",
///           "comment": "the CareerForge web API, prod",
///           "token_sha256": "<64 hex digits: careerlog producers token>",
///           "sources": ["careerforge-api"],
///           "types": ["application.*", "interview.*"]
///         },
///         {
///           "name": "mentor-service",
///           "certificate": "CN=mentor-service",
///           "sources": ["mentor-service"],
///           "types": ["mentorship.*"]
///         },
///         {
///           "name": "nightly-import",
///           "unix_uid": 1001,
///           "sources": ["*"],
///           "types": ["*"]
///         }
///       ]
///     }
///
/// - `name`: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit;
///   unique.
/// - At least one proof: `token_sha256` (SHA-256 of the bearer token, hex),
///   `certificate` (`CN=…`, `DNS:…`, `URI:…` or `email:…` of a client
///   certificate signed by `--tls-client-ca`), `unix_uid` (the peer's uid on
///   the Unix socket). Each proof names one producer only.
/// - `sources`, `types`: non-empty lists of patterns (`*` any run, `?` one
///   character); an event is allowed when its `source` matches one of
///   `sources` and its `type` one of `types`.
/// - `comment`: free text for the people editing the file; ignored.
/// - Any other key is an error (a typo must not silently widen or narrow
///   what a producer may do).
public struct ProducerRegistry: Sendable {
    /// Largest producers file read, in bytes: a thousand producers with
    /// long pattern lists fit in well under 1 MiB.
    public static let fileBytesMax = 1 << 20
    /// Producers one file may list: a deployment has a few dozen services.
    public static let producersMax = 1000
    /// Patterns in one `sources` or `types` list.
    public static let patternsMax = 256
    /// Longest pattern, in bytes: `Envelope.sourceCharactersMax` (200)
    /// characters of up to 4 bytes each would be 800; type names are far
    /// shorter. 800 admits every value a producer can send.
    public static let patternBytesMax = 800
    /// Longest producer name, in bytes (it is stored with events).
    public static let nameBytesMax = ProducerName.bytesMax
    /// Longest `comment`, in bytes.
    public static let commentBytesMax = 1000

    public let producers: [Producer]
    private let byName: [String: Int]
    private let byTokenSHA256: [String: Int]
    private let byCertificate: [CertificateName: Int]
    private let byUID: [UInt32: Int]

    /// No producers: every authentication fails.
    public static let empty = ProducerRegistry(checked: [])

    /// Builds the lookup tables; `producers` must have passed `check`.
    private init(checked producers: [Producer]) {
        self.producers = producers
        var byName: [String: Int] = [:], byToken: [String: Int] = [:]
        var byCertificate: [CertificateName: Int] = [:], byUID: [UInt32: Int] = [:]
        for (i, producer) in producers.enumerated() {
            byName[producer.name] = i
            if let hash = producer.tokenSHA256 { byToken[hash] = i }
            if let name = producer.certificate { byCertificate[name] = i }
            if let uid = producer.unixUID { byUID[uid] = i }
        }
        self.byName = byName
        self.byTokenSHA256 = byToken
        self.byCertificate = byCertificate
        self.byUID = byUID
    }

    /// Checks `producers` the way the file loader does (unique names and
    /// proofs) and builds the registry.
    public init(producers: [Producer], origin: String = "(in memory)") throws(ProducersFileError) {
        try Self.checkUnique(producers, path: origin)
        self.init(checked: producers)
    }

    public func producer(named name: String) -> Producer? { byName[name].map { producers[$0] } }
    public func producer(tokenSHA256 hash: String) -> Producer? { byTokenSHA256[hash].map { producers[$0] } }
    public func producer(certificateName name: CertificateName) -> Producer? { byCertificate[name].map { producers[$0] } }
    public func producer(unixUID uid: UInt32) -> Producer? { byUID[uid].map { producers[$0] } }

    // MARK: - Loading

    /// Reads and checks the file at `path`.
    public static func load(path: String) throws(ProducersFileError) -> ProducerRegistry {
        let bytes = try readFile(path)
        return try parse(bytes, path: path)
    }

    /// Checks a producers file's contents; `path` only names it in errors.
    public static func parse(_ bytes: [UInt8], path: String) throws(ProducersFileError) -> ProducerRegistry {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes, limits: JSONParseLimits(depthMax: 8))
        } catch {
            throw ProducersFileError(path: path, location: "byte \(error.offset)", reason: "not valid JSON: \(error.reason)")
        }
        var reader = EntryReader(path: path)
        let producers = try reader.readFile(root)
        try checkUnique(producers, path: path)
        return ProducerRegistry(checked: producers)
    }

    private static func readFile(_ path: String) throws(ProducersFileError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path)
                ? "cannot be read (check its permissions: the server's user must be able to read it)"
                : "does not exist (give the path of the producers file; README.md, \"Running it on a network\", shows one)"
            throw ProducersFileError(path: path, location: "", reason: reason)
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: fileBytesMax + 1) ?? Data()
        } catch {
            throw ProducersFileError(path: path, location: "", reason: "cannot be read: \(error.localizedDescription)")
        }
        guard data.count <= fileBytesMax else {
            throw ProducersFileError(path: path, location: "", reason: "is larger than \(fileBytesMax) bytes; list fewer producers")
        }
        return [UInt8](data)
    }

    /// Names and proofs must each name one producer.
    private static func checkUnique(_ producers: [Producer], path: String) throws(ProducersFileError) {
        var names: [String: Int] = [:], tokens: [String: Int] = [:]
        var certificates: [CertificateName: Int] = [:], uids: [UInt32: Int] = [:]
        func claim<Key: Hashable>(
            _ key: Key?, _ table: inout [Key: Int], _ i: Int, _ what: String
        ) throws(ProducersFileError) {
            guard let key else { return }
            if let first = table[key] {
                throw ProducersFileError(path: path, location: "producers[\(i)]", reason:
                    "\(what) is also that of producers[\(first)] (\(producers[first].name)); each must name one producer")
            }
            table[key] = i
        }
        for (i, producer) in producers.enumerated() {
            try claim(producer.name, &names, i, "the name \(producer.name)")
            try claim(producer.tokenSHA256, &tokens, i, "token_sha256")
            try claim(producer.certificate, &certificates, i, "the certificate name \(producer.certificate.map { "\($0)" } ?? "")")
            try claim(producer.unixUID, &uids, i, "unix_uid \(producer.unixUID.map { "\($0)" } ?? "")")
        }
    }
}
