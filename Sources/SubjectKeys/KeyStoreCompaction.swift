import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension KeyStore {
    /// Rewrites the store without its shredded records: live keys and
    /// tombstones go to `subjects.keys.compact` in chunks, which is synced,
    /// renamed over the store, and the directory synced. The old file goes
    /// with its name; no older version of the store is kept. Blocks other
    /// calls while it runs (its work is one pass over the store).
    public func compact() throws(KeyStoreError) {
        try state.withLock { (s) throws(KeyStoreError) in
            try s.checkOpen(path)
            guard writable else { throw KeyStoreError(.notWritable, "the key store is open read-only; only the appender compacts it", file: path) }
            let temporary = directory + "/" + Self.compactFileName
            let header = try s.compactionHeader(path: path)
            let out = try KeyFileIO.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            do throws(KeyStoreError) {
                try KeyFileIO.pwrite(out, header.encode(), at: 0, path: temporary)
                let written = try s.copyLiveRecords(to: out, temporaryPath: temporary, path: path, chunkRecords: max(1, limits.compactionChunkRecordsMax))
                try KeyFileIO.fsync(out, path: temporary)
                Glibc.close(out)
                try KeyFileIO.rename(temporary, path)
                try KeyFileIO.fsyncDirectory(directory)
                _ = written
            } catch {
                Glibc.close(out)
                try? KeyFileIO.remove(temporary)
                throw error
            }
            try s.reopenAfterCompaction(header: header, path: path, directory: directory, limits: limits)
        }
    }

    /// Compacts when at least `compactionShreddedRecordsMin` records are
    /// shredded; true when it did.
    @discardableResult
    public func compactIfWorthwhile() throws(KeyStoreError) -> Bool {
        guard counts.shreddedRecords >= limits.compactionShreddedRecordsMin else { return false }
        try compact()
        return true
    }
}

extension KeyStoreState {
    func compactionHeader(path: String) throws(KeyStoreError) -> KeyStoreHeader {
        var bytes = [UInt8](repeating: 0, count: KeyStoreHeader.byteCount)
        let read = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(KeyStoreError) in try KeyFileIO.pread(fd, raw, at: 0, path: path) }
        }
        _ = try read.get()
        var header = try KeyStoreHeader.decode(bytes, path: path)
        header.generation += 1
        return header
    }

    /// Copies keys and tombstones (never shredded records), each chunk one
    /// batch, tombstones no longer naming a shredded record.
    func copyLiveRecords(to out: Int32, temporaryPath: String, path: String, chunkRecords: Int) throws(KeyStoreError) -> Int {
        var written = 0
        var batch: UInt64 = 1
        var index = 0
        while index < recordCount {
            let n = min(chunkRecords, recordCount - index)
            var chunk = [UInt8](repeating: 0, count: n * KeyRecord.byteCount)
            let offset = KeyStoreState.offset(ofRecord: index)
            let read = chunk.withUnsafeMutableBytes { raw in
                Result { () throws(KeyStoreError) in try KeyFileIO.pread(fd, raw, at: offset, path: path) }
            }
            guard try read.get() == chunk.count else {
                throw KeyStoreError(.io, "the key store file shrank while it was compacted", file: path, offset: offset)
            }
            var live: [KeyRecord] = []
            live.reserveCapacity(n)
            for i in 0 ..< n {
                guard var record = KeyRecord.decode(chunk, at: i * KeyRecord.byteCount) else {
                    throw KeyStoreError(.corruption, "key store record \(index + i) is damaged; compaction stopped and changed nothing; restore the key store from backup", file: path, offset: offset + Int64(i * KeyRecord.byteCount))
                }
                guard record.kind != .shredded else { continue }
                record.shreddedRecord = 0
                live.append(record)
            }
            index += n
            guard !live.isEmpty else { continue }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(live.count * KeyRecord.byteCount)
            for var record in live {
                record.batch = batch
                record.batchCount = UInt32(live.count)
                record.encode(into: &bytes)
            }
            try KeyFileIO.pwrite(out, bytes, at: KeyStoreState.offset(ofRecord: written), path: temporaryPath)
            written += live.count
            batch += 1
        }
        return written
    }

    mutating func reopenAfterCompaction(header: KeyStoreHeader, path: String, directory: String, limits: KeyStoreLimits) throws(KeyStoreError) {
        let newFD = try KeyFileIO.open(path, flags: O_RDWR)
        Glibc.close(fd)
        fd = newFD
        generation = header.generation
        let scan = try KeyStoreScan.run(fd: fd, path: path, durableMark: 0, limits: limits)
        table = scan.table
        recordCount = scan.recordCount
        nextBatch = scan.nextBatch
        shredded = scan.shredded
        erasureSeqMax = scan.erasureSeqMax
        writeDurableMark(directory: directory)
    }
}

extension KeyStore {
    /// For a read-only store (a replay or dump running beside the server):
    /// reads the store again to see keys created and destroyed since it was
    /// opened, and forgets every cached key (one may have been destroyed).
    /// Costs a full scan of the store.
    public func reload() throws(KeyStoreError) {
        try state.withLock { (s) throws(KeyStoreError) in
            try s.checkOpen(path)
            guard !writable else { return }  // the writer's own view is always current
            let fd = try KeyFileIO.open(path, flags: O_RDONLY)
            do throws(KeyStoreError) {
                let header = try s.compactionHeader(path: path)  // same store id as before
                var bytes = [UInt8](repeating: 0, count: KeyStoreHeader.byteCount)
                let read = bytes.withUnsafeMutableBytes { raw in
                    Result { () throws(KeyStoreError) in try KeyFileIO.pread(fd, raw, at: 0, path: path) }
                }
                bytes = Array(bytes[..<(try read.get())])
                let current = try KeyStoreHeader.decode(bytes, path: path)
                guard current.storeID == header.storeID, current.keyCheck == header.keyCheck else {
                    throw KeyStoreError(.corruption, "the key store was replaced by another store while it was open; open it again", file: path, offset: 24)
                }
                let mark = KeyStoreState.readDurableMark(directory: directory, generation: current.generation)
                let scan = try KeyStoreScan.run(fd: fd, path: path, durableMark: mark, limits: limits)
                Glibc.close(s.fd)
                s.fd = fd
                s.generation = current.generation
                s.table = scan.table
                s.recordCount = scan.recordCount
                s.nextBatch = scan.nextBatch
                s.shredded = scan.shredded
                s.erasureSeqMax = scan.erasureSeqMax
                s.cache.removeAll()
            } catch {
                Glibc.close(fd)
                throw error
            }
        }
    }
}
