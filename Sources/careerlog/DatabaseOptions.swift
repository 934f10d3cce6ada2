import ArgumentParser
import Foundation
import Postgres

/// Where the read models live: `--database-url`, else `$DATABASE_URL`, else
/// the private cluster in `<data-dir>/postgres`, started when needed.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "PostgreSQL URL or libpq connection string for the read models (default: $DATABASE_URL, else a private cluster in <data-dir>/postgres, started when needed).",
        valueName: "url"))
    var databaseURL: String?

    /// The URL given by option or environment; nil means the embedded cluster.
    var configuredURL: String? {
        if let databaseURL, !databaseURL.isEmpty { return databaseURL }
        if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty { return env }
        return nil
    }

    /// The URL to connect to. Without a configured one, starts the private
    /// cluster of `data` if it is not running (creating it on first use).
    func connectionURL(data: DataDirectoryOptions) throws -> String {
        if let configuredURL { return configuredURL }
        return try data.embeddedCluster.start()
    }
}

extension DataDirectoryOptions {
    /// The private PostgreSQL cluster in `<data-dir>/postgres`.
    var embeddedCluster: EmbeddedCluster { EmbeddedCluster(directory: path + "/postgres") }
}
