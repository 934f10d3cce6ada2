import Foundation

/// A directory holding PostgreSQL's server programs (`initdb`, `pg_ctl`).
///
/// Looked for in `$CAREERLOG_POSTGRES_BIN`, then on PATH, then in Debian's
/// `/usr/lib/postgresql/<major>/bin`, highest version first. A cluster can
/// only be run by the major version that created it, so an existing cluster
/// asks for its version.
struct PostgresInstallation {
    var binDirectory: String
    var majorVersion: Int

    var initdb: String { binDirectory + "/initdb" }
    var pgCtl: String { binDirectory + "/pg_ctl" }

    static func find(majorVersion wanted: Int?) throws(EmbeddedClusterError) -> PostgresInstallation {
        var found: [PostgresInstallation] = []
        for directory in candidateDirectories() where !found.contains(where: { $0.binDirectory == directory }) {
            if let installation = try installation(in: directory) { found.append(installation) }
        }
        guard let first = found.first else {
            throw EmbeddedClusterError(code: .postgresNotInstalled, message: """
                PostgreSQL's initdb and pg_ctl were not found (looked in $CAREERLOG_POSTGRES_BIN, PATH and /usr/lib/postgresql/*/bin): \
                run Tools/setup.sh (or apt-get install postgresql), or pass --database-url
                """)
        }
        guard let wanted else { return first }
        if let match = found.first(where: { $0.majorVersion == wanted }) { return match }
        throw EmbeddedClusterError(code: .postgresNotInstalled, message: """
            the cluster was created by PostgreSQL \(wanted), but only \(found.map { String($0.majorVersion) }.joined(separator: ", ")) \
            is installed: install PostgreSQL \(wanted), or delete the cluster directory (read models are rebuilt from the log)
            """)
    }

    private static func candidateDirectories() -> [String] {
        let environment = ProcessInfo.processInfo.environment
        var directories: [String] = []
        if let explicit = environment["CAREERLOG_POSTGRES_BIN"], !explicit.isEmpty { directories.append(explicit) }
        directories += (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        let debianRoot = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: debianRoot)) ?? []).compactMap(Int.init)
        directories += versions.sorted(by: >).map { "\(debianRoot)/\($0)/bin" }
        return directories
    }

    /// The installation in `directory`, if it has both programs; its version
    /// comes from `pg_ctl --version` ("pg_ctl (PostgreSQL) 15.14 (Debian ...)").
    private static func installation(in directory: String) throws(EmbeddedClusterError) -> PostgresInstallation? {
        guard access(directory + "/pg_ctl", X_OK) == 0, access(directory + "/initdb", X_OK) == 0 else { return nil }
        let probe = ChildProcess(label: "pg_ctl --version", executable: directory + "/pg_ctl", arguments: ["--version"], directory: "/")
        let outcome = try probe.run(timeoutSeconds: 10)
        guard outcome.status == 0, let version = outcome.output.split(separator: " ").first(where: { $0.first?.isNumber == true }),
              let major = Int(version.split(separator: ".")[0])
        else { return nil }
        return PostgresInstallation(binDirectory: directory, majorVersion: major)
    }
}
