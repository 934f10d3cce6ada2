import ArgumentParser
import Foundation
import Postgres
import Projector
import Runtime

/// `careerlog db ...`: the private PostgreSQL cluster that holds the read
/// models when no --database-url (or DATABASE_URL) is given.
struct DbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the private PostgreSQL cluster used when no --database-url is given.",
        discussion: """
            The cluster lives in <data-dir>/postgres and listens only on a Unix socket inside it; its log is \
            <data-dir>/postgres/log/server-HH.log (one file per hour of the day, at most 24). \
            A command that needs it starts it and stops it again when it ends, unless it was already running \
            or --keep-db is given; `careerlog serve` stops the cluster it started when it stops. \
            `careerlog db start` starts it to keep it running until `careerlog db stop`. \
            Connect with psql "$(careerlog db url)".
            """,
        subcommands: [DbStart.self, DbStop.self, DbStatus.self, DbURL.self, DbGrantAnalyst.self])
}

/// `--database-url` for the db commands that can answer about any server.
struct DatabaseURLOption: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "Answer about this PostgreSQL (URL or libpq connection string) instead of the private cluster (default: $DATABASE_URL).",
        valueName: "url"))
    var databaseURL: String?

    var configuredURL: String? { EnvironmentSettings.databaseURL(option: databaseURL) }
}

struct DbStart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start the cluster (creating it on first use) and print its URL; it keeps running until `careerlog db stop`.")

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        print(try data.embeddedCluster.start(startedBy: EmbeddedClusterLease.starter).url)
    }
}

struct DbStop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop the cluster (open transactions are rolled back); does nothing if it is not running.",
        discussion: "Prints `stopped` or `not running`; exit status 1 when the data directory has no cluster.")

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let cluster = data.embeddedCluster
        switch cluster.status() {
        case .notInitialized:
            printError(cluster.notInitializedMessage("nothing to stop"))
            throw ExitCode(1)
        case .stopped:
            print("not running")
        case .running:
            try cluster.stop()
            print("stopped")
        }
    }
}

struct DbStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print whether the cluster runs, its server's pid, its URL and who started it.",
        discussion: """
            Prints `running pid=PID url=URL started-by=WHO`, `stopped url=URL` or `not-initialized directory=DIR`; \
            with --database-url (or DATABASE_URL): `reachable` or `unreachable` and the server's address. \
            Exit status 0 when running, 3 otherwise (as pg_ctl status), so scripts can test it.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseURLOption

    func run() throws {
        if let url = database.configuredURL { return try external(url) }
        let cluster = data.embeddedCluster
        let (status, line) = cluster.statusLine()
        print(line)
        if case .running = status { return }
        if status == .notInitialized { printError(cluster.notInitializedMessage("nothing to report")) }
        throw ExitCode(3)
    }

    /// A configured server: whether it answers. The URL is not printed (it
    /// may hold a password); the server's host and port are.
    private func external(_ url: String) throws {
        do {
            print("reachable server=\(try PostgresConnection(url: url).serverAddress()) (--database-url or DATABASE_URL; not the private cluster)")
        } catch {
            print("unreachable (--database-url or DATABASE_URL): \(error)")
            throw ExitCode(3)
        }
    }
}

struct DbURL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "url",
        abstract: "Print the cluster's connection URL, for psql \"$(careerlog db url)\" and other clients.",
        discussion: "With --database-url (or DATABASE_URL) prints that URL. Exit status 1 when the data directory has no cluster.")

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseURLOption

    func run() throws {
        if let url = database.configuredURL {
            print(url)
            return
        }
        let cluster = data.embeddedCluster
        switch cluster.status() {
        case .notInitialized:
            printError(cluster.notInitializedMessage("no URL to give"))
            throw ExitCode(1)
        case .stopped:
            print(cluster.url)
            printError("note: the cluster is not running; start it with `careerlog db start`")
        case .running:
            print(cluster.url)
        }
    }
}

struct DbGrantAnalyst: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant-analyst",
        abstract: "Make a PostgreSQL role that reads the analytics and every read model but no PII column.",
        discussion: """
            Creates the role when missing (LOGIN, no password: the server's pg_hba.conf decides how it signs in; \
            the private cluster trusts its Unix socket, which only the data directory's owner can reach). \
            It may read careerlog.projection_targets and every column of every read model except those marked PII \
            (and any view built on one); reading a PII column is a permission error. Schemas built later \
            (rebuilds, as-of builds) are granted to it too. To remove one: DROP OWNED BY NAME; DROP ROLE NAME.
            """)

    @Argument(help: ArgumentHelp("The role's name: a-z, 0-9 and '_', starting with a letter or '_'.", valueName: "name"))
    var name: String
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if let problem = AnalystRoles.problem(name: name, owner: nil) { throw ValidationError(problem) }
    }

    func run() throws {
        let outcome = try AnalystRoles.grant(try PostgresConnection(url: try database.connectionURL(data: data)), name: name)
        print("\(outcome.created ? "created" : "updated") analyst role \(name): reads careerlog.projection_targets and the non-PII columns of "
              + (outcome.schemas.isEmpty ? "every schema the projector builds" : outcome.schemas.joined(separator: ", ")))
    }
}
