import ArgumentParser
import Foundation
import Ingest
import Logging

/// `serve`'s door: TLS on TCP, the producers file, and the safe default
/// that keeps a network address closed without them.
struct ServeDoorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("TLS on the TCP listener and the HTTP port: the server certificate (PEM, with any intermediates).", valueName: "file"))
    var tlsCert: String?
    @Option(help: ArgumentHelp("The private key of --tls-cert (PEM, unencrypted).", valueName: "file"))
    var tlsKey: String?
    @Option(help: ArgumentHelp("Require client certificates signed by this CA (PEM): mutual TLS, on the HTTP port too.", valueName: "file"))
    var tlsClientCa: String?
    @Option(help: ArgumentHelp("The producers file (JSON): who may write, proved how, which sources and types. SIGHUP reloads it.", valueName: "file"))
    var producers: String?
    @Flag(help: "Listen on a non-loopback address without TLS, a producers file (ingest) or a read token (HTTP); logs a warning. For trusted networks only.")
    var insecureListen = false
    @Option(help: ArgumentHelp("Time a new connection has to finish TLS and authenticate.", valueName: "ms"))
    var authDeadlineMs: Int = DoorLimits().authenticationDeadlineMs

    func validate() throws {
        try validateCertificateAndKey(tlsCert, tlsKey)
        if tlsClientCa != nil && tlsCert == nil { throw ValidationError("--tls-client-ca needs TLS: add --tls-cert FILE --tls-key FILE") }
        try checkingOption { try limits.validate() }
    }

    var limits: DoorLimits {
        var limits = DoorLimits()
        limits.authenticationDeadlineMs = authDeadlineMs
        return limits
    }

    /// The door these options describe (`IngestDoor.open`).
    func makeDoor(tcp: (host: String, port: Int)?, logger: Logger) throws -> IngestDoor {
        let files = tlsCert.flatMap { cert in tlsKey.map { TLSServerFiles(certificateChainPath: cert, privateKeyPath: $0, clientCAPath: tlsClientCa) } }
        return try IngestDoor.open(tls: files, producersFile: producers, tcp: tcp, insecureListen: insecureListen, limits: limits, logger: logger)
    }
}

/// --tls-cert and --tls-key name one identity: both or neither (serve and emit).
func validateCertificateAndKey(_ certificate: String?, _ key: String?) throws {
    if (certificate == nil) != (key == nil) { throw ValidationError("--tls-cert and --tls-key go together: give both, or neither") }
}

/// `emit`'s side of the door: a token, TLS, a client certificate.
struct EmitDoorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Authenticate with this producer token (visible to other local users in the process list: prefer --token-file).", valueName: "token"))
    var token: String?
    @Option(help: ArgumentHelp("Read the producer token from this file (its first line).", valueName: "file"))
    var tokenFile: String?
    @Flag(help: "Connect with TLS (implied by --tls-ca, --tls-cert and --tls-key).")
    var tls = false
    @Option(help: ArgumentHelp("The CA that signed the server's certificate (PEM); default: the system's CAs.", valueName: "file"))
    var tlsCa: String?
    @Option(help: ArgumentHelp("Client certificate for mutual TLS (PEM).", valueName: "file"))
    var tlsCert: String?
    @Option(help: ArgumentHelp("The private key of --tls-cert (PEM).", valueName: "file"))
    var tlsKey: String?

    func validate() throws {
        if token != nil && tokenFile != nil { throw ValidationError("give --token or --token-file, not both") }
        try validateCertificateAndKey(tlsCert, tlsKey)
    }

    var usesTLS: Bool { tls || tlsCa != nil || tlsCert != nil }

    var tlsFiles: TLSClientFiles { TLSClientFiles(caPath: tlsCa, certificateChainPath: tlsCert, privateKeyPath: tlsKey) }

    /// The token to send, if any: `--token`, or the first line of
    /// `--token-file` without surrounding white space.
    func resolvedToken() throws -> String? {
        if let token { return token }
        guard let tokenFile else { return nil }
        return try checkingOption { try EmitClient.token(fromFile: tokenFile) }
    }
}
