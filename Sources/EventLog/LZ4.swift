import CLZ4

/// LZ4 block compression (liblz4's default, fast mode).
enum LZ4 {
    /// The worst-case compressed size of `count` bytes.
    static func compressBound(_ count: Int) -> Int {
        Int(LZ4_compressBound(Int32(count)))
    }

    /// Compresses `source` into `destination` (which must hold
    /// `compressBound(source.count)` bytes). Returns the compressed length.
    static func compress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) -> Int {
        precondition(destination.count >= compressBound(source.count), "LZ4 destination too small")
        let n = LZ4_compress_default(
            source.baseAddress?.assumingMemoryBound(to: CChar.self),
            destination.baseAddress?.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        precondition(n > 0 || source.isEmpty, "LZ4_compress_default failed with a sufficient buffer")
        return Int(n)
    }

    /// Decompresses exactly `destination.count` bytes; returns false when the
    /// block is malformed or does not decompress to exactly that length
    /// (the caller reports corruption).
    static func decompress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) -> Bool {
        let n = LZ4_decompress_safe(
            source.baseAddress?.assumingMemoryBound(to: CChar.self),
            destination.baseAddress?.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        return n == Int32(destination.count)
    }
}
