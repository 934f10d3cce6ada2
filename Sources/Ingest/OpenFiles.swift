import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The process's descriptors, as the connection limit sees them: each
/// connection costs one, and the log must always be able to open the few it
/// needs (a roll opens a segment, an index temporary file and the directory).
enum OpenFiles {
    /// RLIM_INFINITY (all bits set; the C macro does not import as a constant).
    private static let unlimited = rlim_t.max

    /// The soft and hard RLIMIT_NOFILE.
    static func limit() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (1024, 1024) }
        return (clamp(limit.rlim_cur), clamp(limit.rlim_max))
    }

    /// Raises the soft limit to the hard one: the common default of 1,024
    /// is far below what a server with `connectionsMax` connections needs,
    /// and the hard limit is what the administrator allows.
    static func raiseSoftLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let before = limit.rlim_cur
        // An unlimited hard limit still stops at the kernel's nr_open.
        limit.rlim_cur = limit.rlim_max == unlimited ? rlim_t(1 << 20) : limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
            logger.warning("cannot raise the open-file limit", metadata: [
                "files.soft_limit": "\(before)", "files.hard_limit": "\(limit.rlim_max)", "error": "\(String(cString: strerror(errno)))",
            ])
        }
    }

    /// Descriptors open now (entries of /proc/self/fd, less the one used to
    /// list them); the highest descriptor number where /proc is missing.
    static func inUse() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 64 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return max(0, count - 1)
    }

    /// `limits.connectionsMax`, lowered to what the open-file limit leaves
    /// after the descriptors in use, the listeners to come and the reserve.
    static func connectionsMax(limits: IngestLimits, listeners: Int, logger: Logger) throws(IngestConfigurationError) -> Int {
        let (soft, _) = limit()
        let used = inUse() + listeners
        let available = soft - used - limits.descriptorsReserved
        guard available >= 1 else {
            throw IngestConfigurationError(message: "the open-file limit (\(soft)) leaves no descriptor for connections: "
                + "\(used) are in use and \(limits.descriptorsReserved) are kept for the log; raise it (ulimit -n)")
        }
        let effective = min(limits.connectionsMax, available)
        var metadata: Logger.Metadata = [
            "connections.max": "\(effective)", "files.soft_limit": "\(soft)", "files.in_use": "\(used)",
            "files.reserved": "\(limits.descriptorsReserved)",
        ]
        if effective < limits.connectionsMax {
            metadata["connections.configured_max"] = "\(limits.connectionsMax)"
            logger.warning("the open-file limit lowers the connection limit", metadata: metadata)
        } else {
            logger.info("connection limit", metadata: metadata)
        }
        return effective
    }

    private static func clamp(_ value: rlim_t) -> Int {
        value == unlimited || value > rlim_t(Int.max) ? Int.max / 2 : Int(value)
    }
}
