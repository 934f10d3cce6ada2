/// Why the embedded PostgreSQL cluster could not be set up, started or stopped.
public struct EmbeddedClusterError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// No usable `initdb` and `pg_ctl` on this machine, or not the
        /// version the cluster was created with.
        case postgresNotInstalled
        /// The cluster directory cannot be created, owned or reached by the
        /// account that runs the server, or its path cannot be used.
        case directory
        /// `initdb` or `pg_ctl` failed or timed out.
        case command
        /// The server started but did not accept connections in time, or the
        /// `careerlog` database could not be created.
        case notReady
    }

    public var code: Code
    public var message: String
    /// The last lines of the server's log, when they may say why.
    public var serverLogTail: String?

    public init(code: Code, message: String, serverLogTail: String? = nil) {
        self.code = code
        self.message = message
        self.serverLogTail = serverLogTail
    }

    public var description: String {
        guard let serverLogTail, !serverLogTail.isEmpty else { return message }
        return message + "\nlast lines of the server log:\n" + serverLogTail
    }
}
