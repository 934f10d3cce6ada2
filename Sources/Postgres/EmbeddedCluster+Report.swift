import Foundation

/// What `careerlog db` says about a cluster, worded once.
extension EmbeddedCluster {
    /// For a data directory without a cluster: what could not be done
    /// (`what`) and how to create one.
    public func notInitializedMessage(_ what: String) -> String {
        let data = (directory as NSString).deletingLastPathComponent
        return "no PostgreSQL cluster in \(directory): \(what) (check --data-dir; `careerlog db start --data-dir \(data)` creates one)"
    }

    /// `running pid=PID url=URL started-by=WHO`, `stopped url=URL` or
    /// `not-initialized directory=DIR`, with the status it describes.
    public func statusLine() -> (Status, String) {
        let status = status()
        switch status {
        case .running(let pid):
            return (status, "running pid=\(pid) url=\(url) started-by=\(startedBy ?? "unknown (not recorded: started by an older careerlog or by hand)")")
        case .stopped:
            return (status, "stopped url=\(url)")
        case .notInitialized:
            return (status, "not-initialized directory=\(directory)")
        }
    }
}

extension PostgresConnection {
    /// The server's address (`HOST:PORT`, or `unix socket:PORT`): what may
    /// be shown of a configured server, whose URL may hold a password.
    public func serverAddress() throws(PostgresError) -> String {
        try query("SELECT coalesce(inet_server_addr()::text, 'unix socket') || ':' || current_setting('port')").first?[0] ?? "?"
    }
}
