import Foundation
import Postgres

/// A data directory and the one place its parts are named: the event log,
/// the ingest socket, the key store, the private PostgreSQL cluster.
public struct DataDirectory: Sendable, Equatable {
    public var path: String

    public init(path: String) { self.path = path }

    /// `--data-dir` when given, else `$CAREERLOG_DATA_DIR` (when not
    /// empty), else `.careerlog` in the current directory.
    public init(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                currentDirectory: String = FileManager.default.currentDirectoryPath) {
        if let option {
            path = option
        } else if let env = environment["CAREERLOG_DATA_DIR"], !env.isEmpty {
            path = env
        } else {
            path = currentDirectory + "/.careerlog"
        }
    }

    /// The event log: `<data-dir>/log`.
    public var logDirectory: String { path + "/log" }

    /// The Unix socket `serve` listens on unless told otherwise, and `emit --data-dir` sends to.
    public var ingestSocket: String { path + "/ingest.sock" }

    /// The subjects' key store and the default master key file: `<data-dir>/keys`.
    public var keysDirectory: String { path + "/keys" }

    /// The private PostgreSQL cluster in `<data-dir>/postgres`.
    public var embeddedCluster: EmbeddedCluster { EmbeddedCluster(directory: path + "/postgres") }
}
