import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the store's lock guards: the open file, the index, the cache and
/// the counters. Every method runs with the lock held.
struct KeyStoreState {
    var fd: Int32
    var lockFD: Int32
    var table: SubjectTable
    var cache: KeyCache
    var recordCount: Int
    var nextBatch: UInt64
    var generation: UInt64
    var shredded = 0
    var erasureSeqMax: UInt64 = 0
    var closed = false

    static func offset(ofRecord index: Int) -> Int64 {
        Int64(KeyStoreHeader.byteCount + index * KeyRecord.byteCount)
    }

    func checkOpen(_ path: String) throws(KeyStoreError) {
        if closed { throw KeyStoreError(.notWritable, "the key store was closed", file: path) }
    }

    mutating func closeFiles() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
        if lockFD >= 0 { Glibc.close(lockFD) }  // closing releases the flock
        cache.removeAll()
    }

    func readRecord(_ index: Int, path: String) throws(KeyStoreError) -> KeyRecord {
        var bytes = [UInt8](repeating: 0, count: KeyRecord.byteCount)
        let offset = Self.offset(ofRecord: index)
        let read = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(KeyStoreError) in try KeyFileIO.pread(fd, raw, at: offset, path: path) }
        }
        guard try read.get() == KeyRecord.byteCount, let record = KeyRecord.decode(bytes, at: 0) else {
            throw KeyStoreError(.corruption, "key store record \(index) is damaged (CRC or fields); restore the key store from backup", file: path, offset: offset)
        }
        return record
    }

    /// The unwrapped key of a live key record, from the cache or the file.
    mutating func key(_ subject: UUID, record index: Int, kek: DataKey, path: String) throws(KeyStoreError) -> DataKey {
        if let key = cache.get(subject) { return key }
        let record = try readRecord(index, path: path)
        guard record.kind == .key, record.subject == subject else {
            throw KeyStoreError(.corruption, "key store record \(index) is not the key of the subject the index names", file: path, offset: Self.offset(ofRecord: index))
        }
        guard let key = KeyRecord.unwrap(record.wrap, subject: subject, keyVersion: record.keyVersion, kek: kek) else {
            throw KeyStoreError(.corruption, "key store record \(index) does not unwrap with this master key although the key check matched; restore the key store from backup", file: path, offset: Self.offset(ofRecord: index))
        }
        cache.put(subject, key)
        return key
    }

    func status(record index: Int, path: String) throws(KeyStoreError) -> SubjectKeyStatus {
        let record = try readRecord(index, path: path)
        switch record.kind {
        case .key: return .active(createdAt: record.created)
        case .erased: return .destroyed(erasureSeq: record.erasureSeq, erasedAt: record.erasedAt)
        case .shredded: return .none  // unreachable: the index never points at a shredded record
        }
    }

    /// Appends `records` as one batch with one `pwrite` and one `fdatasync`;
    /// returns the first one's index. On failure the file is cut back to
    /// where it was, so a half-written batch never stays behind.
    mutating func append(_ records: [KeyRecord], limits: KeyStoreLimits, path: String, directory: String) throws(KeyStoreError) -> Int {
        guard recordCount + records.count <= min(limits.recordsMax, SubjectTable.recordNumberMax) else {
            throw KeyStoreError(.limit, "the key store holds \(recordCount) records; \(records.count) more would pass recordsMax = \(limits.recordsMax); compact it or raise the limit", file: path)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.count * KeyRecord.byteCount)
        for var record in records {
            record.batch = nextBatch
            record.batchCount = UInt32(records.count)
            record.encode(into: &bytes)
        }
        let first = recordCount
        let offset = Self.offset(ofRecord: first)
        do throws(KeyStoreError) {
            try KeyFileIO.pwrite(fd, bytes, at: offset, path: path)
            try KeyFileIO.fdatasync(fd, path: path)
        } catch {
            _ = ftruncate(fd, off_t(offset))
            throw error
        }
        recordCount += records.count
        nextBatch += 1
        writeDurableMark(directory: directory)
        return first
    }

    /// Overwrites key record `index` as shredded: nonce, wrapped key and tag
    /// zeroed, new CRC. The caller syncs.
    mutating func shred(record index: Int, subject: UUID, path: String) throws(KeyStoreError) {
        let old = try? readRecord(index, path: path)
        var record = KeyRecord(kind: .shredded, subject: subject, created: old?.created ?? 0)
        record.keyVersion = old?.keyVersion ?? 1
        record.batch = old?.batch ?? 1
        record.batchCount = old?.batchCount ?? 1
        var bytes: [UInt8] = []
        record.encode(into: &bytes)
        try KeyFileIO.pwrite(fd, bytes, at: Self.offset(ofRecord: index), path: path)
        shredded += 1
    }

    /// Rewrites `DURABLE` (not synced: it can only lag the truth).
    func writeDurableMark(directory: String) {
        var bytes = Array("CLKD".utf8)
        appendLittleEndian(generation, to: &bytes)
        appendLittleEndian(UInt64(recordCount), to: &bytes)
        appendLittleEndian(CRC32C.checksum(bytes[...]), to: &bytes)
        let path = directory + "/" + KeyStore.durableFileName
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }  // a hint only: recovery works without it
        defer { Glibc.close(fd) }
        _ = bytes.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// The record count `DURABLE` names for `generation`; 0 when it is
    /// missing, damaged or of another generation.
    static func readDurableMark(directory: String, generation: UInt64) -> Int {
        let path = directory + "/" + KeyStore.durableFileName
        guard let bytes = try? KeyFileIO.readSmallFile(path, bytesMax: 64), bytes.count == 24,
              Array(bytes[0..<4]) == Array("CLKD".utf8),
              CRC32C.checksum(bytes[0..<20]) == (loadLittleEndian(bytes, at: 20) as UInt32),
              (loadLittleEndian(bytes, at: 4) as UInt64) == generation else { return 0 }
        return Int(clamping: loadLittleEndian(bytes, at: 12) as UInt64)
    }
}
