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

/// A file's device and inode number.
struct FileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
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

    /// The file's identity (device and inode): a recompressed segment is a
    /// new file under the old name, and readers tell them apart by this.
    func identity() throws(LogError) -> FileIdentity {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LogError(.io, FileIO.errorText("fstat"), file: path) }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// The checked header, once read (its dictionary goes to `decoder`).
    private var header: SegmentHeader?

    /// Reads and checks the segment header (and a version 2 or 3 segment's
    /// dictionary section).
    func readHeader(fileLength: Int64) throws(LogError) -> Result<SegmentHeader, DecodeFailure> {
        if let header { return .success(header) }
        // Its own buffer: a frame reader asks for the dictionary with a
        // frame header in `headerBuffer`.
        let segmentHeaderBuffer = RawBuffer()
        let n = min(Int(fileLength), SegmentHeader.size)
        let buffer = segmentHeaderBuffer.reserve(SegmentHeader.size)
        let got = try FileIO.pread(fd, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]), at: 0, path: path)
        let decoded: SegmentHeader
        switch SegmentHeader.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<got])) {
        case .failure(let failure): return .failure(failure)
        case .success(let h): decoded = h
        }
        if decoded.hasDictionary {
            let sectionLength = decoded.headerLength - SegmentHeader.size
            guard fileLength >= Int64(decoded.headerLength) else {
                return .failure(DecodeFailure(reason: "segment dictionary is incomplete", torn: true))
            }
            let section = segmentHeaderBuffer.reserve(sectionLength)
            let sectionGot = try FileIO.pread(fd, section, at: Int64(SegmentHeader.size), path: path)
            switch decoded.checkDictionary(UnsafeRawBufferPointer(rebasing: section[0..<sectionGot])) {
            case .failure(let failure): return .failure(failure)
            case .success(let d): decoder.load(dictionary: d)
            }
        }
        header = decoded
        return withExtendedLifetime(segmentHeaderBuffer) { .success(decoded) }
    }

    /// Where the first frame starts (after the header and any dictionary).
    func dataStart() throws(LogError) -> Result<Int64, DecodeFailure> {
        switch try readHeader(fileLength: try size()) {
        case .failure(let failure): return .failure(failure)
        case .success(let h): return .success(Int64(h.headerLength))
        }
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
        if header.usesDictionary, self.header == nil {
            // Readers that start at an index entry have not read the header yet.
            if case .failure(let failure) = try readHeader(fileLength: try size()) {
                return .failure(DecodeFailure(reason: "frame needs the segment dictionary: \(failure.reason)"))
            }
        }
        let result = decoder.rawPayload(header: header, headerBytes: UnsafeRawBufferPointer(headerBytes), stored: UnsafeRawBufferPointer(stored))
        switch result {
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

