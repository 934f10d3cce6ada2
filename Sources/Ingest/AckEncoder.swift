import CareerEvents
import Foundation
import NIOCore

/// The `error` field of a rejection line.
public enum IngestErrorCode: String, Sendable, CaseIterable {
    /// Not valid JSON.
    case parse
    /// The line, the stored event or the JSON nesting is over its limit.
    case tooLarge = "too_large"
    /// `type` / `dataversion` name no schema.
    case unknownType = "unknown_type"
    /// Valid JSON that breaks the envelope or the type's schema.
    case schema
    /// The server is too busy to take the line now, or refuses the
    /// connection; nothing was stored: send it again later.
    case overloaded
    /// The log cannot be written (I/O error); nothing was stored.
    case unavailable
    /// Connection-level (line 0): closed after `rejectedLinesInARowMax`
    /// rejected lines in a row. Resending the same lines would not help.
    case tooManyRejected = "too_many_rejected"
    /// Connection-level (line 0): closed after `idleTimeoutMs` without a byte.
    case idleTimeout = "idle_timeout"
    /// The line did not end within `lineDeadlineMs` of its first byte; the
    /// connection is closed after this answer.
    case lineTimeout = "line_timeout"
    /// The connection's producer may not write this event's `type` or
    /// `source` (the producers file says what it may); never stored.
    case forbidden

    public init(_ code: EventError.Code) {
        switch code {
        case .parse: self = .parse
        case .tooLarge: self = .tooLarge
        case .unknownType: self = .unknownType
        case .schema: self = .schema
        }
    }
}

/// Why one line (or, with `line == 0`, the connection) was not stored.
public struct IngestRejection: Sendable, Equatable {
    /// The event's `id` as the client wrote it, when it could be read.
    public var id: String?
    /// The connection's line number, 1-based; 0 for a connection-level
    /// message (too many connections, too many rejected lines).
    public var line: Int
    public var code: IngestErrorCode
    public var message: String

    public init(id: String?, line: Int, code: IngestErrorCode, message: String) {
        self.id = id
        self.line = line
        self.code = code
        self.message = message
    }
}

/// The server's answer to one line.
public enum IngestResponse: Sendable, Equatable {
    case stored(id: UUID, seq: UInt64)
    /// Stored with its PII as `null`: the subject is erased.
    case storedRedacted(id: UUID, seq: UInt64)
    case duplicate(id: UUID, seq: UInt64)
    case rejected(IngestRejection)
}

/// Writes response lines:
///
///     {"ok":true,"id":"0b6d...","seq":123}
///     {"ok":true,"id":"0b6d...","seq":100,"duplicate":true}
///     {"ok":true,"id":"0b6d...","seq":124,"redacted":true}
///     {"ok":false,"id":"0b6d...","line":7,"error":"schema","message":"data.level: ..."}
///     {"ok":false,"id":null,"line":9,"error":"parse","message":"invalid JSON at byte 3: ..."}
///
/// The acknowledgement lines are the hot path (one per stored event), so
/// they are written byte by byte without building strings.
public enum AckEncoder {
    /// The longest acknowledgement line (a duplicate or a redacted store
    /// with a 20-digit seq: 98 bytes), rounded up.
    static let ackBytesMax = 112

    public static func write(_ response: IngestResponse, into buffer: inout ByteBuffer) {
        switch response {
        case .stored(let id, let seq): writeAck(id: id, seq: seq, duplicate: false, into: &buffer)
        case .storedRedacted(let id, let seq): writeAck(id: id, seq: seq, duplicate: false, redacted: true, into: &buffer)
        case .duplicate(let id, let seq): writeAck(id: id, seq: seq, duplicate: true, into: &buffer)
        case .rejected(let rejection): writeRejection(rejection, into: &buffer)
        }
    }

    public static func writeAck(id: UUID, seq: UInt64, duplicate: Bool, redacted: Bool = false, into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: ackBytesMax) { out in
            var i = 0
            func put(_ text: StaticString) {
                let count = text.utf8CodeUnitCount
                (out.baseAddress! + i).copyMemory(from: text.utf8Start, byteCount: count)
                i += count
            }
            put(#"{"ok":true,"id":""#)
            i += writeUUID(id, to: out.baseAddress! + i)
            put(#"","seq":"#)
            i += writeDecimal(seq, to: out.baseAddress! + i)
            if duplicate { put(#","duplicate":true"#) }
            if redacted { put(#","redacted":true"#) }
            put("}\n")
            return i
        }
    }

    /// Longest message in an answer line, in bytes. Messages quote at most a
    /// few cut values (64 bytes each); this is the backstop that keeps every
    /// answer line short whatever a message holds.
    static let messageBytesMax = 1024

    public static func writeRejection(_ rejection: IngestRejection, into buffer: inout ByteBuffer) {
        var bytes: [UInt8] = []
        let message = cut(rejection.message)
        bytes.reserveCapacity(96 + message.utf8.count)
        bytes.append(contentsOf: #"{"ok":false,"id":"#.utf8)
        if let id = rejection.id {
            JSONValue.writeString(id, into: &bytes)
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
        bytes.append(contentsOf: #","line":"#.utf8)
        bytes.append(contentsOf: String(rejection.line).utf8)
        bytes.append(contentsOf: #","error":""#.utf8)
        bytes.append(contentsOf: rejection.code.rawValue.utf8)
        bytes.append(contentsOf: #"","message":"#.utf8)
        JSONValue.writeString(message, into: &bytes)
        bytes.append(contentsOf: "}\n".utf8)
        buffer.writeBytes(bytes)
    }

    /// `message`, cut at a character boundary to `messageBytesMax` bytes.
    static func cut(_ message: String) -> String {
        guard message.utf8.count > messageBytesMax else { return message }
        var end = message.utf8.index(message.utf8.startIndex, offsetBy: messageBytesMax - 3)
        while end > message.utf8.startIndex, !message.utf8[end...].isEmpty, UTF8.isContinuation(message.utf8[end]) {
            end = message.utf8.index(before: end)
        }
        return String(message[..<end]) + "..."
    }

    /// The rejection line as text (for connection-level messages).
    public static func line(_ rejection: IngestRejection) -> String {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        writeRejection(rejection, into: &buffer)
        return buffer.readString(length: buffer.readableBytes)!
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// Canonical lower-case 8-4-4-4-12 text; returns 36.
    private static func writeUUID(_ id: UUID, to out: UnsafeMutableRawPointer) -> Int {
        let hex = hexDigits.utf8Start
        var i = 0
        withUnsafeBytes(of: id.uuid) { raw in
            for (n, byte) in raw.enumerated() {
                if n == 4 || n == 6 || n == 8 || n == 10 {
                    out.storeBytes(of: UInt8(ascii: "-"), toByteOffset: i, as: UInt8.self)
                    i += 1
                }
                out.storeBytes(of: hex[Int(byte >> 4)], toByteOffset: i, as: UInt8.self)
                out.storeBytes(of: hex[Int(byte & 0x0F)], toByteOffset: i + 1, as: UInt8.self)
                i += 2
            }
        }
        return i
    }

    /// Decimal digits of `value`; returns their count.
    private static func writeDecimal(_ value: UInt64, to out: UnsafeMutableRawPointer) -> Int {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch
        return withUnsafeMutableBytes(of: &digits) { scratch in
            var v = value
            var n = 0
            repeat {
                scratch[23 - n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            out.copyMemory(from: scratch.baseAddress! + 24 - n, byteCount: n)
            return n
        }
    }
}
