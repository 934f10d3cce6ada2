import EventLog
import Foundation

/// The dedupe window saved at a clean stop, so the next start loads it in
/// a fraction of a second instead of reading up to `capacity` events back
/// from the log.
///
/// The file is the window's table as it is in memory, behind a header, with
/// a CRC-32C over everything; it is written to a temporary name, synced and
/// renamed, so a reader sees a whole snapshot or none. It is only a cache:
/// it is used when it checks out against the log (same capacity, its newest
/// seq still in the log with the same id, and no more than `capacity` events
/// behind the log's end, which are then read from the log), and otherwise
/// the window is rebuilt from the log as before. A log repaired or restored
/// from a backup since the snapshot fails the newest-seq check, so a
/// snapshot can never make an id a duplicate that the log does not hold.
///
///     header (72 bytes): magic "CLDEDUP1" (8), version 1 (4), reserved (4),
///                        capacity (8), newest seq (8), id at newest seq (16),
///                        slot count (8), ids held (8), hash version (4), reserved (4)
///     slots:             slot count x (id high 8, id low 8, seq 8)
///     ring:              capacity x slot number (4)
///     crc32c (4):        over everything before it
public enum DedupeSnapshot {
    static let magic = Array("CLDEDUP1".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 72

    /// Why a snapshot was not used (for the start-up log line).
    public struct Rejection: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Writes `window` to `path` atomically (temporary file, fsync, rename,
    /// fsync of the directory).
    public static func write(_ window: DedupeWindow, to path: String) throws {
        let newestID = window.newestID ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Rejection(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var crc: UInt32 = 0
        var failure: Int32 = 0
        func put(_ bytes: UnsafeRawBufferPointer) {
            guard failure == 0 else { return }
            crc = CRC32C.update(crc, bytes)
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, min(bytes.count - offset, 1 << 24))
                if n < 0 { if errno == EINTR { continue }; failure = errno; return }
                offset += n
            }
        }
        window.withStorage { header, slots, ring in
            var bytes = magic
            bytes.appendLittleEndian(version)
            bytes.appendLittleEndian(UInt32(0))
            bytes.appendLittleEndian(UInt64(header.capacity))
            bytes.appendLittleEndian(header.newest)
            withUnsafeBytes(of: newestID.uuid) { bytes.append(contentsOf: $0) }
            bytes.appendLittleEndian(UInt64(header.slotCount))
            bytes.appendLittleEndian(UInt64(header.used))
            bytes.appendLittleEndian(DedupeWindow.hashVersion)
            bytes.appendLittleEndian(UInt32(0))
            bytes.withUnsafeBytes { put($0) }
            put(slots)
            put(ring)
        }
        var trailer: [UInt8] = []
        trailer.appendLittleEndian(crc)
        trailer.withUnsafeBytes { bytes in
            guard failure == 0 else { return }
            if Glibc.write(fd, bytes.baseAddress!, 4) != 4 { failure = errno }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        guard failure == 0 else {
            unlink(temporary)
            throw Rejection(description: "cannot write \(temporary): \(String(cString: strerror(failure)))")
        }
        guard rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw Rejection(description: "cannot rename \(temporary): \(String(cString: strerror(error)))")
        }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { _ = fsync(directory); close(directory) }
    }

    /// The window saved at `path`, brought up to the end of `log`; throws a
    /// `Rejection` saying why when the snapshot cannot be used. The table is
    /// read straight into the window's arrays (no staging copy of the file).
    public static func load(from path: String, log: EventLog, capacity: Int) throws -> DedupeWindow {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Rejection(description: "no snapshot at \(path)") }
        defer { close(fd) }
        var size = stat()
        guard fstat(fd, &size) == 0 else { throw Rejection(description: "cannot stat \(path)") }
        var header = [UInt8](repeating: 0, count: headerBytes)
        try header.withUnsafeMutableBytes { try readFully(fd, $0, at: 0) }
        guard Array(header[0..<8]) == magic else { throw Rejection(description: "not a dedupe snapshot") }
        func u64(_ at: Int) -> UInt64 { header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian } }
        func u32(_ at: Int) -> UInt32 { header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian } }
        guard u32(8) == version, u32(64) == DedupeWindow.hashVersion else { throw Rejection(description: "another snapshot version") }
        guard u64(16) == UInt64(capacity) else { throw Rejection(description: "window capacity changed (\(u64(16)) -> \(capacity))") }
        let newest = u64(24)
        let newestID = header.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(fromByteOffset: 32, as: uuid_t.self)) }
        let slotCount = u64(48), used = u64(56)
        guard slotCount <= UInt64(Int.max / DedupeWindow.slotStride), used <= slotCount,
              Int64(headerBytes) + Int64(slotCount) * Int64(DedupeWindow.slotStride) + Int64(capacity) * 4 + 4 == Int64(size.st_size)
        else { throw Rejection(description: "length does not match its header") }
        try checkAgainstLog(log, newest: newest, newestID: newestID, capacity: capacity)
        var window = try DedupeWindow(capacity: capacity, newest: newest, used: Int(used), slotCount: Int(slotCount)) { slots, ring in
            try readFully(fd, slots, at: headerBytes)
            try readFully(fd, ring, at: headerBytes + slots.count)
            var trailer: UInt32 = 0
            try withUnsafeMutableBytes(of: &trailer) { try readFully(fd, $0, at: headerBytes + slots.count + ring.count) }
            var crc = header.withUnsafeBytes { CRC32C.update(0, $0) }
            crc = CRC32C.update(crc, UnsafeRawBufferPointer(slots))
            crc = CRC32C.update(crc, UnsafeRawBufferPointer(ring))
            guard crc == trailer.littleEndian else { throw Rejection(description: "checksum mismatch") }
        }
        let reader = log.reader(fromSeq: newest + 1)
        while let record = try reader.next() { window.insert(record.event.id, seq: record.seq) }
        return window
    }

    private static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw Rejection(description: n == 0 ? "snapshot ends early" : "cannot read: \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    /// The snapshot's newest seq must still be in the log with the same id,
    /// and the log must not have moved on by a whole window since.
    private static func checkAgainstLog(_ log: EventLog, newest: UInt64, newestID: UUID, capacity: Int) throws {
        guard newest > 0 else { return }
        guard newest <= log.lastSeq else { throw Rejection(description: "the log ends at seq \(log.lastSeq), before the snapshot's \(newest)") }
        guard log.lastSeq - newest < UInt64(capacity) else { throw Rejection(description: "the log moved on by a whole window since") }
        let record = try log.reader(fromSeq: newest).next()
        guard let record, record.seq == newest, record.event.id == newestID else {
            throw Rejection(description: "seq \(newest) of the log is not the event the snapshot saw")
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
