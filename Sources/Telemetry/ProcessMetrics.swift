import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The process metrics every Prometheus client exports, read from `/proc`
/// at scrape time (nothing is recorded in between).
///
/// The names are the standard `process_*` ones rather than `careerlog_*`:
/// they are what the Prometheus clients of every language export, so the
/// usual dashboards and alerts work on them unchanged.
public struct ProcessMetrics: Sendable, Equatable {
    public var residentMemoryBytes: Double
    public var virtualMemoryBytes: Double
    public var openFileDescriptors: Double
    public var maxFileDescriptors: Double
    /// Unix time the process started, in seconds.
    public var startTimeSeconds: Double
    /// User and system CPU time, in seconds.
    public var cpuSeconds: Double

    /// Reads this process' figures; nil where `/proc` is not there (not Linux).
    public static func read(procRoot: String = "/proc") -> ProcessMetrics? {
        guard let stat = try? String(contentsOfFile: "\(procRoot)/self/stat", encoding: .utf8),
              let fields = statFields(stat), fields.count > 22,
              let bootTime = bootTimeSeconds(procRoot: procRoot) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageBytes = Double(sysconf(Int32(_SC_PAGESIZE)))
        // Fields after the command, 0-based from field 3 ("state"):
        // utime 14, stime 15, starttime 22, vsize 23, rss 24 (1-based in proc(5)).
        func field(_ oneBased: Int) -> Double { Double(fields[oneBased - 3]) ?? 0 }
        var limits = rlimit()
        let maxFds = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 ? Double(limits.rlim_cur) : 0
        return ProcessMetrics(
            residentMemoryBytes: field(24) * pageBytes,
            virtualMemoryBytes: field(23),
            openFileDescriptors: Double(openDescriptors(procRoot: procRoot)),
            maxFileDescriptors: maxFds,
            startTimeSeconds: bootTime + field(22) / ticks,
            cpuSeconds: (field(14) + field(15)) / ticks)
    }

    /// The Prometheus text lines for these figures.
    public func exposition() -> String {
        func metric(_ name: String, _ type: String, _ help: String, _ value: Double) -> String {
            "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(MetricsExposition.number(value))\n"
        }
        return metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentMemoryBytes)
            + metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtualMemoryBytes)
            + metric("process_open_fds", "gauge", "Number of open file descriptors.", openFileDescriptors)
            + metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", maxFileDescriptors)
            + metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", startTimeSeconds)
            + metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpuSeconds)
    }

    /// The fields after `pid (comm)`: comm may hold spaces and parentheses,
    /// so split after the last ')'.
    static func statFields(_ stat: String) -> [Substring]? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
    }

    static func bootTimeSeconds(procRoot: String) -> Double? {
        guard let text = try? String(contentsOfFile: "\(procRoot)/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    static func openDescriptors(procRoot: String) -> Int {
        // The listing itself opens one descriptor; it is not counted after.
        (try? FileManager.default.contentsOfDirectory(atPath: "\(procRoot)/self/fd").count) ?? 0
    }
}
