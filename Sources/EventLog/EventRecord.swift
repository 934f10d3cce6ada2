import Foundation

/// An event's `time` as the producer wrote it: the instant, plus the UTC
/// offset and the number of fraction digits, so a replay can give back the
/// same RFC 3339 text.
public struct EventTime: Sendable, Hashable {
    /// Unix seconds of the instant (UTC).
    public var seconds: Int64
    /// 0 ..< 1_000_000_000.
    public var nanoseconds: UInt32
    /// The written UTC offset in minutes (`Z` is 0).
    public var offsetMinutes: Int16
    /// How many digits followed the decimal point (0 ... 9).
    public var fractionDigits: UInt8
    /// The producer wrote second 60 (a leap second); `seconds` then holds
    /// 23:59:59 UTC of that day.
    public var isLeapSecond: Bool

    public init(seconds: Int64, nanoseconds: UInt32 = 0, offsetMinutes: Int16 = 0, fractionDigits: UInt8 = 0, isLeapSecond: Bool = false) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.offsetMinutes = offsetMinutes
        self.fractionDigits = fractionDigits
        self.isLeapSecond = isLeapSecond
    }

    /// Microseconds since the Unix epoch (the unit of the frame's time range).
    public var microseconds: Int64 {
        seconds &* 1_000_000 &+ Int64(nanoseconds / 1000)
    }
}

/// One event as a producer sent it, ready to append. The log assigns `seq`
/// and `recorded`.
public struct LogEvent: Sendable, Equatable {
    public var id: UUID
    public var subject: UUID
    public var time: EventTime
    public var source: String
    public var type: String
    public var dataVersion: UInt32
    /// Record flags; bit 0: `data` is a sealed document (FORMAT.md, SEALING.md).
    public var flags: UInt8
    /// The `data` object as compact JSON (UTF-8).
    public var data: [UInt8]
    /// The authenticated producer that wrote the event (the audit trail):
    /// 1 to `RecordCodec.producerBytesMax` bytes; nil when there was none
    /// (no producers file, an import, a log written before producers).
    public var producer: String?

    public init(
        id: UUID, subject: UUID, time: EventTime, source: String, type: String,
        dataVersion: UInt32 = 1, flags: UInt8 = 0, data: [UInt8], producer: String? = nil
    ) {
        self.id = id
        self.subject = subject
        self.time = time
        self.source = source
        self.type = type
        self.dataVersion = dataVersion
        self.flags = flags
        self.data = data
        self.producer = producer
    }

    /// The most bytes this event takes as a record in a frame (the limits
    /// are checked against this bound).
    public var encodedSize: Int {
        var size = RecordCodec.overheadMax + source.utf8.count + type.utf8.count + data.count
        if let producer { size += RecordCodec.producerOverheadMax + producer.utf8.count }
        return size
    }
}

/// An event read back from the log.
public struct EventRecord: Sendable, Equatable {
    /// Global position, dense, starting at 1.
    public var seq: UInt64
    /// Server time of the append, microseconds since the Unix epoch;
    /// non-decreasing along the log.
    public var recorded: Int64
    public var event: LogEvent

    public init(seq: UInt64, recorded: Int64, event: LogEvent) {
        self.seq = seq
        self.recorded = recorded
        self.event = event
    }
}

/// What the records of a frame are encoded relative to: the frame's first
/// seq and recorded time (from its header) and, from the payload's prefix,
/// a base second for event times and the frame's (source, type) pairs.
/// `hasProducers`: a version 2 frame, whose records carry a producer index.
struct FrameBase {
    var seq: UInt64
    var recorded: Int64
    var timeSecond: Int64 = 0
    var hasProducers = false
}

/// Encodes and decodes a frame's raw payload (see FORMAT.md, "Payload"):
/// a prefix with the time base and the (source, type) pairs, then records.
/// Pure: no I/O. Integers are LEB128 varints, signed ones zigzagged; seq,
/// recorded and time are deltas, source and type an index into the prefix:
/// most records spend a byte or two on each instead of eight or twenty.
enum RecordCodec {
    /// The most bytes a record needs beyond its source, type and data:
    /// varints of at most 10 bytes, two UUIDs, two single bytes, and the
    /// worst case of a prefix entry of its own.
    static let overheadMax = 9 * 10 + 32 + 2 + 2 * 10
    /// The fewest bytes any record takes (every varint one byte, no data);
    /// bounds a frame's event count by its length.
    static let sizeMin = 1 + 2 + 32 + 3 + 2 + 2

    /// The most bytes a producer adds to a record beyond its name: the
    /// producer index and the worst case of a table entry of its own.
    static let producerOverheadMax = 2 * 10
    /// The longest producer name the log holds. The producers file allows
    /// 64 bytes; 255 leaves that rule room to grow without a format change,
    /// while a damaged length still cannot claim much.
    static let producerBytesMax = 255

    /// Flags this version understands.
    static let knownFlags: UInt8 = 0x01
    /// Bits of the time-digits byte.
    static let digitsMask: UInt8 = 0x0F
    static let fractionIsNanosBit: UInt8 = 0x40
    static let leapSecondBit: UInt8 = 0x80

    static let powersOfTen: [UInt32] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000]

    /// `producer`: the index into the frame's producer table (0: none);
    /// written only in a version 2 frame (`base.hasProducers`).
    static func append(_ event: LogEvent, seq: UInt64, recorded: Int64, base: FrameBase, pair: Int, producer: Int = 0, to out: inout [UInt8]) {
        precondition(seq >= base.seq && recorded >= base.recorded, "records are encoded after their frame base")
        let seqDelta = seq - base.seq
        let recordedDelta = UInt64(recorded - base.recorded)
        let seconds = zigzag(event.time.seconds &- base.timeSecond)
        // The fraction as written (".694" is 694) when that is exact, which
        // it is for every parsed time; else all nine digits, flagged.
        let digits = Int(event.time.fractionDigits)
        let unit = powersOfTen[9 - digits]
        let exact = event.time.nanoseconds % unit == 0
        let fraction = UInt64(exact ? event.time.nanoseconds / unit : event.time.nanoseconds)
        var digitsByte = event.time.fractionDigits | (event.time.isLeapSecond ? leapSecondBit : 0)
        if !exact { digitsByte |= fractionIsNanosBit }
        let offset = zigzag(Int64(event.time.offsetMinutes))
        let version = UInt64(event.dataVersion)
        var length = varintSize(seqDelta) + varintSize(recordedDelta) + 32
        length += varintSize(seconds) + varintSize(fraction) + varintSize(offset) + 2 + varintSize(version)
        length += varintSize(UInt64(pair)) + event.data.count
        if base.hasProducers { length += varintSize(UInt64(producer)) }
        out.appendVarint(UInt64(length))
        out.appendVarint(seqDelta)
        out.appendVarint(recordedDelta)
        withUnsafeBytes(of: event.id.uuid) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: event.subject.uuid) { out.append(contentsOf: $0) }
        out.appendVarint(seconds)
        out.appendVarint(fraction)
        out.appendVarint(offset)
        out.append(digitsByte)
        out.append(event.flags)
        out.appendVarint(version)
        out.appendVarint(UInt64(pair))
        if base.hasProducers { out.appendVarint(UInt64(producer)) }
        out.append(contentsOf: event.data)
    }

    /// Writes the payload prefix: time base, then the (source, type) pairs,
    /// then (a version 2 frame: `producers` is not empty) the producers.
    static func appendPrefix(timeSecond: Int64, pairs: [(source: String, type: String)], producers: [String] = [], to out: inout [UInt8]) {
        out.appendVarint(zigzag(timeSecond))
        out.appendVarint(UInt64(pairs.count))
        for pair in pairs {
            out.appendVarint(UInt64(pair.source.utf8.count))
            out.append(contentsOf: pair.source.utf8)
            out.appendVarint(UInt64(pair.type.utf8.count))
            out.append(contentsOf: pair.type.utf8)
        }
        guard !producers.isEmpty else { return }
        out.appendVarint(UInt64(producers.count))
        for producer in producers {
            out.appendVarint(UInt64(producer.utf8.count))
            out.append(contentsOf: producer.utf8)
        }
    }

    /// Why a payload could not be decoded (the caller adds file and offset).
    struct DecodeFailure: Error {
        var reason: String
    }

    /// The prefix of a payload: the time base, the byte ranges of each
    /// pair's source and type and of each producer's name (version 2), and
    /// where the records start.
    struct Prefix {
        var timeSecond: Int64
        var pairs: [(source: Range<Int>, type: Range<Int>)]
        var producers: [Range<Int>] = []
        var recordsStart: Int
    }

    static func prefix(_ payload: UnsafeRawBufferPointer, header: FrameHeader) throws(DecodeFailure) -> Prefix {
        let eventCount = Int(header.count)
        var c = ByteCursor(payload, from: 0, to: payload.count)
        let timeSecond = unzigzag(try c.varint("frame time base"))
        let count = try c.varint("frame pair count")
        guard count >= 1, count <= UInt64(eventCount) else { throw DecodeFailure(reason: "frame has \(count) source/type pairs for \(eventCount) events") }
        var pairs: [(source: Range<Int>, type: Range<Int>)] = []
        pairs.reserveCapacity(Int(count))
        for _ in 0..<count {
            let source = try c.fixed(Int(clamping: try c.varint("frame source length")), "frame source")
            let sourceRange = (c.position - source.count)..<c.position
            let type = try c.fixed(Int(clamping: try c.varint("frame type length")), "frame type")
            pairs.append((sourceRange, (c.position - type.count)..<c.position))
        }
        var prefix = Prefix(timeSecond: timeSecond, pairs: pairs, recordsStart: c.position)
        if header.hasProducers { prefix.producers = try producerTable(&c, eventCount: eventCount) }
        prefix.recordsStart = c.position
        return prefix
    }

    /// A version 2 frame's producer table: 1 ... `eventCount` names of 1 ...
    /// `producerBytesMax` bytes each.
    private static func producerTable(_ c: inout ByteCursor, eventCount: Int) throws(DecodeFailure) -> [Range<Int>] {
        let count = try c.varint("frame producer count")
        guard count >= 1, count <= UInt64(eventCount) else { throw DecodeFailure(reason: "frame has \(count) producers for \(eventCount) events") }
        var producers: [Range<Int>] = []
        producers.reserveCapacity(Int(count))
        for _ in 0..<count {
            let length = try c.varint("frame producer length")
            guard length >= 1, length <= UInt64(producerBytesMax) else {
                throw DecodeFailure(reason: "frame producer name of \(length) bytes; names are 1 to \(producerBytesMax)")
            }
            let name = try c.fixed(Int(length), "frame producer")
            producers.append((c.position - name.count)..<c.position)
        }
        return producers
    }

    /// What decoding a frame's records needs: its base, its (source, type)
    /// strings and producer names (shared through `cache`), and where the
    /// records start.
    static func context(
        _ payload: UnsafeRawBufferPointer, header: FrameHeader, cache: inout TypeNameCache
    ) throws(DecodeFailure) -> (base: FrameBase, pairs: [(source: String, type: String)], producers: [String], recordsStart: Int) {
        let prefix = try prefix(payload, header: header)
        let pairs = prefix.pairs.map { pair in
            (source: cache.name(UnsafeRawBufferPointer(rebasing: payload[pair.source])),
             type: cache.name(UnsafeRawBufferPointer(rebasing: payload[pair.type])))
        }
        let producers = prefix.producers.map { cache.name(UnsafeRawBufferPointer(rebasing: payload[$0])) }
        let base = FrameBase(seq: header.baseSeq, recorded: header.firstRecorded, timeSecond: prefix.timeSecond, hasProducers: header.hasProducers)
        return (base, pairs, producers, prefix.recordsStart)
    }

    /// The length and position of the record at `offset`: its body runs from
    /// `bodyStart` to `end`. Checks the length against the payload.
    static func bounds(_ payload: UnsafeRawBufferPointer, at offset: Int) throws(DecodeFailure) -> (bodyStart: Int, end: Int) {
        var cursor = ByteCursor(payload, from: offset, to: payload.count)
        let length = try cursor.varint("record length")
        guard length <= UInt64(payload.count - cursor.position), length >= UInt64(sizeMin - 1) else {
            throw DecodeFailure(reason: "record length \(length) runs past the frame")
        }
        return (cursor.position, cursor.position + Int(length))
    }

    /// The seq and recorded time of the record at `offset` (cheap: for
    /// skipping records before a seek target) and where the next begins.
    static func peek(_ payload: UnsafeRawBufferPointer, at offset: Int, base: FrameBase) throws(DecodeFailure) -> (seq: UInt64, recorded: Int64, end: Int) {
        let (bodyStart, end) = try bounds(payload, at: offset)
        var cursor = ByteCursor(payload, from: bodyStart, to: end)
        let seq = base.seq &+ (try cursor.varint("seq"))
        let recordedDelta = try cursor.varint("recorded")
        guard recordedDelta <= UInt64(Int64.max) else { throw DecodeFailure(reason: "record recorded time out of range") }
        return (seq, base.recorded &+ Int64(recordedDelta), end)
    }

    /// Like `peek`, and also the record's (source, type) pair index and
    /// producer index (0, none, in a version 1 frame): for passing over
    /// records a replay's type, source or producer filter does not want,
    /// without decoding them.
    static func peekPair(
        _ payload: UnsafeRawBufferPointer, at offset: Int, base: FrameBase
    ) throws(DecodeFailure) -> (seq: UInt64, recorded: Int64, pair: UInt64, producer: UInt64, end: Int) {
        let (bodyStart, end) = try bounds(payload, at: offset)
        var c = ByteCursor(payload, from: bodyStart, to: end)
        let seq = base.seq &+ (try c.varint("seq"))
        let recordedDelta = try c.varint("recorded")
        guard recordedDelta <= UInt64(Int64.max) else { throw DecodeFailure(reason: "record recorded time out of range") }
        _ = try c.fixed(32, "ids")
        for field in ["time", "time fraction", "time offset"] { _ = try c.varint(field) }
        _ = try c.fixed(2, "time digits and flags")
        _ = try c.varint("data version")
        let pair = try c.varint("source/type index")
        let producer = base.hasProducers ? try c.varint("producer index") : 0
        return (seq, base.recorded &+ Int64(recordedDelta), pair, producer, end)
    }

    /// Decodes the record at `offset` of `payload`, advancing `offset`.
    /// `pairs` are the frame's (source, type) strings, `producers` its
    /// producer names (a version 2 frame).
    static func decode(
        _ payload: UnsafeRawBufferPointer, at offset: inout Int, base: FrameBase, pairs: [(source: String, type: String)],
        producers: [String] = []
    ) throws(DecodeFailure) -> EventRecord {
        let (bodyStart, end) = try bounds(payload, at: offset)
        var c = ByteCursor(payload, from: bodyStart, to: end)
        let seq = base.seq &+ (try c.varint("seq"))
        let recordedDelta = try c.varint("recorded")
        guard recordedDelta <= UInt64(Int64.max) else { throw DecodeFailure(reason: "record recorded time out of range") }
        let recorded = base.recorded &+ Int64(recordedDelta)
        let id = UUID(uuid: try c.fixed(16, "id").loadUnaligned(as: uuid_t.self))
        let subject = UUID(uuid: try c.fixed(16, "subject").loadUnaligned(as: uuid_t.self))
        let seconds = base.timeSecond &+ unzigzag(try c.varint("time"))
        let fraction = try c.varint("time fraction")
        let offsetMinutes = unzigzag(try c.varint("time offset"))
        let digitsByte = try c.byte("time digits")
        let flags = try c.byte("flags")
        let dataVersion = try c.varint("data version")
        let pair = try c.varint("source/type index")
        let producer = base.hasProducers ? try c.varint("producer index") : 0
        let digits = digitsByte & digitsMask
        guard digits <= 9, digitsByte & 0x30 == 0, abs(offsetMinutes) < 1440 else { throw DecodeFailure(reason: "record time out of range") }
        let nanos = digitsByte & fractionIsNanosBit != 0 ? fraction : fraction &* UInt64(powersOfTen[9 - Int(digits)])
        guard nanos < 1_000_000_000 else { throw DecodeFailure(reason: "record time fraction out of range") }
        guard flags & ~knownFlags == 0 else { throw DecodeFailure(reason: "record has unknown flags \(flags)") }
        guard dataVersion <= UInt64(UInt32.max) else { throw DecodeFailure(reason: "record data version out of range") }
        guard pair < UInt64(pairs.count) else { throw DecodeFailure(reason: "record source/type index \(pair) past the frame's \(pairs.count)") }
        guard producer <= UInt64(producers.count) else { throw DecodeFailure(reason: "record producer index \(producer) past the frame's \(producers.count)") }
        let data = [UInt8](UnsafeRawBufferPointer(rebasing: payload[c.position..<end]))
        offset = end
        return EventRecord(
            seq: seq, recorded: recorded,
            event: LogEvent(
                id: id, subject: subject,
                time: EventTime(seconds: seconds, nanoseconds: UInt32(nanos), offsetMinutes: Int16(offsetMinutes),
                                fractionDigits: digits, isLeapSecond: digitsByte & leapSecondBit != 0),
                source: pairs[Int(pair)].source, type: pairs[Int(pair)].type, dataVersion: UInt32(dataVersion), flags: flags, data: data,
                producer: producer == 0 ? nil : producers[Int(producer) - 1]))
    }

    /// Walks a payload without decoding events: the prefix, every record's
    /// length, seq, recorded time and pair index against the header. Returns
    /// a problem, or nil when everything agrees.
    static func check(_ payload: UnsafeRawBufferPointer, header: FrameHeader) -> String? {
        do {
            let prefix = try prefix(payload, header: header)
            var offset = prefix.recordsStart
            let base = FrameBase(seq: header.baseSeq, recorded: header.firstRecorded, timeSecond: prefix.timeSecond)
            for i in 0..<UInt64(header.count) {
                let (bodyStart, end) = try bounds(payload, at: offset)
                var c = ByteCursor(payload, from: bodyStart, to: end)
                let seq = base.seq &+ (try c.varint("seq"))
                guard seq == header.baseSeq + i else { return "record seq \(seq) where \(header.baseSeq + i) was expected" }
                let recordedDelta = try c.varint("recorded")
                guard recordedDelta <= UInt64(header.lastRecorded &- header.firstRecorded) else {
                    return "record \(seq) recorded outside its frame's recorded range"
                }
                _ = try c.fixed(32, "ids")
                for field in ["time", "time fraction", "time offset"] { _ = try c.varint(field) }
                _ = try c.fixed(2, "time digits and flags")
                _ = try c.varint("data version")
                let pair = try c.varint("source/type index")
                guard pair < UInt64(prefix.pairs.count) else { return "record \(seq) names source/type \(pair) of \(prefix.pairs.count)" }
                if header.hasProducers {
                    let producer = try c.varint("producer index")
                    guard producer <= UInt64(prefix.producers.count) else { return "record \(seq) names producer \(producer) of \(prefix.producers.count)" }
                }
                offset = end
            }
            guard offset == payload.count else { return "frame has \(payload.count - offset) bytes after its last record" }
            return nil
        } catch {
            return error.reason
        }
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
    static func varintSize(_ v: UInt64) -> Int { v < 0x80 ? 1 : (64 - v.leadingZeroBitCount + 6) / 7 }
}

/// Reads fields out of a record with every bound checked.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) {
        self.bytes = bytes
        self.position = from
        self.end = to
    }

    mutating func varint(_ field: String) throws(RecordCodec.DecodeFailure) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < end {
            let byte = bytes[position]
            position += 1
            guard shift < 64, shift < 63 || byte <= 1 else { break }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw RecordCodec.DecodeFailure(reason: "record \(field) is truncated or malformed")
    }

    mutating func byte(_ field: String) throws(RecordCodec.DecodeFailure) -> UInt8 {
        guard position < end else { throw RecordCodec.DecodeFailure(reason: "record \(field) runs past the record") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func fixed(_ count: Int, _ field: String) throws(RecordCodec.DecodeFailure) -> UnsafeRawBufferPointer {
        guard count >= 0, end - position >= count else { throw RecordCodec.DecodeFailure(reason: "record \(field) runs past the record") }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }
}

/// Sources and type names repeat endlessly along the log ("skill.assessed",
/// ...); a reader hands out one shared `String` per name instead of
/// allocating new ones per frame. Bounded: past `capacity` names it stops caching.
struct TypeNameCache {
    private var names: [UInt64: (bytes: [UInt8], name: String)] = [:]
    private static let capacity = 1024

    mutating func name(_ bytes: UnsafeRawBufferPointer) -> String {
        // FNV-1a: cheap for short names, and the bytes are compared on a hit.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        if let entry = names[hash], entry.bytes.elementsEqual(bytes) { return entry.name }
        let name = String(decoding: bytes, as: UTF8.self)
        if names.count < TypeNameCache.capacity, names[hash] == nil {
            names[hash] = (bytes: [UInt8](bytes), name: name)
        }
        return name
    }
}

// MARK: - Little-endian helpers

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}
