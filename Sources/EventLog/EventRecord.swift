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
    /// Record flags; bit 0 is reserved for sealed (encrypted) data. 0 for now.
    public var flags: UInt8
    /// The `data` object as compact JSON (UTF-8).
    public var data: [UInt8]

    public init(
        id: UUID, subject: UUID, time: EventTime, source: String, type: String,
        dataVersion: UInt32 = 1, flags: UInt8 = 0, data: [UInt8]
    ) {
        self.id = id
        self.subject = subject
        self.time = time
        self.source = source
        self.type = type
        self.dataVersion = dataVersion
        self.flags = flags
        self.data = data
    }

    /// The size of this event as a record in a frame.
    public var encodedSize: Int {
        RecordCodec.fixedSize + source.utf8.count + type.utf8.count + data.count
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

/// Encodes and decodes records inside a frame's raw payload (see FORMAT.md,
/// "Record"). Pure: no I/O.
enum RecordCodec {
    /// Bytes of a record without its variable-length fields:
    /// length 4, seq 8, recorded 8, id 16, subject 16, time 8+4+2+1,
    /// flags 1, data version 4, three lengths 2+2+4.
    static let fixedSize = 4 + 8 + 8 + 16 + 16 + 15 + 1 + 4 + 2 + 2 + 4

    /// Flags this version understands.
    static let knownFlags: UInt8 = 0x01

    static func append(_ event: LogEvent, seq: UInt64, recorded: Int64, to out: inout [UInt8]) {
        precondition(event.source.utf8.count <= Int(UInt16.max) && event.type.utf8.count <= Int(UInt16.max))
        let length = event.encodedSize - 4
        out.appendLE(UInt32(length))
        out.appendLE(seq)
        out.appendLE(UInt64(bitPattern: recorded))
        withUnsafeBytes(of: event.id.uuid) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: event.subject.uuid) { out.append(contentsOf: $0) }
        out.appendLE(UInt64(bitPattern: event.time.seconds))
        out.appendLE(event.time.nanoseconds)
        out.appendLE(UInt16(bitPattern: event.time.offsetMinutes))
        // Bit 7 of the digits byte marks a leap second (FORMAT.md).
        out.append(event.time.fractionDigits | (event.time.isLeapSecond ? 0x80 : 0))
        out.append(event.flags)
        out.appendLE(event.dataVersion)
        out.appendLE(UInt16(event.source.utf8.count))
        out.append(contentsOf: event.source.utf8)
        out.appendLE(UInt16(event.type.utf8.count))
        out.append(contentsOf: event.type.utf8)
        out.appendLE(UInt32(event.data.count))
        out.append(contentsOf: event.data)
    }

    /// Why a record could not be decoded (the caller adds file and offset).
    struct DecodeFailure: Error {
        var reason: String
    }

    /// Decodes the record at `offset` of `payload`, advancing `offset`.
    static func decode(
        _ payload: UnsafeRawBufferPointer, at offset: inout Int, typeCache: inout TypeNameCache
    ) throws(DecodeFailure) -> EventRecord {
        let start = offset
        guard payload.count - start >= fixedSize else { throw DecodeFailure(reason: "record header runs past the frame") }
        let length = Int(payload.loadLE(UInt32.self, at: start))
        let end = start + 4 + length
        guard length >= fixedSize - 4, end <= payload.count else {
            throw DecodeFailure(reason: "record length \(length) runs past the frame")
        }
        var p = start + 4
        let seq = payload.loadLE(UInt64.self, at: p); p += 8
        let recorded = Int64(bitPattern: payload.loadLE(UInt64.self, at: p)); p += 8
        let id = UUID(uuid: payload.loadUnaligned(fromByteOffset: p, as: uuid_t.self)); p += 16
        let subject = UUID(uuid: payload.loadUnaligned(fromByteOffset: p, as: uuid_t.self)); p += 16
        let seconds = Int64(bitPattern: payload.loadLE(UInt64.self, at: p)); p += 8
        let nanos = payload.loadLE(UInt32.self, at: p); p += 4
        let offsetMinutes = Int16(bitPattern: payload.loadLE(UInt16.self, at: p)); p += 2
        let digitsByte = payload[p]; p += 1
        let fractionDigits = digitsByte & 0x7F
        let flags = payload[p]; p += 1
        let dataVersion = payload.loadLE(UInt32.self, at: p); p += 4
        guard nanos < 1_000_000_000, fractionDigits <= 9 else { throw DecodeFailure(reason: "record time out of range") }
        guard flags & ~knownFlags == 0 else { throw DecodeFailure(reason: "record has unknown flags \(flags)") }

        let sourceCount = Int(payload.loadLE(UInt16.self, at: p)); p += 2
        guard p + sourceCount + 2 <= end else { throw DecodeFailure(reason: "record source runs past the record") }
        let source = String(decoding: UnsafeRawBufferPointer(rebasing: payload[p..<p + sourceCount]), as: UTF8.self)
        p += sourceCount
        let typeCount = Int(payload.loadLE(UInt16.self, at: p)); p += 2
        guard p + typeCount + 4 <= end else { throw DecodeFailure(reason: "record type runs past the record") }
        let type = typeCache.name(UnsafeRawBufferPointer(rebasing: payload[p..<p + typeCount]))
        p += typeCount
        let dataCount = Int(payload.loadLE(UInt32.self, at: p)); p += 4
        guard p + dataCount == end else { throw DecodeFailure(reason: "record data length disagrees with the record length") }
        let data = [UInt8](UnsafeRawBufferPointer(rebasing: payload[p..<end]))
        offset = end
        return EventRecord(
            seq: seq, recorded: recorded,
            event: LogEvent(
                id: id, subject: subject,
                time: EventTime(seconds: seconds, nanoseconds: nanos, offsetMinutes: offsetMinutes,
                                fractionDigits: fractionDigits, isLeapSecond: digitsByte & 0x80 != 0),
                source: source, type: type, dataVersion: dataVersion, flags: flags, data: data))
    }
}

/// Event type names repeat endlessly along the log ("skill.assessed", ...);
/// a reader hands out one shared `String` per name instead of allocating a
/// new one per record. Bounded: past `capacity` names it stops caching.
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
