import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where a subject's data key stands.
public enum SubjectKeyStatus: Sendable, Equatable {
    /// No key was ever made: the subject has had no PII-bearing event.
    case none
    /// A key exists, made at `createdAt` (µs since the epoch).
    case active(createdAt: Int64)
    /// The key was destroyed by the erasure event `erasureSeq` at `erasedAt`.
    case destroyed(erasureSeq: UInt64, erasedAt: Int64)
}

/// The key store's limits (KEYSTORE.md "Limits"), each with why.
public struct KeyStoreLimits: Sendable {
    /// Records in the store (128 bytes each): 16 Mi records = 2 GiB, room for
    /// 16 million subjects, and record numbers stay far below 2^31.
    public var recordsMax: Int = 16 << 20
    /// Unwrapped data keys kept in memory: about 150 bytes each, so 65,536
    /// keys are ~10 MB; a miss costs one pread and one AES-GCM open (~2 µs).
    public var unwrappedKeysCachedMax: Int = 65_536
    /// New keys one `keys(for:)` call may create (one ingest batch's
    /// subjects): bounds the one write and the time the store is locked.
    public var subjectsPerCallMax: Int = 65_536
    /// Records compaction reads and writes at once (1 MiB): bounds its memory.
    public var compactionChunkRecordsMax: Int = 8_192
    /// `compactIfWorthwhile` rewrites the store only past this many shredded
    /// records, so the full rewrite is paid at most once per 1,024 erasures.
    public var compactionShreddedRecordsMin: Int = 1_024

    public init() {}
}

/// Per-subject data keys on disk (KEYSTORE.md): created durably before the
/// first event sealed with them, destroyed (crypto-shredded) on erasure.
///
/// Thread-safe; one writer per directory (`LOCK`). The ingest appender
/// calls `keys(for:)` once per batch and `destroy` per erasure; readers
/// (replay, dump, projector) open it `.readOnly` (or share the writer's
/// instance) and call `key(for:)`.
public final class KeyStore: Sendable {
    public enum Mode: Sendable { case readWrite, readOnly }

    /// The store file's name inside the keys directory.
    public static let storeFileName = "subjects.keys"
    static let compactFileName = "subjects.keys.compact"
    static let durableFileName = "DURABLE"
    static let lockFileName = "LOCK"

    /// The keys directory (`<data-dir>/keys`).
    public let directory: String
    let path: String
    let writable: Bool
    let limits: KeyStoreLimits
    let kek: DataKey
    let now: @Sendable () -> Int64
    let state: Mutex<KeyStoreState>

    init(directory: String, writable: Bool, limits: KeyStoreLimits, kek: DataKey,
         now: @escaping @Sendable () -> Int64, state: consuming KeyStoreState) {
        self.directory = directory
        self.path = directory + "/" + Self.storeFileName
        self.writable = writable
        self.limits = limits
        self.kek = kek
        self.now = now
        self.state = Mutex(state)
    }

    deinit {
        state.withLock { $0.closeFiles() }
    }

    /// The microseconds since the epoch, the default clock.
    @Sendable public static func systemMicroseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    // MARK: - The appender's calls

    /// The data key of every subject in `subjects`, creating the missing
    /// ones; nil for an erased subject (store its PII as `null`, never seal
    /// it with a new key). New keys are durable (one `fdatasync` for the
    /// whole call) before this returns.
    public func keys(for subjects: some Collection<UUID>) throws(KeyStoreError) -> [UUID: DataKey?] {
        try state.withLock { (s) throws(KeyStoreError) -> [UUID: DataKey?] in
            try s.checkOpen(path)
            var result: [UUID: DataKey?] = [:]
            result.reserveCapacity(subjects.count)
            var created: [(subject: UUID, key: DataKey, record: KeyRecord)] = []
            let time = now()
            for subject in subjects where result[subject] == nil {
                if let entry = s.table.find(subject) {
                    if entry.erased {
                        result[subject] = .some(nil)
                    } else {
                        result[subject] = try s.key(subject, record: entry.record, kek: kek, path: path)
                    }
                    continue
                }
                let key = DataKey.random()
                let wrap = try KeyRecord.wrap(key, subject: subject, keyVersion: 1, kek: kek)
                created.append((subject, key, KeyRecord(kind: .key, subject: subject, created: time, wrap: wrap)))
                result[subject] = key
            }
            guard !created.isEmpty else { return result }
            guard writable else { throw KeyStoreError(.notWritable, "the key store is open read-only; only the appender creates keys", file: path) }
            guard created.count <= limits.subjectsPerCallMax else {
                throw KeyStoreError(.limit, "\(created.count) new subjects in one call; at most subjectsPerCallMax = \(limits.subjectsPerCallMax)", file: path)
            }
            let first = try s.append(created.map(\.record), limits: limits, path: path, directory: directory)
            for (i, entry) in created.enumerated() {
                s.table.set(entry.subject, .init(record: first + i, erased: false))
                s.cache.put(entry.subject, entry.key)
            }
            return result
        }
    }

    /// Crypto-shreds `subject`'s data key: appends a tombstone (subject,
    /// `erasureSeq`, `time`), syncs it, then overwrites the key record's
    /// wrapped key with zeros and syncs again. When this returns no file
    /// under the keys directory holds the wrapped key, and `keys(for:)`
    /// answers nil for the subject from then on. A subject without a key gets
    /// a tombstone too. Destroying again changes nothing and returns the
    /// first erasure's status.
    @discardableResult
    public func destroy(subject: UUID, erasureSeq: UInt64, time: Int64) throws(KeyStoreError) -> SubjectKeyStatus {
        try state.withLock { (s) throws(KeyStoreError) -> SubjectKeyStatus in
            try s.checkOpen(path)
            guard writable else { throw KeyStoreError(.notWritable, "the key store is open read-only; only the appender destroys keys", file: path) }
            let existing = s.table.find(subject)
            if let existing, existing.erased { return try s.status(record: existing.record, path: path) }
            var tombstone = KeyRecord(kind: .erased, subject: subject, created: now())
            tombstone.erasureSeq = erasureSeq
            tombstone.erasedAt = time
            tombstone.shreddedRecord = existing.map { UInt32($0.record + 1) } ?? 0
            let index = try s.append([tombstone], limits: limits, path: path, directory: directory)
            s.table.set(subject, .init(record: index, erased: true))
            s.cache.remove(subject)
            s.erasureSeqMax = max(s.erasureSeqMax, erasureSeq)
            if let existing {
                try s.shred(record: existing.record, subject: subject, path: path)
                try KeyFileIO.fdatasync(s.fd, path: path)
            }
            return .destroyed(erasureSeq: erasureSeq, erasedAt: time)
        }
    }

    // MARK: - Readers' calls

    /// The data key of `subject` without creating one: nil when the subject
    /// never had one or was erased (`status` tells which).
    public func key(for subject: UUID) throws(KeyStoreError) -> DataKey? {
        try state.withLock { (s) throws(KeyStoreError) -> DataKey? in
            try s.checkOpen(path)
            guard let entry = s.table.find(subject), !entry.erased else { return nil }
            return try s.key(subject, record: entry.record, kek: kek, path: path)
        }
    }

    /// Whether `subject` has a key, had one destroyed, or never had one.
    public func status(_ subject: UUID) throws(KeyStoreError) -> SubjectKeyStatus {
        try state.withLock { (s) throws(KeyStoreError) -> SubjectKeyStatus in
            try s.checkOpen(path)
            guard let entry = s.table.find(subject) else { return .none }
            return try s.status(record: entry.record, path: path)
        }
    }

    /// The largest erasure seq recorded: on start, the runtime re-applies
    /// `destroy` for every `user.erased` in the log after it (an erasure whose
    /// log append was durable but whose destroy was cut short by a crash).
    public var erasureSeqMax: UInt64 { state.withLock { $0.erasureSeqMax } }

    /// Counts for status output and tests.
    public var counts: (records: Int, subjects: Int, shreddedRecords: Int, cachedKeys: Int) {
        state.withLock { ($0.recordCount, $0.table.count, $0.shredded, $0.cache.count) }
    }

    /// Bytes held by the subject index (not the key cache).
    public var indexBytes: Int { state.withLock { $0.table.bytesAllocated } }

    /// Closes the files (and releases the writer's lock). Later calls throw.
    public func close() {
        state.withLock { $0.closeFiles() }
    }
}
