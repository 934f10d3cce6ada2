#if canImport(Glibc)
import Glibc
#endif

/// Segment file names: the first seq, zero-padded to 20 digits, so they sort.
enum SegmentName {
    static let suffix = ".seg"

    static func fileName(baseSeq: UInt64) -> String {
        let digits = String(baseSeq)
        return String(repeating: "0", count: 20 - digits.count) + digits + suffix
    }

    /// The base seq of a segment file name, or nil for any other file.
    static func baseSeq(of name: String) -> UInt64? {
        guard name.hasSuffix(suffix), name.utf8.count == 20 + suffix.utf8.count else { return nil }
        let digits = name.prefix(20)
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }
}

/// Reads frames out of one segment file: the decoding half of the log,
/// shared by readers, recovery and verify (it never writes).
///
/// Telling a torn tail from corruption is the caller's business; this type
/// only says, for a given offset, "here is a good frame" or "the bytes there
/// are not one, and this is why".
final class SegmentFile {
    let path: String
    let fd: Int32
    let limits: LogLimits
    private let headerBuffer = RawBuffer()
    private let storedBuffer = RawBuffer()
    private let decoder = FrameDecoder()

    init(path: String, limits: LogLimits) throws(LogError) {
        self.path = path
        self.limits = limits
        self.fd = try FileIO.open(path, flags: O_RDONLY)
    }

    deinit { close(fd) }

    func size() throws(LogError) -> Int64 {
        try FileIO.fileSize(fd, path: path)
    }

    /// Reads and checks the segment header.
    func readHeader(fileLength: Int64) throws(LogError) -> Result<SegmentHeader, DecodeFailure> {
        let n = min(Int(fileLength), SegmentHeader.size)
        let buffer = headerBuffer.reserve(SegmentHeader.size)
        let got = try FileIO.pread(fd, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]), at: 0, path: path)
        return SegmentHeader.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
    }

    /// A frame read from disk: its header and its decompressed records,
    /// valid until the next read on this file.
    struct Frame {
        var header: FrameHeader
        var offset: Int64
        var records: UnsafeRawBufferPointer
        var end: Int64 { offset + Int64(header.frameLength) }
    }

    /// Reads the frame at `offset`, which must end at or before `end`, and
    /// checks everything: header, lengths, CRC, decompression, and that the
    /// records agree with the header (count and seqs). I/O errors throw;
    /// bad bytes are a `.failure`.
    func readFrame(at offset: Int64, end: Int64) throws(LogError) -> Result<Frame, DecodeFailure> {
        guard end - offset >= Int64(FrameHeader.size) else {
            return .failure(DecodeFailure(reason: "file ends inside a frame header", torn: true))
        }
        let headerBytes = headerBuffer.reserve(FrameHeader.size)
        let got = try FileIO.pread(fd, headerBytes, at: offset, path: path)
        guard got == FrameHeader.size else {
            return .failure(DecodeFailure(reason: "file ends inside a frame header", torn: true))
        }
        let header: FrameHeader
        switch FrameHeader.decode(UnsafeRawBufferPointer(headerBytes), limits: limits) {
        case .success(let h): header = h
        case .failure(let f): return .failure(f)
        }
        guard offset + Int64(header.frameLength) <= end else {
            return .failure(DecodeFailure(reason: "file ends inside a frame payload", torn: true))
        }
        let stored = storedBuffer.reserve(Int(header.storedLength))
        let storedGot = try FileIO.pread(fd, stored, at: offset + Int64(FrameHeader.size), path: path)
        guard storedGot == stored.count else {
            return .failure(DecodeFailure(reason: "file ends inside a frame payload", torn: true))
        }
        switch decoder.rawPayload(header: header, headerBytes: UnsafeRawBufferPointer(headerBytes), stored: UnsafeRawBufferPointer(stored)) {
        case .failure(let f):
            return .failure(f)
        case .success(let records):
            if let problem = RecordCodec.check(records, header: header) {
                return .failure(DecodeFailure(reason: problem))
            }
            return .success(Frame(header: header, offset: offset, records: records))
        }
    }

    /// Whether any complete, valid frame starts after `offset` (exclusive)
    /// and before `end`. Recovery asks this to tell a torn tail (nothing good
    /// follows) from damage in the middle (something good follows).
    func validFrameExists(after offset: Int64, end: Int64) throws(LogError) -> Int64? {
        let chunkSize = 4 << 20
        let chunk = RawBuffer()
        var position = offset + 1
        let magic = withUnsafeBytes(of: FrameHeader.magic.littleEndian) { Array($0) }
        while position + Int64(FrameHeader.size) <= end {
            let want = Int(min(Int64(chunkSize), end - position))
            let buffer = chunk.reserve(want)
            let got = try FileIO.pread(fd, buffer, at: position, path: path)
            guard got >= 4 else { break }
            var i = 0
            while i + 4 <= got {
                if buffer[i] == magic[0], buffer[i + 1] == magic[1], buffer[i + 2] == magic[2], buffer[i + 3] == magic[3] {
                    if case .success = try readFrame(at: position + Int64(i), end: end) {
                        return position + Int64(i)
                    }
                }
                i += 1
            }
            // Overlap by 3 bytes so a magic split across chunks is seen.
            position += Int64(max(1, got - 3))
        }
        return nil
    }
}

