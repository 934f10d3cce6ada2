import ArgumentParser
import EventLog
import Foundation
import Ingest
import Postgres
import Replay
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// Where careerlog keeps its data: `--data-dir`, else `$CAREERLOG_DATA_DIR`,
/// else `./.careerlog`.
struct DataDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: ArgumentHelp(
        "The data directory (default: $CAREERLOG_DATA_DIR, else ./.careerlog).", valueName: "dir"))
    var dataDirectory: String?

    /// The directory these options name, and its parts (`Runtime.DataDirectory`).
    var layout: DataDirectory { DataDirectory(option: dataDirectory) }
    var path: String { layout.path }
    var logDirectory: String { layout.logDirectory }
    var embeddedCluster: EmbeddedCluster { layout.embeddedCluster }

    /// A data directory that is a file cannot hold anything: say so before
    /// a command trips over it.
    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return }
        let source = dataDirectory != nil ? "--data-dir" : "the data directory"
        throw ValidationError("\(source) \(path) is a file, not a directory: give a directory (it is created when missing)")
    }
}

/// Log limits a user may set on the command line.
struct LogLimitOptions: ParsableArguments {
    @Option(name: .customLong("segment-mib"),
            help: ArgumentHelp("Seal a segment and start the next one at this size, in MiB.", valueName: "mib"))
    var segmentMiB: Int = 256

    func validate() throws {
        guard segmentMiB >= 1, segmentMiB <= 64 * 1024 else {
            throw ValidationError("--segment-mib must be between 1 and 65536")
        }
    }

    var logLimits: LogLimits { LogLimits(segmentBytesMax: segmentMiB << 20) }
}

/// --dedupe-window, for `serve` and `log import`.
struct DedupeWindowOption: ParsableArguments {
    @Option(name: .customLong("dedupe-window"), help: ArgumentHelp(
        "How many of the newest events' ids are remembered to detect duplicates.", valueName: "events"))
    var events: Int = 10_000_000

    func validate() throws {
        guard events >= 1 else { throw ValidationError("--dedupe-window must be at least 1") }
    }
}

/// Checks an input file argument before anything runs, so a mistake shows
/// the subcommand's usage and names the file: it must exist, be readable
/// and not be a directory. "-" (stdin) always passes.
func validateInputFile(_ file: String) throws {
    guard file != "-" else { return }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
        throw ValidationError("cannot read \(file): No such file or directory; give an NDJSON file, or - for stdin")
    }
    if isDirectory.boolValue {
        throw ValidationError("\(file) is a directory; give an NDJSON file, or - for stdin")
    }
    guard access(file, R_OK) == 0 else {
        throw ValidationError("cannot read \(file): \(String(cString: strerror(errno)))")
    }
}

/// Opens an input file argument checked by `validateInputFile`: its
/// descriptor, or 0 for "-" (stdin). The caller closes a non-zero one.
func openInputFile(_ file: String) throws -> Int32 {
    guard file != "-" else { return 0 }
    let fd = open(file, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw ValidationError("cannot open \(file): \(String(cString: strerror(errno)))") }
    return fd
}

/// A library's refusal of a value given on the command line; `message`
/// names the option and says what is wrong.
protocol OptionValueError: Error { var message: String { get } }

extension IngestConfigurationError: OptionValueError {}
extension ReplayError: OptionValueError {}
extension EmitClient.TokenFileError: OptionValueError {}

/// The one way such a refusal becomes a usage error (the subcommand's
/// usage, then the message); any other error passes through unchanged.
func checkingOption<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as OptionValueError { throw ValidationError(error.message) }
}
