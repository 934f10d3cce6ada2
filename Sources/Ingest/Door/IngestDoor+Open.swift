import Logging

/// Why `serve` will not open its door; printed as it is.
public struct DoorStartError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

extension IngestDoor {
    /// The door `serve`'s options describe: loads the TLS files and the
    /// producers file, and applies the listen policy to `tcp` (nil: no TCP
    /// listener), warning through `logger` when `insecureListen` lets an
    /// open address through. Throws a message saying which file is wrong
    /// or what to add.
    public static func open(
        tls files: TLSServerFiles?, producersFile: String?, tcp: (host: String, port: Int)?, insecureListen: Bool,
        limits: DoorLimits, logger: Logger
    ) throws(DoorStartError) -> IngestDoor {
        var tls: TLSServerContext?
        if let files {
            do { tls = try TLSServerContext(files: files) } catch { throw DoorStartError(message: "\(error)") }
        }
        var authorizer: ProducerAuthorizer?
        if let producersFile {
            do { authorizer = try ProducerAuthorizer(path: producersFile) } catch { throw DoorStartError(message: "\(error)") }
        }
        if let tcp {
            switch ListenPolicy.check(host: tcp.host, port: tcp.port, tls: tls != nil, producers: authorizer != nil, insecureListen: insecureListen) {
            case .allowed: break
            case .allowedInsecurely(let warning): logger.warning("\(warning)")
            case .refused(let message): throw DoorStartError(message: message)
            }
        }
        return IngestDoor(tls: tls, producers: authorizer, limits: limits)
    }
}

extension ProducerRegistry {
    /// What `careerlog producers check FILE` prints: the count, then per
    /// producer its proofs and what it may write.
    public func summaryLines(file: String) -> [String] {
        ["\(file): \(producers.count) producer\(producers.count == 1 ? "" : "s")"] + producers.map { producer in
            var proofs: [String] = []
            if producer.tokenSHA256 != nil { proofs.append("token") }
            if let name = producer.certificate { proofs.append("certificate \(name)") }
            if let uid = producer.unixUID { proofs.append("unix uid \(uid)") }
            return "  \(producer.name): \(proofs.joined(separator: ", ")); sources \(producer.sources.map(\.pattern).joined(separator: " ")); types \(producer.types.map(\.pattern).joined(separator: " "))"
        }
    }
}
