#if canImport(Glibc)
import Glibc
#endif

/// `<log>/DURABLE`: where the appender's last `fdatasync` ended, so that
/// readers in other processes (replay, a projector run apart from `serve`)
/// read only durable events, never a frame that is written but not yet
/// synced (it could vanish in a power cut).
///
///     offset  field
///     0       magic "CLDM"
///     4       reserved, 0
///     8       segment base seq: the newest segment
///     16      durable length of that segment, in bytes
///     24      last durable seq
///     32      CRC-32C of bytes 0..<32
///
/// Written after every sync and roll, after recovery and by a repair, always
/// after the `fdatasync` it reports, so it never leads the truth. Fsynced at
/// a clean close, at a roll and by a repair (not after every sync): after a
/// power cut it may lag. Recovery trusts it: damage at or before it is
/// corruption, never a torn tail (FORMAT.md, "Recovery on open"). A reader retries a read whose CRC does not
/// match (it raced a write). Missing file: no limit (a log written before
/// the mark existed, or never opened by an appender).
struct DurableMark: Equatable {
    static let fileName = "DURABLE"
    static let size = 36
    static let magic: UInt32 = 0x4D44_4C43  // "CLDM" little-endian

    var segmentBase: UInt64
    var length: Int64
    var lastSeq: UInt64

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.size)
        out.appendLE(Self.magic)
        out.appendLE(UInt32(0))
        out.appendLE(segmentBase)
        out.appendLE(UInt64(length))
        out.appendLE(lastSeq)
        out.appendLE(CRC32C.checksum(out))
        return out
    }

    static func decode(_ bytes: [UInt8]) -> DurableMark? {
        guard bytes.count == size else { return nil }
        return bytes.withUnsafeBytes { b in
            guard b.loadLE(UInt32.self, at: 0) == magic,
                  b.loadLE(UInt32.self, at: 32) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<32])) else { return nil }
            return DurableMark(segmentBase: b.loadLE(UInt64.self, at: 8), length: Int64(b.loadLE(UInt64.self, at: 16)),
                               lastSeq: b.loadLE(UInt64.self, at: 24))
        }
    }

    /// The mark, or nil when there is none. A torn read (a write in
    /// progress) is retried; a file that never decodes counts as none.
    static func read(directory: String) -> DurableMark? {
        let path = directory + "/" + fileName
        guard let fd = try? FileIO.open(path, flags: O_RDONLY) else { return nil }
        defer { close(fd) }
        for _ in 0..<8 {
            var bytes = [UInt8](repeating: 0, count: size)
            let n = bytes.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress!, size, 0) }
            if n == size, let mark = decode(bytes) { return mark }
            usleep(100)
        }
        return nil
    }

    /// How many bytes of segment `base` (of `size` bytes) a reader may read.
    func readableLength(ofSegment base: UInt64, size: Int64) -> Int64 {
        if base == segmentBase { return min(size, length) }
        // Created after the last mark: nothing in it is known durable yet.
        if base > segmentBase { return min(size, Int64(SegmentHeader.size)) }
        return size  // sealed before the mark: all durable
    }
}

/// The appender's handle on `DURABLE`.
final class DurableMarkWriter {
    private let fd: Int32
    private let path: String

    init(directory: String) throws(LogError) {
        path = directory + "/" + DurableMark.fileName
        fd = try FileIO.open(path, flags: O_RDWR | O_CREAT)
    }

    deinit { close(fd) }

    func write(_ mark: DurableMark) throws(LogError) {
        try FileIO.pwrite(fd, mark.encoded(), at: 0, path: path)
    }

    /// Makes the last mark written survive a power cut (clean close, roll,
    /// repair): after one, recovery knows at least that much was durable.
    func sync() throws(LogError) {
        try FileIO.fdatasync(fd, path: path)
    }
}
