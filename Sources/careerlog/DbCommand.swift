import ArgumentParser
import Foundation
import Postgres

/// `careerlog db ...`: the private PostgreSQL cluster that holds the read
/// models when no --database-url (or DATABASE_URL) is given.
struct DbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the private PostgreSQL cluster used when no --database-url is given.",
        discussion: """
            The cluster lives in <data-dir>/postgres and listens only on a Unix socket inside it. \
            Commands that need it start it on their own; it keeps running until `careerlog db stop`. \
            Connect with psql "$(careerlog db url)".
            """,
        subcommands: [DbStart.self, DbStop.self, DbStatus.self, DbURL.self])
}

struct DbStart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start the cluster (creating it on first use) and print its URL; does nothing more if it runs.")

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        print(try data.embeddedCluster.start())
    }
}

struct DbStop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop the cluster (open transactions are rolled back); does nothing if it is not running.")

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        try data.embeddedCluster.stop()
        print("stopped")
    }
}

struct DbStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print whether the cluster runs, its server's pid and its URL.",
        discussion: """
            Prints `running pid=PID url=URL`, `stopped url=URL` or `not-initialized directory=DIR`. \
            Exit status 0 when running, 3 otherwise (as pg_ctl status), so scripts can test it.
            """)

    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let cluster = data.embeddedCluster
        switch cluster.status() {
        case .running(let pid):
            print("running pid=\(pid) url=\(cluster.url)")
        case .stopped:
            print("stopped url=\(cluster.url)")
            throw ExitCode(3)
        case .notInitialized:
            print("not-initialized directory=\(cluster.directory)")
            throw ExitCode(3)
        }
    }
}

struct DbURL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "url",
        abstract: "Print the cluster's connection URL, for psql \"$(careerlog db url)\" and other clients.")

    @OptionGroup var data: DataDirectoryOptions

    func run() {
        let cluster = data.embeddedCluster
        print(cluster.url)
        if case .running = cluster.status() { return }
        printError("note: the cluster is not running; start it with careerlog db start")
    }
}
