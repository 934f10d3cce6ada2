#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A growable byte buffer with a stable address, for frame reads and
/// decompression: allocated once per reader and reused, never per event.
final class RawBuffer {
    private var storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    deinit { storage.deallocate() }

    /// The first `count` bytes, growing the buffer when needed. Contents are
    /// not preserved across growth.
    func reserve(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if storage.count < count {
            storage.deallocate()
            storage = .allocate(byteCount: max(count, 64 << 10), alignment: 16)
        }
        return UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
    }
}

/// Thin, error-checked wrappers over the POSIX calls the log needs. Every
/// failure becomes a `LogError` naming the file and the call.
enum FileIO {
    static func errorText(_ call: String) -> String {
        "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(LogError) -> Int32 {
        if let injected = FaultInjection.take(.open) {
            errno = injected
            throw LogError(.io, errorText("open"), file: path)
        }
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw LogError(.io, errorText("open"), file: path) }
        return fd
    }

    static func fileSize(_ fd: Int32, path: String) throws(LogError) -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LogError(.io, errorText("fstat"), file: path) }
        return Int64(st.st_size)
    }

    /// Reads up to `buffer.count` bytes at `offset`; fewer only at end of file.
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(LogError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw LogError(.io, errorText("pread"), file: path, offset: offset + Int64(done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes` at `offset`.
    static func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws(LogError) {
        if let injected = FaultInjection.take(.pwrite) {
            errno = injected
            throw LogError(.io, errorText("pwrite"), file: path, offset: offset)
        }
        var done = 0
        while done < bytes.count {
            let n = Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw LogError(.io, errorText("pwrite"), file: path, offset: offset + Int64(done))
            }
            done += n
        }
    }

    static func fdatasync(_ fd: Int32, path: String) throws(LogError) {
        if let injected = FaultInjection.take(.fdatasync) {
            errno = injected
            throw LogError(.io, errorText("fdatasync"), file: path)
        }
        guard Glibc.fdatasync(fd) == 0 else { throw LogError(.io, errorText("fdatasync"), file: path) }
    }

    static func fsync(_ fd: Int32, path: String) throws(LogError) {
        guard Glibc.fsync(fd) == 0 else { throw LogError(.io, errorText("fsync"), file: path) }
    }

    /// Makes a directory entry (a new or renamed file) durable.
    static func fsyncDirectory(_ path: String) throws(LogError) {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { Glibc.close(fd) }
        try fsync(fd, path: path)
    }

    static func truncate(_ fd: Int32, to length: Int64, path: String) throws(LogError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw LogError(.io, errorText("ftruncate"), file: path, offset: length) }
    }

    static func makeDirectory(_ path: String) throws(LogError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw LogError(.io, "exists and is not a directory", file: path) }
            return
        }
        // Create parents first (mkdir -p).
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]))
        }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw LogError(.io, errorText("mkdir"), file: path) }
    }

    /// The names in a directory (no `.`/`..`), sorted.
    static func list(_ path: String) throws(LogError) -> [String] {
        guard let dir = opendir(path) else { throw LogError(.io, errorText("opendir"), file: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Writes `bytes` to `path` atomically: temporary file, fsync, rename,
    /// fsync of the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String) throws(LogError) {
        let temporary = path + ".tmp"
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try pwrite(fd, bytes, at: 0, path: temporary)
            try fsync(fd, path: temporary)
        } catch {
            // Its blocks go back to a disk that may be full.
            Glibc.close(fd)
            unlink(temporary)
            throw error
        }
        Glibc.close(fd)
        guard rename(temporary, path) == 0 else { throw LogError(.io, errorText("rename"), file: path) }
        try fsyncDirectory(directory)
    }
}

/// Tests: make the next calls of a system call fail with a chosen `errno`,
/// for failures a test cannot cause for real (an `fdatasync` that reports a
/// lost write-back). One relaxed atomic load per call when nothing is armed.
enum FaultInjection {
    enum Call: Hashable, Sendable { case open, pwrite, fdatasync }

    private static let armed = Atomic<Bool>(false)
    private static let faults = Mutex<[Call: (errno: Int32, count: Int)]>([:])

    /// The next `count` calls of `call` fail with `errno`.
    static func arm(_ call: Call, errno: Int32, count: Int = 1) {
        faults.withLock { $0[call] = (errno, count) }
        armed.store(true, ordering: .releasing)
    }

    static func disarm() {
        faults.withLock { $0.removeAll() }
        armed.store(false, ordering: .releasing)
    }

    /// The errno to fail this call with, if one is armed.
    static func take(_ call: Call) -> Int32? {
        guard armed.load(ordering: .acquiring) else { return nil }
        return faults.withLock { faults -> Int32? in
            guard let fault = faults[call], fault.count > 0 else { return nil }
            faults[call] = fault.count > 1 ? (fault.errno, fault.count - 1) : nil
            return fault.errno
        }
    }
}
