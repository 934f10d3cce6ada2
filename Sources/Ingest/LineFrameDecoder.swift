import NIOCore

/// One line of the ingest protocol, as the framer hands it on.
public enum LineFrame: Sendable, Equatable {
    /// A line's bytes without `\n` or `\r\n`: a slice of the receive buffer.
    case line(ByteBuffer)
    /// A line longer than the limit; `bytes` is its whole length (without
    /// the line ending). Its bytes were dropped as they arrived.
    case tooLarge(bytes: Int)
    /// A line whose bytes were dropped because the server's budget for
    /// buffered input was spent (`shedLine`); `bytes` is its whole length.
    case shed(bytes: Int)
}

/// Splits a byte stream into lines, like swift-nio-extras'
/// `LineBasedFrameDecoder`, with one difference: a line longer than
/// `lineBytesMax` is not an error that ends the stream. Its bytes are
/// discarded as they arrive (memory stays at `lineBytesMax` plus one read),
/// and once its newline comes, one `.tooLarge` frame stands for it, so the
/// connection goes on with the next line.
///
///     "{..}\n{..}\r\n{.. 5 MiB ..}\n{..}"      (limit 1 MiB)
///       |     |      |                |
///     .line .line  .tooLarge(5 MiB)  waits for its "\n" (or EOF)
///
/// A last line without `\n` is delivered at end of input.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = LineFrame

    public let lineBytesMax: Int
    /// Bytes after the reader index already searched for `\n`, so a long
    /// line arriving in many reads is scanned once.
    private var scannedBytes = 0
    /// While inside an overlong line: its length so far.
    private var discardedBytes: Int?
    /// Whether the last discarded byte was `\r` (it may pair with a `\n`
    /// arriving in the next read).
    private var lastDroppedByteWasCR = false
    /// Whether the line being discarded was shed (not overlong).
    private var shedding = false
    private let carriageReturn = UInt8(ascii: "\r")

    public init(lineBytesMax: Int) {
        precondition(lineBytesMax >= 1)
        self.lineBytesMax = lineBytesMax
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = nextFrame(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let frame = nextFrame(&buffer) {
            context.fireChannelRead(Self.wrapInboundOut(frame))
        }
        if let frame = lastFrame(&buffer) {
            context.fireChannelRead(Self.wrapInboundOut(frame))
        }
        return .needMoreData
    }

    /// The next complete frame, consuming its bytes; nil when more input is
    /// needed (an overlong line's bytes are consumed even then).
    mutating func nextFrame(_ buffer: inout ByteBuffer) -> LineFrame? {
        if let discarded = discardedBytes {
            if let newline = findNewline(buffer, from: 0) {
                // A "\r" before the "\n" may have been dropped with the last read.
                let endsWithCR = newline > 0 ? byte(buffer, buffer.readerIndex + newline - 1) == carriageReturn : lastDroppedByteWasCR
                buffer.moveReaderIndex(forwardBy: newline + 1)
                discardedBytes = nil
                scannedBytes = 0
                lastDroppedByteWasCR = false
                return discardedFrame(bytes: discarded + newline - (endsWithCR ? 1 : 0))
            }
            if buffer.readableBytes > 0 {
                lastDroppedByteWasCR = byte(buffer, buffer.writerIndex - 1) == carriageReturn
            }
            discardedBytes = discarded + buffer.readableBytes
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
        if let newline = findNewline(buffer, from: scannedBytes) {
            scannedBytes = 0
            var length = newline
            if length > 0, byte(buffer, buffer.readerIndex + length - 1) == carriageReturn {
                length -= 1
            }
            if length > lineBytesMax {
                buffer.moveReaderIndex(forwardBy: newline + 1)
                return .tooLarge(bytes: length)
            }
            let line = buffer.getSlice(at: buffer.readerIndex, length: length)!
            buffer.moveReaderIndex(forwardBy: newline + 1)
            return .line(line)
        }
        // No newline yet. Up to lineBytesMax bytes (+ a "\r") may still be a
        // good line; past that the line is overlong: start discarding.
        if buffer.readableBytes > lineBytesMax + 1 {
            discardedBytes = 0
            scannedBytes = 0
            return nextFrame(&buffer)
        }
        scannedBytes = buffer.readableBytes
        return nil
    }

    /// Whether the current line's bytes are being dropped (overlong or shed).
    var isDiscarding: Bool { discardedBytes != nil }

    /// Drops the unfinished line in `buffer` (it did not fit the server's
    /// input budget) and the rest of it as it arrives; its end yields one
    /// `.shed` frame, so the line is answered and the connection goes on.
    mutating func shedLine(_ buffer: inout ByteBuffer) {
        precondition(discardedBytes == nil, "only a line being buffered can be shed")
        if buffer.readableBytes > 0 {
            lastDroppedByteWasCR = byte(buffer, buffer.writerIndex - 1) == carriageReturn
        }
        discardedBytes = buffer.readableBytes
        shedding = true
        scannedBytes = 0
        buffer.moveReaderIndex(to: buffer.writerIndex)
    }

    private mutating func discardedFrame(bytes: Int) -> LineFrame {
        defer { shedding = false }
        return shedding ? .shed(bytes: bytes) : .tooLarge(bytes: bytes)
    }

    /// At end of input: what is left forms a last line (no `\n`).
    mutating func lastFrame(_ buffer: inout ByteBuffer) -> LineFrame? {
        defer {
            discardedBytes = nil
            scannedBytes = 0
            lastDroppedByteWasCR = false
        }
        if let discarded = discardedBytes {
            return discardedFrame(bytes: discarded - (lastDroppedByteWasCR ? 1 : 0))
        }
        guard buffer.readableBytes > 0 else { return nil }
        var length = buffer.readableBytes
        if byte(buffer, buffer.writerIndex - 1) == carriageReturn { length -= 1 }
        let frame: LineFrame = length > lineBytesMax
            ? .tooLarge(bytes: length) : .line(buffer.getSlice(at: buffer.readerIndex, length: length)!)
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return frame
    }

    private func byte(_ buffer: ByteBuffer, _ index: Int) -> UInt8? {
        buffer.getInteger(at: index, as: UInt8.self)
    }

    /// Offset of the first `\n` at or after `from` (relative to the reader
    /// index).
    private func findNewline(_ buffer: ByteBuffer, from: Int) -> Int? {
        guard from < buffer.readableBytes else { return nil }
        return buffer.withUnsafeReadableBytes { bytes -> Int? in
            let base = bytes.baseAddress! + from
            guard let hit = memchr(base, 0x0A, bytes.count - from) else { return nil }
            return bytes.baseAddress!.distance(to: UnsafeRawPointer(hit))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
