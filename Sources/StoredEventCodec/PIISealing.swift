import CareerEvents
import EventLog
import Foundation
import SubjectKeys
import Synchronization

/// The PII paths of every event type and version the registry knows,
/// compiled once: what the writer seals and the readers redact.
public struct PIIPathTable: Sendable {
    private let paths: [String: [Int: PIIPaths]]
    /// Every type and version the registry defines, PII or not.
    private let defined: [String: Set<Int>]

    public init(registry: SchemaRegistry) {
        var paths: [String: [Int: PIIPaths]] = [:]
        var defined: [String: Set<Int>] = [:]
        for type in registry.types {
            for version in registry.versions(of: type) {
                defined[type, default: []].insert(version)
                let fields = registry.piiFields(type: type, version: version)
                if !fields.isEmpty { paths[type, default: [:]][version] = PIIPaths(fields) }
            }
        }
        self.paths = paths
        self.defined = defined
    }

    /// Whether the registry defines `type` at `version` (a type it does not
    /// define has no known PII paths, which is not the same as having none).
    public func defines(type: String, version: UInt32) -> Bool {
        defined[type]?.contains(Int(version)) ?? false
    }

    /// The PII paths of `type` at `version`; `.none` for a type without PII.
    public func paths(type: String, version: UInt32) -> PIIPaths {
        paths[type]?[Int(version)] ?? .none
    }

    /// Every type with at least one PII field.
    public var typesWithPII: [String] { paths.keys.sorted() }
}

/// Seals the PII of events about to be appended (SEALING.md "When a record
/// is sealed"): the writer's half of the privacy promise. Called by the
/// ingest appender and `log import` on a batch, before the batch is
/// written, so the subjects' new keys are durable (one `fdatasync` per
/// batch) before any record sealed with them is.
public final class EventSealer: Sendable {
    /// The event type whose append destroys its subject's key.
    public static let erasureType = "user.erased"

    public let store: KeyStore
    public let table: PIIPathTable

    public init(store: KeyStore, table: PIIPathTable) {
        self.store = store
        self.table = table
    }

    /// Seals `events` in place; returns the indices of events whose PII was
    /// stored as `null` instead (their subject is erased, or an erasure of
    /// it comes earlier in the same batch): their answers say
    /// `"redacted":true`. Events without a PII value are left as they are.
    /// Throws (having changed nothing) when the key store fails: the batch
    /// must not be written.
    public func seal(_ events: inout [LogEvent]) throws -> Set<Int> {
        var pending: [(index: Int, data: JSONObject, paths: PIIPaths)] = []
        var erasedInBatch: [UUID: Int] = [:]  // subject -> index of its first erasure in the batch
        for (i, event) in events.enumerated() {
            if event.type == Self.erasureType, erasedInBatch[event.subject] == nil { erasedInBatch[event.subject] = i }
            let paths = table.paths(type: event.type, version: event.dataVersion)
            guard !paths.isEmpty, event.flags & PIISealer.sealedFlag == 0,
                  case .object(let data)? = try? JSONParser.parse(event.data), paths.hasValue(in: data) else { continue }
            pending.append((i, data, paths))
        }
        guard !pending.isEmpty else { return [] }
        var needKeys: [UUID] = []
        for entry in pending where (erasedInBatch[events[entry.index].subject] ?? Int.max) > entry.index {
            needKeys.append(events[entry.index].subject)
        }
        let recordsBefore = store.counts.records
        let keys = try store.keys(for: needKeys)
        if store.counts.records > recordsBefore { TestCrashPoint.pass(.keysDurable) }
        var sealed = events
        var redacted: Set<Int> = []
        for entry in pending {
            let event = events[entry.index]
            let erasedBefore = erasedInBatch[event.subject].map { $0 < entry.index } ?? false
            if !erasedBefore, case .some(.some(let key)) = keys[event.subject] {
                guard let bytes = try PIISealer.seal(entry.data, paths: entry.paths, id: event.id, subject: event.subject,
                                                     type: event.type, key: key) else { continue }
                sealed[entry.index].data = bytes
                sealed[entry.index].flags |= PIISealer.sealedFlag
            } else {
                sealed[entry.index].data = JSONValue.object(PIISealer.nullPII(entry.data, paths: entry.paths).data).compactBytes
                redacted.insert(entry.index)
            }
        }
        events = sealed
        return redacted
    }

    /// Destroys the keys of the subjects of the `user.erased` events among
    /// `events`, appended (and durable) from `firstSeq` on, recorded at
    /// `recorded` (µs). Call after the batch is durable and before it is
    /// acknowledged.
    public func applyErasures(_ events: [LogEvent], firstSeq: UInt64, recorded: Int64) throws {
        for (i, event) in events.enumerated() where event.type == Self.erasureType {
            TestCrashPoint.pass(.erasureDurable)
            try store.destroy(subject: event.subject, erasureSeq: firstSeq + UInt64(i), time: recorded)
        }
    }

    /// Re-applies every erasure the log holds past the key store's
    /// `erasureSeqMax`: a crash between an erasure's append and its key's
    /// destruction leaves such an erasure. Returns how many were applied.
    /// Reads the log from `erasureSeqMax + 1`, so it costs a full read only
    /// while the store has recorded no erasure yet.
    @discardableResult
    public func reapplyErasures(log: EventLog) throws -> Int {
        let reader = log.reader(fromSeq: store.erasureSeqMax + 1)
        var applied = 0
        while let record = try reader.next() {
            guard record.event.type == Self.erasureType else { continue }
            if case .destroyed = try store.status(record.event.subject) { continue }
            try store.destroy(subject: record.event.subject, erasureSeq: record.seq, time: record.recorded)
            applied += 1
        }
        return applied
    }
}

/// What a reader shows of a stored event's PII (SEALING.md): the readers'
/// half. `redact` needs no key: sealed records show their clear part, and
/// records written before sealing have their PII values replaced by
/// `null`. `include` unseals with the subject's key where one exists.
public final class RecordOpener: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Every PII value `null` (the analysts' default).
        case redact
        /// PII in clear where the subject's key exists (needs the master
        /// key). A nil store: no key store exists (nothing was ever sealed),
        /// so records show as stored.
        case include(KeyStore?)

        public static func == (a: Mode, b: Mode) -> Bool {
            switch (a, b) {
            case (.redact, .redact): return true
            case (.include(let x), .include(let y)): return x === y
            default: return false
            }
        }
    }

    public let mode: Mode
    public let table: PIIPathTable
    /// When a read-only store last read the writer's file (µs, system clock).
    private let reloadedAt = Mutex<Int64>(0)

    public init(mode: Mode, table: PIIPathTable) {
        self.mode = mode
        self.table = table
    }

    /// The record as the reader may see it: `data` plain JSON (flag 0) and
    /// whether any PII value was withheld (`"redacted": true`).
    public func open(_ record: EventRecord) throws -> (record: EventRecord, redacted: Bool) {
        var out = record
        let event = record.event
        if event.flags & PIISealer.sealedFlag != 0 {
            out.event.flags &= ~PIISealer.sealedFlag
            if case .include(let store?) = mode, let key = try key(store, event.subject, recorded: record.recorded) {
                out.event.data = try PIISealer.unseal(event.data, id: event.id, subject: event.subject, type: event.type, key: key)
                return (out, false)
            }
            out.event.data = try PIISealer.redact(event.data)
            return (out, true)
        }
        let paths = table.paths(type: event.type, version: event.dataVersion)
        guard !paths.isEmpty, case .object(let data)? = try? JSONParser.parse(event.data) else { return (out, false) }
        let erased: Bool
        switch mode {
        case .redact: erased = true
        case .include(nil): erased = false
        case .include(let store?):
            if case .destroyed = try store.status(event.subject) { erased = true } else { erased = false }
        }
        guard erased else { return (out, false) }
        let (clear, nulled) = PIISealer.nullPII(data, paths: paths)
        if nulled > 0 { out.event.data = JSONValue.object(clear).compactBytes }
        // Stored with its PII already null (the subject was erased when it
        // arrived) or redacted now: either way PII was withheld.
        return (out, nulled > 0 || paths.hasMember(in: data))
    }

    /// A read-only store sees keys the writer made since it opened only
    /// after a reload (a full read of the store). A subject's key is durable
    /// before its first sealed record is appended, so a reload started after
    /// the record's recorded time sees it: one reload serves every record
    /// recorded before it, and an unknown subject in a record recorded
    /// before the last reload has no key (its subject's key store was lost
    /// or replaced) without reading the store again.
    private func key(_ store: KeyStore, _ subject: UUID, recorded: Int64) throws -> DataKey? {
        if let key = try store.key(for: subject) { return key }
        guard case .none = try store.status(subject) else { return nil }
        let stale = reloadedAt.withLock { $0 <= recorded }
        guard stale else { return nil }
        let now = KeyStore.systemMicroseconds()
        try store.reload()
        reloadedAt.withLock { $0 = max($0, now) }
        return try store.key(for: subject)
    }
}

/// Crash points for the crash tests, off unless `CAREERLOG_TEST_CRASH_AT`
/// is set (`keys-durable:N` or `erasure-durable:N`): the process then kills
/// itself with SIGKILL the N-th time it passes that point, so a test can
/// stop it exactly between a new key's sync and the append of the records
/// sealed with it, or between an erasure's append and its key's
/// destruction, which a random kill rarely hits. Unset, a pass costs one
/// check of a constant.
enum TestCrashPoint: String {
    case keysDurable = "keys-durable"
    case erasureDurable = "erasure-durable"

    static let environmentVariable = "CAREERLOG_TEST_CRASH_AT"

    private static let armed: (point: TestCrashPoint, passes: Int)? = {
        guard let value = ProcessInfo.processInfo.environment[environmentVariable] else { return nil }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let point = TestCrashPoint(rawValue: String(parts[0])), let n = Int(parts[1]), n > 0 else { return nil }
        return (point, n)
    }()
    private static let passes = Atomic<Int>(0)

    static func pass(_ point: TestCrashPoint) {
        guard let armed, armed.point == point else { return }
        if passes.add(1, ordering: .relaxed).newValue == armed.passes { kill(getpid(), SIGKILL) }
    }
}
