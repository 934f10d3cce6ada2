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

extension LZ4 {
    /// The largest dictionary LZ4 can use (its window).
    static let dictionaryBytesMax = 64 << 10

    /// Compresses `source` with LZ4 HC at `level` against `dictionary` (the
    /// block then decodes only with the same dictionary). `stream` is reused
    /// between calls; every call starts from the dictionary alone, so each
    /// block stays independently decodable. Returns the compressed length,
    /// or 0 when it did not fit `destination`.
    static func compressHC(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
        dictionary: UnsafeRawBufferPointer, level: Int32, stream: UnsafeMutablePointer<LZ4_streamHC_t>
    ) -> Int {
        LZ4_resetStreamHC_fast(stream, level)
        if !dictionary.isEmpty {
            LZ4_loadDictHC(stream, dictionary.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(dictionary.count))
        }
        let n = LZ4_compress_HC_continue(
            stream,
            source.baseAddress?.assumingMemoryBound(to: CChar.self),
            destination.baseAddress?.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        return Int(max(0, n))
    }


    /// Like `decompress`, for a block compressed against `dictionary`.
    static func decompress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, dictionary: UnsafeRawBufferPointer
    ) -> Bool {
        decompress(source, upTo: destination, dictionary: dictionary) == destination.count
    }

    /// Decompresses a block compressed against `dictionary` whose length is
    /// not known beforehand (at most `destination.count`); nil when malformed.
    static func decompress(
        _ source: UnsafeRawBufferPointer, upTo destination: UnsafeMutableRawBufferPointer, dictionary: UnsafeRawBufferPointer
    ) -> Int? {
        let n = LZ4_decompress_safe_usingDict(
            source.baseAddress?.assumingMemoryBound(to: CChar.self),
            destination.baseAddress?.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count),
            dictionary.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(dictionary.count))
        return n >= 0 ? Int(n) : nil
    }
}
