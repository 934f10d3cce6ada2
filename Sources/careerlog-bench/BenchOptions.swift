import ArgumentParser
import CareerEvents
import Foundation
import Postgres
import Projector

// The option groups the benchmarks share with `careerlog` (same flags, same
// defaults). They are repeated here, small, because an executable cannot
// import another executable's types.

/// `--schemas`, else `$CAREERLOG_SCHEMA_DIR`, else `EventSchemas/` found
/// beside the program or the current directory.
struct SchemaOptions: ParsableArguments {
    @Option(name: .customLong("schemas"), help: ArgumentHelp(
        "The EventSchemas directory (default: $CAREERLOG_SCHEMA_DIR, else found next to the program).", valueName: "dir"))
    var schemaDirectory: String?

    func registry() throws -> SchemaRegistry {
        guard let directory = schemaDirectory ?? SchemaRegistry.bundledDirectory() else {
            throw ValidationError("no EventSchemas directory found: pass --schemas DIR or set CAREERLOG_SCHEMA_DIR")
        }
        do {
            return try SchemaRegistry(directory: directory)
        } catch {
            throw ValidationError("cannot load event schemas: \(error)")
        }
    }
}

/// `--projections`, else `$CAREERLOG_PROJECTIONS_DIR`, else `Projections/`
/// found beside the program or the current directory.
struct ProjectionOptions: ParsableArguments {
    @Option(name: .customLong("projections"), help: ArgumentHelp(
        "The Projections directory (default: $CAREERLOG_PROJECTIONS_DIR, else found next to the program).", valueName: "dir"))
    var directory: String?

    func catalog() throws -> ProjectionCatalog {
        guard let directory = directory ?? ProjectionCatalog.bundledDirectory() else {
            throw ValidationError("no Projections directory found: pass --projections DIR or set CAREERLOG_PROJECTIONS_DIR")
        }
        return try ProjectionCatalog(directory: directory)
    }
}

/// `--database-url`, else `$DATABASE_URL`, else the private cluster in the
/// benchmark's data directory, started when needed.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "PostgreSQL URL or libpq connection string (default: $DATABASE_URL, else a private cluster in <directory>/postgres, started when needed).",
        valueName: "url"))
    var databaseURL: String?

    /// The URL to connect to; without a configured one, starts the private
    /// cluster in `<dataDirectory>/postgres` (creating it on first use).
    func connectionURL(dataDirectory: String) throws -> String {
        if let databaseURL, !databaseURL.isEmpty { return databaseURL }
        if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty { return env }
        return try EmbeddedCluster(directory: dataDirectory + "/postgres").start()
    }
}

/// Writes one line to stderr, unbuffered.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
