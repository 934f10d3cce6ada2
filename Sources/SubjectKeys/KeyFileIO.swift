#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few system calls the key store makes, each turning `errno` into a
/// `KeyStoreError` that names the file.
enum KeyFileIO {
    static func errorText(_ call: String) -> String {
        "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(KeyStoreError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw KeyStoreError(.io, errorText("open"), file: path) }
        return fd
    }

    static func fileSize(_ fd: Int32, path: String) throws(KeyStoreError) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw KeyStoreError(.io, errorText("fstat"), file: path) }
        return Int64(info.st_size)
    }

    /// Reads exactly `buffer.count` bytes at `offset` (fewer only at the end of the file).
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(KeyStoreError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw KeyStoreError(.io, errorText("pread"), file: path, offset: offset + Int64(done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws(KeyStoreError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw KeyStoreError(.io, errorText("pwrite"), file: path, offset: offset + Int64(done))
            }
            done += n
        }
    }

    static func pwrite(_ fd: Int32, _ bytes: [UInt8], at offset: Int64, path: String) throws(KeyStoreError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(KeyStoreError) in try pwrite(fd, raw, at: offset, path: path) }
        }
        try result.get()
    }

    static func fdatasync(_ fd: Int32, path: String) throws(KeyStoreError) {
        guard Glibc.fdatasync(fd) == 0 else { throw KeyStoreError(.io, errorText("fdatasync"), file: path) }
    }

    static func fsync(_ fd: Int32, path: String) throws(KeyStoreError) {
        guard Glibc.fsync(fd) == 0 else { throw KeyStoreError(.io, errorText("fsync"), file: path) }
    }

    /// Makes a new, renamed or removed name in `path` durable.
    static func fsyncDirectory(_ path: String) throws(KeyStoreError) {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    static func truncate(_ fd: Int32, to length: Int64, path: String) throws(KeyStoreError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw KeyStoreError(.io, errorText("ftruncate"), file: path) }
    }

    /// Makes `path` (0700: only the owner lists the keys) and any missing
    /// parents (0755, as the log makes the data directory), like `mkdir -p`.
    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(KeyStoreError) {
        if mkdir(path, mode) == 0 || errno == EEXIST { return }
        guard errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
            throw KeyStoreError(.io, errorText("mkdir"), file: path)
        }
        try makeDirectory(String(path[..<slash]), mode: 0o755)
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw KeyStoreError(.io, errorText("mkdir"), file: path)
        }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func remove(_ path: String) throws(KeyStoreError) {
        if unlink(path) != 0 && errno != ENOENT { throw KeyStoreError(.io, errorText("unlink"), file: path) }
    }

    static func rename(_ from: String, _ to: String) throws(KeyStoreError) {
        guard Glibc.rename(from, to) == 0 else { throw KeyStoreError(.io, errorText("rename to \(to)"), file: from) }
    }

    /// Reads a whole small file (at most `bytesMax`).
    static func readSmallFile(_ path: String, bytesMax: Int) throws(KeyStoreError) -> [UInt8] {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        let size = try fileSize(fd, path: path)
        guard size <= Int64(bytesMax) else {
            throw KeyStoreError(.corruption, "file is \(size) bytes, more than the \(bytesMax) expected", file: path)
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let read = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(KeyStoreError) in try pread(fd, raw, at: 0, path: path) }
        }
        return Array(bytes[..<(try read.get())])
    }
}
