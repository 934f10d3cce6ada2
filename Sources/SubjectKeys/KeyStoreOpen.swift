import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension KeyStore {
    /// Opens (or, `.readWrite`, creates) the key store in `directory`
    /// (`<data-dir>/keys`), checks the master key against the header, and
    /// recovers (KEYSTORE.md "Recovery"): a torn tail is cut, a torn shred
    /// re-done, damage before the durable end reported with file and offset.
    public static func open(
        directory: String, masterKey: MasterKey, mode: Mode = .readWrite,
        limits: KeyStoreLimits = KeyStoreLimits(),
        now: @escaping @Sendable () -> Int64 = KeyStore.systemMicroseconds
    ) throws(KeyStoreError) -> KeyStore {
        let writable = mode == .readWrite
        let path = directory + "/" + storeFileName
        var lockFD: Int32 = -1
        if writable {
            try KeyFileIO.makeDirectory(directory)
            lockFD = try lock(directory)
        }
        do throws(KeyStoreError) {
            if writable { try removeLeftoverCompaction(directory) }
            if !KeyFileIO.exists(path) {
                guard writable else {
                    throw KeyStoreError(.notFound, "no key store here; it is made by the server on the first PII-bearing event", file: path)
                }
                try create(path: path, directory: directory, masterKey: masterKey, now: now())
            }
            let fd = try KeyFileIO.open(path, flags: writable ? O_RDWR : O_RDONLY)
            let state = try load(fd: fd, lockFD: lockFD, path: path, directory: directory, masterKey: masterKey,
                                 writable: writable, limits: limits)
            let kek = state.kek
            if writable { state.state.writeDurableMark(directory: directory) }
            return KeyStore(directory: directory, writable: writable, limits: limits, kek: kek, now: now, state: state.state)
        } catch {
            if lockFD >= 0 { Glibc.close(lockFD) }
            throw error
        }
    }

    private static func lock(_ directory: String) throws(KeyStoreError) -> Int32 {
        let lockPath = directory + "/" + lockFileName
        let fd = try KeyFileIO.open(lockPath, flags: O_RDWR | O_CREAT)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(fd)
            throw KeyStoreError(.locked, "another process has the key store open for writing (one appender per data directory)", file: lockPath)
        }
        return fd
    }

    /// A compaction output left by a crash holds copies of live keys: if it
    /// stayed, a later erasure could not shred them. Delete it first.
    private static func removeLeftoverCompaction(_ directory: String) throws(KeyStoreError) {
        let leftover = directory + "/" + compactFileName
        guard KeyFileIO.exists(leftover) else { return }
        try KeyFileIO.remove(leftover)
        try KeyFileIO.fsyncDirectory(directory)
    }

    /// A new store: header written to the temporary name, synced, renamed.
    private static func create(path: String, directory: String, masterKey: MasterKey, now: Int64) throws(KeyStoreError) {
        let storeID = SymmetricKey(size: .bits128).withUnsafeBytes { [UInt8]($0) }
        let derived = DerivedKeys(master: masterKey, storeID: storeID)
        let header = KeyStoreHeader(storeID: storeID, keyCheck: derived.keyCheck, created: now)
        let temporary = directory + "/" + compactFileName
        let fd = try KeyFileIO.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { Glibc.close(fd) }
        try KeyFileIO.pwrite(fd, header.encode(), at: 0, path: temporary)
        try KeyFileIO.fsync(fd, path: temporary)
        try KeyFileIO.rename(temporary, path)
        try KeyFileIO.fsyncDirectory(directory)
    }

    struct Loaded {
        var state: KeyStoreState
        var kek: DataKey
    }

    static func load(
        fd: Int32, lockFD: Int32, path: String, directory: String, masterKey: MasterKey,
        writable: Bool, limits: KeyStoreLimits
    ) throws(KeyStoreError) -> Loaded {
        do throws(KeyStoreError) {
            var headerBytes = [UInt8](repeating: 0, count: KeyStoreHeader.byteCount)
            let read = headerBytes.withUnsafeMutableBytes { raw in
                Result { () throws(KeyStoreError) in try KeyFileIO.pread(fd, raw, at: 0, path: path) }
            }
            headerBytes = Array(headerBytes[..<(try read.get())])
            let header = try KeyStoreHeader.decode(headerBytes, path: path)
            let derived = DerivedKeys(master: masterKey, storeID: header.storeID)
            guard derived.keyCheck == header.keyCheck else {
                throw KeyStoreError(.wrongMasterKey, "the master key is not the one this key store was created with; nothing was read or written. Use the original master key (file or \(MasterKey.environmentVariable))", file: path, offset: 40)
            }
            let mark = KeyStoreState.readDurableMark(directory: directory, generation: header.generation)
            let scan = try KeyStoreScan.run(fd: fd, path: path, durableMark: mark, limits: limits)
            var state = KeyStoreState(
                fd: fd, lockFD: lockFD, table: scan.table, cache: KeyCache(capacity: limits.unwrappedKeysCachedMax),
                recordCount: scan.recordCount, nextBatch: scan.nextBatch, generation: header.generation)
            state.shredded = scan.shredded
            state.erasureSeqMax = scan.erasureSeqMax
            if writable { try repair(&state, scan: scan, path: path) }
            return Loaded(state: state, kek: derived.kek)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Cuts a torn tail and finishes shreds a crash interrupted, then syncs.
    private static func repair(_ state: inout KeyStoreState, scan: KeyStoreScan.Outcome, path: String) throws(KeyStoreError) {
        let end = KeyStoreState.offset(ofRecord: scan.recordCount)
        let needsCut = scan.fileSize != end
        guard needsCut || !scan.pendingShreds.isEmpty else { return }
        if needsCut { try KeyFileIO.truncate(state.fd, to: end, path: path) }
        for pending in scan.pendingShreds {
            try state.shred(record: pending.record, subject: pending.subject, path: path)
        }
        try KeyFileIO.fdatasync(state.fd, path: path)
    }
}
