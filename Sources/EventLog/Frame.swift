/// The 32-byte header at the start of every segment (FORMAT.md, "Segment"),
/// and in a version 2 (recompressed) segment the dictionary section after it.
struct SegmentHeader: Equatable {
    static let size = 32
    static let magic: UInt64 = 0x474C_5245_4552_4143  // "CAREERLG" little-endian
    static let version: UInt32 = 1
    /// A sealed segment recompressed with a dictionary (FORMAT.md, "Recompressed segments").
    static let versionWithDictionary: UInt32 = 2
    /// Like version 2, with packed frames (codec 3) among its frames: a
    /// binary that predates packing then refuses the segment at its header,
    /// when it opens the log, instead of at the first such frame.
    static let versionWithPackedFrames: UInt32 = 3
    /// The newest version this code reads.
    static let newestVersion = versionWithPackedFrames
    /// Dictionary length and its CRC, in front of the dictionary.
    static let dictionaryPrefixSize = 8

    var baseSeq: UInt64
    var version: UInt32 = SegmentHeader.version
    /// Where the first frame starts: 32, or 40 + the dictionary's length.
    var headerLength: Int = SegmentHeader.size

    /// Versions 2 and 3 carry a dictionary section after the 32 bytes.
    var hasDictionary: Bool { version == SegmentHeader.versionWithDictionary || version == SegmentHeader.versionWithPackedFrames }

    var dictionaryLength: Int { hasDictionary ? headerLength - SegmentHeader.size - SegmentHeader.dictionaryPrefixSize : 0 }

    func encoded() -> [UInt8] {
        encoded(dictionary: nil)
    }

    /// A version 1 header, or with `dictionary` a version 2 header (3 when
    /// `packedFrames`) followed by the dictionary section.
    func encoded(dictionary: [UInt8]?, packedFrames: Bool = false) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(SegmentHeader.size + (dictionary.map { $0.count + SegmentHeader.dictionaryPrefixSize } ?? 0))
        out.appendLE(SegmentHeader.magic)
        if let dictionary {
            out.appendLE(packedFrames ? SegmentHeader.versionWithPackedFrames : SegmentHeader.versionWithDictionary)
            out.appendLE(UInt32(SegmentHeader.size + SegmentHeader.dictionaryPrefixSize + dictionary.count))
        } else {
            out.appendLE(SegmentHeader.version)
            out.appendLE(UInt32(SegmentHeader.size))
        }
        out.appendLE(baseSeq)
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        out.appendLE(crc)
        out.appendLE(UInt32(0))
        if let dictionary {
            out.appendLE(UInt32(dictionary.count))
            out.appendLE(dictionary.withUnsafeBytes { CRC32C.checksum($0) })
            out.append(contentsOf: dictionary)
        }
        return out
    }

    /// Decodes and checks a segment header (the first 32 bytes; the
    /// dictionary section is checked by `checkDictionary`).
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<SegmentHeader, DecodeFailure> {
        guard bytes.count >= size else { return .failure(DecodeFailure(reason: "segment header is incomplete", torn: true)) }
        guard bytes.loadLE(UInt64.self, at: 0) == magic else { return .failure(DecodeFailure(reason: "bad segment magic")) }
        let crc = bytes.loadLE(UInt32.self, at: 24)
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<24])) == crc else {
            return .failure(DecodeFailure(reason: "segment header checksum mismatch"))
        }
        guard bytes.loadLE(UInt32.self, at: 28) == 0 else {
            return .failure(DecodeFailure(reason: "segment header reserved bytes are not zero"))
        }
        let version = bytes.loadLE(UInt32.self, at: 8)
        let headerLength = Int(bytes.loadLE(UInt32.self, at: 12))
        // Versions 2 and 3: a dictionary section of 1 byte to 64 KiB.
        let dictionarySectionFits = headerLength > size + dictionaryPrefixSize && headerLength <= size + dictionaryPrefixSize + LZ4.dictionaryBytesMax
        switch version {
        case SegmentHeader.version where headerLength == size:
            break
        case versionWithDictionary where dictionarySectionFits, versionWithPackedFrames where dictionarySectionFits:
            break
        case (newestVersion + 1)...:
            return .failure(DecodeFailure(reason: "segment format version \(version) is newer than this careerlog reads (1 to \(newestVersion)): "
                                          + "the log was written by a newer careerlog; run that one, and do not repair the log with this one"))
        default:
            return .failure(DecodeFailure(reason: "unsupported segment format version \(version) (header length \(headerLength))"))
        }
        return .success(SegmentHeader(baseSeq: bytes.loadLE(UInt64.self, at: 16), version: version, headerLength: headerLength))
    }

    /// Checks the dictionary section (`bytes` = header bytes 32..<headerLength)
    /// and returns the dictionary.
    func checkDictionary(_ bytes: UnsafeRawBufferPointer) -> Result<UnsafeRawBufferPointer, DecodeFailure> {
        guard bytes.count == headerLength - SegmentHeader.size, bytes.count >= SegmentHeader.dictionaryPrefixSize else {
            return .failure(DecodeFailure(reason: "segment dictionary is incomplete", torn: true))
        }
        guard Int(bytes.loadLE(UInt32.self, at: 0)) == dictionaryLength else {
            return .failure(DecodeFailure(reason: "segment dictionary length \(bytes.loadLE(UInt32.self, at: 0)) disagrees with the header length \(headerLength)"))
        }
        let dictionary = UnsafeRawBufferPointer(rebasing: bytes[SegmentHeader.dictionaryPrefixSize...])
        guard CRC32C.checksum(dictionary) == bytes.loadLE(UInt32.self, at: 4) else {
            return .failure(DecodeFailure(reason: "segment dictionary checksum mismatch"))
        }
        return .success(dictionary)
    }
}

/// Why a header or frame did not decode. `torn` marks a frame the file ends
/// inside of: at the tail of the newest segment that is an interrupted write.
struct DecodeFailure: Error {
    var reason: String
    var torn = false
}

/// The 64-byte header in front of every batch frame (FORMAT.md, "Batch frame").
struct FrameHeader: Equatable {
    static let size = 64
    static let magic: UInt32 = 0x3146_4C43  // "CLF1" little-endian
    /// Frames without producers (FORMAT.md, "Batch frame").
    static let version: UInt8 = 1
    /// Frames with a producer table (FORMAT.md, "Producers").
    static let versionWithProducers: UInt8 = 2

    enum Codec: UInt8 {
        case none = 0
        case lz4 = 1
        /// LZ4 block compressed against the segment's dictionary (version 2 and 3 segments only).
        case lz4Dictionary = 2
        /// Like `lz4Dictionary`, of the payload packed first (`PayloadPacking`:
        /// UUID text as 16 bytes). Written in version 3 segments only; read
        /// in version 2 ones too (FORMAT.md, "Recompressed segments").
        case lz4DictionaryPacked = 3
    }

    /// Whether the payload needs the segment's dictionary.
    var usesDictionary: Bool { codec == .lz4Dictionary || codec == .lz4DictionaryPacked }

    var codec: Codec
    var baseSeq: UInt64
    var count: UInt32
    var rawLength: UInt32
    var storedLength: UInt32
    var crc: UInt32
    var firstRecorded: Int64
    var lastRecorded: Int64
    var minEventTime: Int64
    var maxEventTime: Int64
    /// 1, or `versionWithProducers` for a frame with a producer table.
    var version: UInt8 = FrameHeader.version

    var hasProducers: Bool { version == FrameHeader.versionWithProducers }
    var lastSeq: UInt64 { baseSeq + UInt64(count) - 1 }
    var frameLength: Int { FrameHeader.size + Int(storedLength) }

    /// Writes the header into `out[0..<64]`, computing the CRC over the
    /// header (but the CRC field) and `payload`.
    func write(into out: UnsafeMutableRawBufferPointer, payload: UnsafeRawBufferPointer) {
        precondition(out.count >= FrameHeader.size)
        out.storeLE(FrameHeader.magic, at: 0)
        out.storeLE(version, at: 4)
        out.storeLE(codec.rawValue, at: 5)
        out.storeLE(UInt16(FrameHeader.size), at: 6)
        out.storeLE(baseSeq, at: 8)
        out.storeLE(count, at: 16)
        out.storeLE(rawLength, at: 20)
        out.storeLE(storedLength, at: 24)
        out.storeLE(UInt32(0), at: 28)
        out.storeLE(UInt64(bitPattern: firstRecorded), at: 32)
        out.storeLE(UInt64(bitPattern: lastRecorded), at: 40)
        out.storeLE(UInt64(bitPattern: minEventTime), at: 48)
        out.storeLE(UInt64(bitPattern: maxEventTime), at: 56)
        let crc = FrameHeader.checksum(header: UnsafeRawBufferPointer(out), payload: payload)
        out.storeLE(crc, at: 28)
    }

    static func checksum(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: header[0..<28]))
        crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: header[32..<64]))
        return CRC32C.update(crc, payload)
    }

    /// Decodes a header and checks what can be checked without the payload:
    /// magic, version, and every length against the limits (so a reader never
    /// allocates what a damaged header claims).
    static func decode(_ bytes: UnsafeRawBufferPointer, limits: LogLimits) -> Result<FrameHeader, DecodeFailure> {
        guard bytes.count >= size else { return .failure(DecodeFailure(reason: "frame header is incomplete", torn: true)) }
        guard bytes.loadLE(UInt32.self, at: 0) == magic else { return .failure(DecodeFailure(reason: "bad frame magic")) }
        guard bytes[4] == version || bytes[4] == versionWithProducers else {
            return .failure(DecodeFailure(reason: "unsupported frame version \(bytes[4])"))
        }
        guard let codec = Codec(rawValue: bytes[5]) else { return .failure(DecodeFailure(reason: "unknown codec \(bytes[5])")) }
        guard bytes.loadLE(UInt16.self, at: 6) == UInt16(size) else { return .failure(DecodeFailure(reason: "bad frame header length")) }
        let header = FrameHeader(
            codec: codec,
            baseSeq: bytes.loadLE(UInt64.self, at: 8),
            count: bytes.loadLE(UInt32.self, at: 16),
            rawLength: bytes.loadLE(UInt32.self, at: 20),
            storedLength: bytes.loadLE(UInt32.self, at: 24),
            crc: bytes.loadLE(UInt32.self, at: 28),
            firstRecorded: Int64(bitPattern: bytes.loadLE(UInt64.self, at: 32)),
            lastRecorded: Int64(bitPattern: bytes.loadLE(UInt64.self, at: 40)),
            minEventTime: Int64(bitPattern: bytes.loadLE(UInt64.self, at: 48)),
            maxEventTime: Int64(bitPattern: bytes.loadLE(UInt64.self, at: 56)),
            version: bytes[4])
        guard header.count >= 1, Int(header.count) <= limits.frameEventsMax else {
            return .failure(DecodeFailure(reason: "frame event count \(header.count) outside 1...\(limits.frameEventsMax)"))
        }
        guard Int(header.rawLength) <= limits.frameBytesMax,
              Int(header.storedLength) <= LZ4.compressBound(limits.frameBytesMax),
              UInt64(header.rawLength) >= UInt64(header.count) * UInt64(RecordCodec.sizeMin)
        else {
            return .failure(DecodeFailure(reason: "frame lengths out of range (raw \(header.rawLength), stored \(header.storedLength))"))
        }
        guard codec != .none || header.rawLength == header.storedLength else {
            return .failure(DecodeFailure(reason: "uncompressed frame with raw length \(header.rawLength) != stored length \(header.storedLength)"))
        }
        guard header.baseSeq >= 1, header.baseSeq <= UInt64.max - UInt64(header.count) else {
            return .failure(DecodeFailure(reason: "frame base seq \(header.baseSeq) out of range"))
        }
        return .success(header)
    }
}

/// Accumulates records and cuts them into compressed frames. The writer's
/// framing, with no I/O: `finish` returns the frame's bytes.
struct FrameBuilder {
    private struct Pair: Hashable {
        var source: String
        var type: String
    }

    /// Records, encoded as they are added; the prefix goes in front at
    /// `finish`, when all (source, type) pairs are known.
    private var records: [UInt8] = []
    private var raw: [UInt8] = []
    private var pairIndex: [Pair: Int] = [:]
    private var pairs: [(source: String, type: String)] = []
    /// The producer table (a version 2 frame): names in first-use order,
    /// and each name's index as records hold it (1-based; 0 is none).
    private var producerIndex: [String: Int] = [:]
    private var producers: [String] = []
    /// The last producer added and its index: a frame's events mostly come
    /// from one connection, so most lookups end here without hashing.
    private var lastProducer: (name: String, index: Int)?
    /// Bytes the producer table will take (counted into `rawCount`, unlike
    /// the pair table: see there).
    private var producerTableBytes = 0
    private(set) var count = 0
    private var base = FrameBase(seq: 0, recorded: 0)
    private var lastRecorded: Int64 = 0
    private var minEventTime: Int64 = .max
    private var maxEventTime: Int64 = .min
    private var compressed: [UInt8] = []

    var isEmpty: Bool { count == 0 }
    /// Bytes of the frame so far, before compression (near enough: the
    /// pair table is a few bytes per distinct pair). The producer table is
    /// counted: names of up to 255 bytes, as many as the frame's events,
    /// must not push a frame past `frameBytesMax`. (The pair table is not,
    /// so that version 1 frames are cut where they always were.)
    var rawCount: Int { records.count + producerTableBytes }

    /// Whether `event` may join this frame: an event with a producer needs a
    /// version 2 frame, and a frame's version is its first event's. False
    /// means: finish this frame first.
    func canHold(_ event: LogEvent) -> Bool {
        count == 0 || base.hasProducers || event.producer == nil
    }

    init(capacity: Int) {
        records.reserveCapacity(capacity)
        raw.reserveCapacity(capacity)
    }

    mutating func add(_ event: LogEvent, seq: UInt64, recorded: Int64) {
        if count == 0 {
            // The first event's second is the frame's time base: events of
            // one frame are usually close in time, so deltas stay small.
            base = FrameBase(seq: seq, recorded: recorded, timeSecond: event.time.seconds, hasProducers: event.producer != nil)
            minEventTime = .max
            maxEventTime = .min
        }
        precondition(seq == base.seq + UInt64(count), "records of a frame must have consecutive seqs")
        precondition(canHold(event), "an event with a producer in a version 1 frame")
        let key = Pair(source: event.source, type: event.type)
        let pair: Int
        if let known = pairIndex[key] {
            pair = known
        } else {
            pair = pairs.count
            pairIndex[key] = pair
            pairs.append((event.source, event.type))
        }
        let producer = event.producer.map { producerIndex(of: $0) } ?? 0
        RecordCodec.append(event, seq: seq, recorded: recorded, base: base, pair: pair, producer: producer, to: &records)
        lastRecorded = recorded
        let t = event.time.microseconds
        minEventTime = min(minEventTime, t)
        maxEventTime = max(maxEventTime, t)
        count += 1
    }

    /// The 1-based index of `name` in the producer table, added if new.
    private mutating func producerIndex(of name: String) -> Int {
        if let last = lastProducer, last.name == name { return last.index }
        let index: Int
        if let known = producerIndex[name] {
            index = known
        } else {
            producers.append(name)
            index = producers.count
            producerIndex[name] = index
            producerTableBytes += RecordCodec.varintSize(UInt64(name.utf8.count)) + name.utf8.count
        }
        lastProducer = (name, index)
        return index
    }

    /// Drops the records added since the last frame (a write failed and the
    /// writer goes back to its last durable frame).
    mutating func discard() {
        reset()
    }

    private mutating func reset() {
        records.removeAll(keepingCapacity: true)
        pairIndex.removeAll(keepingCapacity: true)
        pairs.removeAll(keepingCapacity: true)
        producerIndex.removeAll(keepingCapacity: true)
        producers.removeAll(keepingCapacity: true)
        lastProducer = nil
        producerTableBytes = 0
        count = 0
    }

    /// Compresses the records into one frame appended to `out`, and resets.
    /// Returns the frame's header (for the index).
    mutating func finish(into out: inout [UInt8]) -> FrameHeader {
        precondition(count > 0, "an empty frame is never written")
        raw.removeAll(keepingCapacity: true)
        precondition(base.hasProducers == !producers.isEmpty, "a version 2 frame has producers, a version 1 frame none")
        RecordCodec.appendPrefix(timeSecond: base.timeSecond, pairs: pairs, producers: producers, to: &raw)
        raw.append(contentsOf: records)
        let bound = LZ4.compressBound(raw.count)
        if compressed.count < bound { compressed = [UInt8](repeating: 0, count: bound) }
        let compressedCount = raw.withUnsafeBytes { src in
            compressed.withUnsafeMutableBytes { dst in LZ4.compress(src, into: dst) }
        }
        // Incompressible batches are stored as is: never larger than raw.
        let codec: FrameHeader.Codec = compressedCount < raw.count ? .lz4 : .none
        let storedCount = codec == .lz4 ? compressedCount : raw.count
        var header = FrameHeader(
            codec: codec, baseSeq: base.seq, count: UInt32(count),
            rawLength: UInt32(raw.count), storedLength: UInt32(storedCount), crc: 0,
            firstRecorded: base.recorded, lastRecorded: lastRecorded,
            minEventTime: minEventTime, maxEventTime: maxEventTime,
            version: base.hasProducers ? FrameHeader.versionWithProducers : FrameHeader.version)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: FrameHeader.size))
        if codec == .lz4 {
            compressed.withUnsafeBytes { out.append(contentsOf: $0[0..<storedCount]) }
        } else {
            out.append(contentsOf: raw)
        }
        out.withUnsafeMutableBytes { all in
            let headerBytes = UnsafeMutableRawBufferPointer(rebasing: all[start..<start + FrameHeader.size])
            let payload = UnsafeRawBufferPointer(rebasing: all[(start + FrameHeader.size)...])
            header.write(into: headerBytes, payload: payload)
            header.crc = UnsafeRawBufferPointer(headerBytes).loadLE(UInt32.self, at: 28)
        }
        checkBeforeWrite(header, frame: out[start...])
        reset()
        return header
    }
}

extension FrameBuilder {
    /// Checks a finished frame right before it goes to the file (as
    /// TigerBeetle does): its header reads back as written and agrees with
    /// the records it frames (count, seqs, recorded range, pair indexes,
    /// length). A mismatch is a bug in the writer, never written to disk.
    private func checkBeforeWrite(_ header: FrameHeader, frame: ArraySlice<UInt8>) {
        precondition(frame.count == header.frameLength, "frame bytes disagree with the header's stored length")
        precondition(header.count == UInt32(count) && header.rawLength == UInt32(raw.count), "frame header disagrees with its records")
        frame.withUnsafeBytes { bytes in
            let head = UnsafeRawBufferPointer(rebasing: bytes[0..<FrameHeader.size])
            let payload = UnsafeRawBufferPointer(rebasing: bytes[FrameHeader.size...])
            precondition(head[4] == header.version && head.loadLE(UInt64.self, at: 8) == header.baseSeq && head.loadLE(UInt32.self, at: 16) == header.count
                && head.loadLE(UInt32.self, at: 24) == header.storedLength
                && FrameHeader.checksum(header: head, payload: payload) == header.crc, "frame header does not read back as written")
        }
        raw.withUnsafeBytes { payload in
            if let problem = RecordCodec.check(payload, header: header) {
                preconditionFailure("frame records disagree with their header: \(problem)")
            }
        }
    }
}

/// A segment dictionary with room for a frame's decompressed bytes right
/// after it. LZ4 decodes a block whose dictionary ends exactly where its
/// output starts as if the dictionary were earlier output of the same block
/// (`withPrefix64k` for a 64 KiB dictionary, `withSmallPrefix` for a smaller
/// one), which is as fast as a block with no
/// dictionary; a dictionary elsewhere in memory takes the slower external
/// dictionary path (about 2/3 of the speed, measured in BENCHMARKS.md).
final class DictionaryWindow {
    private var storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private(set) var dictionaryCount = 0

    deinit { storage.deallocate() }

    /// Copies `dictionary` to the front (once per segment).
    func load(_ dictionary: UnsafeRawBufferPointer) {
        if storage.count < dictionary.count {
            storage.deallocate()
            storage = .allocate(byteCount: dictionary.count + (256 << 10), alignment: 16)
        }
        if !dictionary.isEmpty { storage.baseAddress!.copyMemory(from: dictionary.baseAddress!, byteCount: dictionary.count) }
        dictionaryCount = dictionary.count
    }

    var dictionary: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[0..<dictionaryCount])
    }

    /// The `count` bytes right after the dictionary, growing the buffer
    /// (and keeping the dictionary) when needed.
    func output(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if storage.count < dictionaryCount + count {
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: dictionaryCount + max(count, 256 << 10), alignment: 16)
            if dictionaryCount > 0 { grown.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: dictionaryCount) }
            storage.deallocate()
            storage = grown
        }
        return UnsafeMutableRawBufferPointer(rebasing: storage[dictionaryCount..<dictionaryCount + count])
    }
}

/// Checks a frame's payload against its header and yields the raw records.
/// Shared by readers, recovery and verify, so all three agree on what a good
/// frame is.
struct FrameDecoder {
    private let raw = RawBuffer()
    /// The segment's dictionary, with codec 2 and 3 frames decompressed
    /// right after it.
    private let window = DictionaryWindow()

    /// The dictionary of the segment whose frames follow (version 2 and 3
    /// segments); frames with codec 2 or 3 are corrupt without one.
    func load(dictionary: UnsafeRawBufferPointer) {
        window.load(dictionary)
    }

    /// Verifies the CRC and decompresses; the returned bytes stay valid until
    /// the next call on this decoder.
    func rawPayload(
        header: FrameHeader, headerBytes: UnsafeRawBufferPointer, stored: UnsafeRawBufferPointer
    ) -> Result<UnsafeRawBufferPointer, DecodeFailure> {
        precondition(stored.count == Int(header.storedLength))
        guard FrameHeader.checksum(header: headerBytes, payload: stored) == header.crc else {
            return .failure(DecodeFailure(reason: "frame checksum mismatch"))
        }
        let n = Int(header.rawLength)
        if header.usesDictionary, window.dictionaryCount == 0 {
            return .failure(DecodeFailure(reason: "frame compressed with a dictionary in a segment without one"))
        }
        switch header.codec {
        case .none:
            return .success(stored)
        case .lz4:
            let destination = raw.reserve(n)
            guard LZ4.decompress(stored, into: destination) else {
                return .failure(DecodeFailure(reason: "frame payload does not decompress to \(n) bytes"))
            }
            return .success(UnsafeRawBufferPointer(destination))
        case .lz4Dictionary:
            let destination = window.output(n)
            guard LZ4.decompress(stored, into: destination, dictionary: window.dictionary) else {
                return .failure(DecodeFailure(reason: "frame payload does not decompress to \(n) bytes with the segment dictionary"))
            }
            return .success(UnsafeRawBufferPointer(destination))
        case .lz4DictionaryPacked:
            let packed = window.output(PayloadPacking.packedBound(n))
            guard let m = LZ4.decompress(stored, upTo: packed, dictionary: window.dictionary) else {
                return .failure(DecodeFailure(reason: "packed frame payload does not decompress with the segment dictionary"))
            }
            let destination = raw.reserve(n)
            guard PayloadPacking.unpack(UnsafeRawBufferPointer(rebasing: packed[0..<m]), into: destination) else {
                return .failure(DecodeFailure(reason: "packed frame payload does not unpack to \(n) bytes"))
            }
            return .success(UnsafeRawBufferPointer(destination))
        }
    }
}
