import NIOConcurrencyHelpers
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The server-wide budget for buffered input (`IngestLimits.bufferedBytesMax`):
/// the bytes of unfinished lines every connection holds between reads.
///
/// A connection reserves what it keeps before keeping it, so the total never
/// passes the budget; what does not fit is shed (the line is answered
/// `overloaded`). Past half of the budget, connections holding a large
/// unfinished line (`largeHeldBytes`) are not read until the total falls
/// below half again: those holding the most wait, the others go on.
///
/// Not counted: the one socket read an event loop is processing (at most
/// 64 KiB per event loop) before its lines are framed.
final class InputBudget: Sendable {
    /// A connection holding at least this much is "holding a lot" and pauses
    /// while the budget is under pressure. 64 KiB: one socket read, far
    /// beyond what an ordinary pipelining client leaves between reads.
    static let largeHeldBytes = 64 << 10

    let bytesMax: Int
    private let used = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)
    /// Woken when the budget falls below half; keyed by connection.
    private let waiters = NIOLockedValueBox<[ObjectIdentifier: @Sendable () -> Void]>([:])
    /// The most used since memory was last handed back to the system.
    private let highSinceTrim = Atomic<Int>(0)

    init(bytesMax: Int) {
        self.bytesMax = bytesMax
    }

    var usedBytes: Int { used.load(ordering: .relaxed) }
    var peakBytes: Int { peak.load(ordering: .relaxed) }

    /// Takes `bytes` from the budget if they fit.
    func reserve(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard current + bytes <= bytesMax else { return false }
            let (exchanged, original) = used.compareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
        let total = current + bytes
        peak.max(total, ordering: .relaxed)
        highSinceTrim.max(total, ordering: .relaxed)
        return true
    }

    /// Gives `bytes` back; wakes paused connections once below half, and
    /// returns freed memory to the system after a flood has drained.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        let total = used.subtract(bytes, ordering: .relaxed).newValue
        precondition(total >= 0, "released more input budget than was reserved")
        if total < bytesMax / 2 { wakeWaiters() }
        if total == 0, highSinceTrim.load(ordering: .relaxed) >= Self.trimAfterBytes {
            highSinceTrim.store(0, ordering: .relaxed)
            MemoryReturn.trim()
        }
    }

    /// Whether a connection holding `held` bytes may read now.
    func mayRead(holding held: Int) -> Bool {
        held < Self.largeHeldBytes || used.load(ordering: .relaxed) < bytesMax / 2
    }

    /// Calls `wake` (once) when the budget falls below half.
    func waitForRoom(_ id: ObjectIdentifier, wake: @escaping @Sendable () -> Void) {
        waiters.withLockedValue { $0[id] = wake }
        // The budget may have drained between the check and the registration.
        if used.load(ordering: .relaxed) < bytesMax / 2 { wakeWaiters() }
    }

    func stopWaiting(_ id: ObjectIdentifier) {
        waiters.withLockedValue { _ = $0.removeValue(forKey: id) }
    }

    private func wakeWaiters() {
        let woken = waiters.withLockedValue { waiters -> [@Sendable () -> Void] in
            guard !waiters.isEmpty else { return [] }
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for wake in woken { wake() }
    }

    /// Hand memory back after a flood that buffered at least this much.
    static let trimAfterBytes = 16 << 20
}

/// Returning freed heap memory to the system (glibc), looked up at run time
/// since Swift's Glibc module does not declare `malloc.h`.
enum MemoryReturn {
    private typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    private typealias MallocTrim = @convention(c) (Int) -> Int32

    /// Large buffers (a long line's) are mapped and unmapped on their own
    /// instead of coming from the heap, so freeing one returns its memory.
    /// glibc otherwise raises this threshold after the first large free and
    /// keeps later large buffers in the heap after they are freed.
    static func useMappedLargeBuffers(thresholdBytes: Int32 = 128 << 10) {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(-3 /* M_MMAP_THRESHOLD */, thresholdBytes)
        #endif
    }

    /// Releases free heap pages to the system.
    static func trim() {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        #endif
    }
}

/// One connection's unfinished input: frames lines out of what arrives and
/// keeps the rest within the server's `InputBudget`, right-sized, and
/// released as soon as it is not needed.
struct LineFramer {
    private var decoder: LineFrameDecoder
    private var buffer: ByteBuffer?
    /// Bytes of storage `buffer` holds, as reserved in the budget.
    private(set) var heldBytes = 0
    let budget: InputBudget

    init(lineBytesMax: Int, budget: InputBudget) {
        decoder = LineFrameDecoder(lineBytesMax: lineBytesMax)
        self.budget = budget
    }

    /// Whether a line has begun and not ended.
    var isInsideLine: Bool { decoder.isDiscarding || (buffer?.readableBytes ?? 0) > 0 }

    /// Frames `incoming` (after what was held) and keeps the unfinished rest.
    mutating func feed(_ incoming: ByteBuffer, allocator: ByteBufferAllocator, _ emit: (LineFrame) -> Void) {
        var input = incoming
        if var held = buffer {
            buffer = nil
            held.writeBuffer(&input)
            input = held
        }
        while let frame = decoder.nextFrame(&input) { emit(frame) }
        keep(input, allocator: allocator)
    }

    /// At end of input: the last line without a newline, if any.
    mutating func finish(_ emit: (LineFrame) -> Void) {
        var input = buffer ?? ByteBuffer()
        buffer = nil
        while let frame = decoder.nextFrame(&input) { emit(frame) }
        if let frame = decoder.lastFrame(&input) { emit(frame) }
        releaseHeld()
    }

    /// Lets go of everything held (the connection is gone).
    mutating func release() {
        buffer = nil
        releaseHeld()
    }

    private mutating func keep(_ rest: ByteBuffer, allocator: ByteBufferAllocator) {
        guard rest.readableBytes > 0 else {
            releaseHeld()
            return
        }
        var kept = rest
        // A small rest at the end of a large read would keep all of it alive.
        if kept.capacity > 4 * max(kept.readableBytes, 4096) {
            var compact = allocator.buffer(capacity: kept.readableBytes)
            compact.writeBuffer(&kept)
            kept = compact
        }
        if kept.capacity > heldBytes, !budget.reserve(kept.capacity - heldBytes) {
            decoder.shedLine(&kept)
            releaseHeld()
            return
        }
        if kept.capacity < heldBytes { budget.release(heldBytes - kept.capacity) }
        heldBytes = kept.capacity
        buffer = kept
    }

    private mutating func releaseHeld() {
        budget.release(heldBytes)
        heldBytes = 0
    }
}
