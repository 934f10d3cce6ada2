import ArgumentParser
import Foundation
import Postgres
import Runtime

/// Where the read models live: `--database-url`, else `$DATABASE_URL`, else
/// the private cluster in `<data-dir>/postgres`, started when needed and
/// stopped again when the command ends (unless `--keep-db`, or it was
/// already running).
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "PostgreSQL URL or libpq connection string for the read models (default: $DATABASE_URL, else a private cluster in <data-dir>/postgres, started when needed).",
        valueName: "url"))
    var databaseURL: String?

    @Flag(name: .customLong("keep-db"), help: "Leave the private cluster running when this command started it (by default it is stopped when the command ends).")
    var keepDatabase = false

    /// The URL given by option or environment; nil means the embedded cluster.
    var configuredURL: String? { EnvironmentSettings.databaseURL(option: databaseURL) }

    /// The URL to connect to. Without a configured one, starts the private
    /// cluster of `data` if it is not running (creating it on first use);
    /// one this process started is stopped when the command ends.
    func connectionURL(data: DataDirectoryOptions) throws -> String {
        if let configuredURL { return configuredURL }
        return try EmbeddedClusterLease.shared.acquire(data.embeddedCluster, keep: keepDatabase).url
    }
}

