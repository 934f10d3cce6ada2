import ArgumentParser
import Foundation

/// Where careerlog keeps its data: `--data-dir`, else `$CAREERLOG_DATA_DIR`,
/// else `./.careerlog`.
struct DataDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: ArgumentHelp(
        "The data directory (default: $CAREERLOG_DATA_DIR, else ./.careerlog).", valueName: "dir"))
    var dataDirectory: String?

    var path: String {
        if let dataDirectory { return dataDirectory }
        if let env = ProcessInfo.processInfo.environment["CAREERLOG_DATA_DIR"], !env.isEmpty { return env }
        return FileManager.default.currentDirectoryPath + "/.careerlog"
    }

    /// The event log lives in `<data-dir>/log`.
    var logDirectory: String { path + "/log" }
}

/// Log limits a user may set on the command line.
struct LogLimitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Seal a segment and start the next one at this size, in MiB.", valueName: "MiB"))
    var segmentMiB: Int = 256

    func validate() throws {
        guard segmentMiB >= 1, segmentMiB <= 64 * 1024 else {
            throw ValidationError("--segment-mib must be between 1 and 65536")
        }
    }
}
