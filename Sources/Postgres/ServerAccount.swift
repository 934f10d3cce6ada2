import Foundation

/// The account that runs initdb, pg_ctl and the server.
///
/// PostgreSQL refuses to run as root. So when careerlog runs as root, the
/// cluster belongs to an unprivileged account and every helper runs through
/// `runuser -u <account> --`: the account that already owns an existing
/// cluster, else `postgres` (Debian's `postgresql` package creates it).
/// Otherwise everything runs as the current user.
enum ServerAccount: Equatable {
    case currentUser
    case other(name: String, uid: uid_t, gid: gid_t)

    /// The default account for a new cluster created by root.
    static let defaultName = "postgres"

    static func choose(dataDirectory: String) throws(EmbeddedClusterError) -> ServerAccount {
        guard geteuid() == 0 else { return .currentUser }
        var info = stat()
        if stat(dataDirectory, &info) == 0, info.st_uid != 0, let entry = getpwuid(info.st_uid) {
            return .other(name: String(cString: entry.pointee.pw_name), uid: info.st_uid, gid: entry.pointee.pw_gid)
        }
        guard let entry = getpwnam(defaultName) else {
            throw EmbeddedClusterError(code: .directory, message: """
                careerlog runs as root, PostgreSQL refuses to, and there is no '\(defaultName)' account to run it as: \
                install the postgresql package (Tools/setup.sh), run careerlog as an ordinary user, or pass --database-url
                """)
        }
        return .other(name: defaultName, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// `program arguments` as this account runs it.
    func command(label: String, _ program: String, _ arguments: [String], directory: String) throws(EmbeddedClusterError) -> ChildProcess {
        switch self {
        case .currentUser:
            return ChildProcess(label: label, executable: program, arguments: arguments, directory: directory)
        case .other(let name, _, _):
            let places: [String] = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
            guard let runuser = places.first(where: { access($0, X_OK) == 0 }) else {
                throw EmbeddedClusterError(code: .postgresNotInstalled, message: "careerlog runs as root and needs runuser (util-linux) to run PostgreSQL as '\(name)'")
            }
            return ChildProcess(label: label, executable: runuser, arguments: ["-u", name, "--", program] + arguments, directory: directory)
        }
    }

    /// Gives `path` to this account (a no-op for the current user).
    func own(_ path: String) throws(EmbeddedClusterError) {
        guard case .other(let name, let uid, let gid) = self else { return }
        guard chown(path, uid, gid) == 0 else {
            throw EmbeddedClusterError(code: .directory, message: "cannot give \(path) to '\(name)': \(String(cString: strerror(errno)))")
        }
    }

    /// Fails clearly when this account cannot write `directory`, typically
    /// because a parent such as /root is closed to other users.
    func checkCanWrite(_ directory: String) throws(EmbeddedClusterError) {
        guard case .other(let name, _, _) = self else { return }
        let probe = try command(label: "access check", "/bin/sh", ["-c", "test -w \"$1\" && test -x \"$1\"", "sh", directory], directory: "/")
        guard try probe.run(timeoutSeconds: 10).status == 0 else {
            throw EmbeddedClusterError(code: .directory, message: """
                PostgreSQL runs as '\(name)' (it refuses to run as root), and '\(name)' cannot reach \(directory): \
                every parent directory must be searchable by it. Use a --data-dir outside such a directory (/root is closed), \
                or pass --database-url
                """)
        }
    }
}
