/// One frame's entry in a segment's sparse index.
struct IndexEntry: Equatable, Sendable {
    static let size = 48

    var baseSeq: UInt64
    var offset: Int64
    var count: UInt32
    /// The frame's records before compression (for statistics).
    var rawLength: UInt32
    var firstRecorded: Int64
    var minEventTime: Int64
    var maxEventTime: Int64

    var lastSeq: UInt64 { baseSeq + UInt64(count) - 1 }

    init(header: FrameHeader, offset: Int64) {
        self.baseSeq = header.baseSeq
        self.offset = offset
        self.count = header.count
        self.rawLength = header.rawLength
        self.firstRecorded = header.firstRecorded
        self.minEventTime = header.minEventTime
        self.maxEventTime = header.maxEventTime
    }

    init(baseSeq: UInt64, offset: Int64, count: UInt32, rawLength: UInt32, firstRecorded: Int64, minEventTime: Int64, maxEventTime: Int64) {
        self.baseSeq = baseSeq
        self.offset = offset
        self.count = count
        self.rawLength = rawLength
        self.firstRecorded = firstRecorded
        self.minEventTime = minEventTime
        self.maxEventTime = maxEventTime
    }
}

/// The `.idx` file of a segment (FORMAT.md, "Sparse index"): derived, never
/// the source of truth, used only when it provably matches its segment.
enum SegmentIndexFile {
    static let headerSize = 40
    static let magic: UInt64 = 0x3130_3058_4449_4C43  // "CLIDX001" little-endian
    static let version: UInt32 = 1

    static func path(forSegment segmentPath: String) -> String {
        String(segmentPath.dropLast(".seg".count)) + ".idx"
    }

    static func encode(entries: [IndexEntry], segmentBase: UInt64, segmentLength: Int64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(headerSize + entries.count * IndexEntry.size)
        out.appendLE(magic)
        out.appendLE(version)
        out.appendLE(UInt32(entries.count))
        out.appendLE(segmentBase)
        out.appendLE(UInt64(segmentLength))
        out.appendLE(UInt32(0))  // crc, filled below
        out.appendLE(UInt32(0))
        for e in entries {
            out.appendLE(e.baseSeq)
            out.appendLE(UInt64(e.offset))
            out.appendLE(e.count)
            out.appendLE(e.rawLength)
            out.appendLE(UInt64(bitPattern: e.firstRecorded))
            out.appendLE(UInt64(bitPattern: e.minEventTime))
            out.appendLE(UInt64(bitPattern: e.maxEventTime))
        }
        let crc = checksum(out)
        out.withUnsafeMutableBytes { $0.storeLE(crc, at: 32) }
        return out
    }

    private static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { b in
            let head = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: b[0..<32]))
            return CRC32C.update(head, UnsafeRawBufferPointer(rebasing: b[headerSize...]))
        }
    }

    /// The entries, if `bytes` is an intact index built for exactly this
    /// segment (base seq and length); nil otherwise, and the caller rebuilds.
    static func decode(_ bytes: [UInt8], segmentBase: UInt64, segmentLength: Int64) -> [IndexEntry]? {
        guard let (entries, length) = decode(bytes, segmentBase: segmentBase), length == segmentLength else { return nil }
        return entries
    }

    /// The entries and the segment length an intact index was built for,
    /// whatever the segment's length is now (the newest segment may have
    /// grown since: its index then covers a prefix of it).
    static func decode(_ bytes: [UInt8], segmentBase: UInt64) -> (entries: [IndexEntry], length: Int64)? {
        guard bytes.count >= headerSize else { return nil }
        return bytes.withUnsafeBytes { b -> (entries: [IndexEntry], length: Int64)? in
            guard b.loadLE(UInt64.self, at: 0) == magic, b.loadLE(UInt32.self, at: 8) == version else { return nil }
            let count = Int(b.loadLE(UInt32.self, at: 12))
            let segmentLength = Int64(b.loadLE(UInt64.self, at: 24))
            guard b.loadLE(UInt64.self, at: 16) == segmentBase, segmentLength >= Int64(SegmentHeader.size),
                  bytes.count == headerSize + count * IndexEntry.size,
                  b.loadLE(UInt32.self, at: 32) == checksum(bytes)
            else { return nil }
            var entries: [IndexEntry] = []
            entries.reserveCapacity(count)
            var p = headerSize
            for _ in 0..<count {
                entries.append(IndexEntry(
                    baseSeq: b.loadLE(UInt64.self, at: p),
                    offset: Int64(b.loadLE(UInt64.self, at: p + 8)),
                    count: b.loadLE(UInt32.self, at: p + 16),
                    rawLength: b.loadLE(UInt32.self, at: p + 20),
                    firstRecorded: Int64(bitPattern: b.loadLE(UInt64.self, at: p + 24)),
                    minEventTime: Int64(bitPattern: b.loadLE(UInt64.self, at: p + 32)),
                    maxEventTime: Int64(bitPattern: b.loadLE(UInt64.self, at: p + 40))))
                p += IndexEntry.size
            }
            // Consistency: frames are contiguous in seq and increasing in offset.
            var expected = segmentBase
            var lastOffset = Int64(SegmentHeader.size) - 1
            for e in entries {
                guard e.count >= 1, e.baseSeq == expected, e.offset > lastOffset, e.offset < segmentLength else { return nil }
                expected = e.lastSeq + 1
                lastOffset = e.offset
            }
            return (entries, segmentLength)
        }
    }
}

extension Array where Element == IndexEntry {
    /// The index of the entry holding `seq`: the last entry whose base seq is
    /// at most `seq`. nil when `seq` precedes the first entry.
    func entryIndex(containing seq: UInt64) -> Int? {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if self[mid].baseSeq <= seq { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : low - 1
    }

    /// Where a reader looking for the first record with recorded >= `time`
    /// starts: the last entry whose first record is older than `time` (the
    /// wanted record may be inside it), else the first entry.
    func entryIndex(recordedAtLeast time: Int64) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if self[mid].firstRecorded < time { low = mid + 1 } else { high = mid }
        }
        return Swift.max(0, low - 1)
    }
}
