import CareerEvents
import Crypto
import Foundation
import XCTest
@testable import SubjectKeys

final class KeyStoreTests: XCTestCase {
    var directory = ""
    let master = try! MasterKey(bytes: [UInt8](repeating: 0x42, count: 32))
    let clock: @Sendable () -> Int64 = { 1_700_000_000_000_000 }

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "subjectkeys-\(UUID().uuidString)/keys"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent)
    }

    var storePath: String { directory + "/" + KeyStore.storeFileName }
    var durablePath: String { directory + "/DURABLE" }

    func open(_ mode: KeyStore.Mode = .readWrite, limits: KeyStoreLimits = KeyStoreLimits()) throws -> KeyStore {
        try KeyStore.open(directory: directory, masterKey: master, mode: mode, limits: limits, now: clock)
    }

    static func subjects(_ n: Int, seed: UInt8 = 0) -> [UUID] {
        (0..<n).map { i in
            var b = [UInt8](repeating: seed, count: 16)
            b[0] = UInt8(i & 0xFF); b[1] = UInt8((i >> 8) & 0xFF); b[2] = UInt8(i >> 16); b[6] = 0x40; b[8] = 0x80
            return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
        }
    }

    static func bytes(_ key: DataKey?) -> [UInt8]? { key?.withUnsafeBytes { [UInt8]($0) } }

    func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    func write(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// Every file under the keys directory, with its bytes.
    func allFiles() throws -> [(String, [UInt8])] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map { ($0, try read(directory + "/" + $0)) }
    }

    // MARK: - Keys and durability

    func testKeysAreCreatedOnceAndSurviveReopen() throws {
        let subjects = Self.subjects(3)
        var store: KeyStore? = try open()
        let first = try store!.keys(for: subjects + [subjects[0]])
        XCTAssertEqual(first.count, 3)
        let again = try store!.keys(for: [subjects[1]])
        XCTAssertEqual(Self.bytes(again[subjects[1]]!), Self.bytes(first[subjects[1]]!))
        XCTAssertEqual(store!.counts.records, 3)
        XCTAssertEqual(try store!.status(subjects[2]), .active(createdAt: 1_700_000_000_000_000))
        XCTAssertEqual(try store!.status(Self.subjects(1, seed: 9)[0]), .none)
        store!.close()
        store = nil

        let reopened = try open(.readOnly)
        for s in subjects {
            XCTAssertEqual(Self.bytes(try reopened.key(for: s)), Self.bytes(first[s]!))
        }
        XCTAssertEqual(try read(storePath).count, 128 + 3 * 128)
    }

    func testTheCacheIsBoundedAndMissesReadTheFile() throws {
        var limits = KeyStoreLimits()
        limits.unwrappedKeysCachedMax = 4
        let store = try open(limits: limits)
        let subjects = Self.subjects(10)
        let keys = try store.keys(for: subjects)
        XCTAssertEqual(store.counts.cachedKeys, 4)
        for s in subjects { XCTAssertEqual(Self.bytes(try store.key(for: s)), Self.bytes(keys[s]!)) }
        XCTAssertEqual(store.counts.cachedKeys, 4)
    }

    func testLimitsAreEnforced() throws {
        var limits = KeyStoreLimits()
        limits.subjectsPerCallMax = 2
        limits.recordsMax = 3
        let store = try open(limits: limits)
        XCTAssertThrowsError(try store.keys(for: Self.subjects(3))) { XCTAssertEqual(($0 as? KeyStoreError)?.code, .limit) }
        _ = try store.keys(for: Self.subjects(2))
        _ = try store.keys(for: Self.subjects(1, seed: 3))
        XCTAssertThrowsError(try store.keys(for: Self.subjects(1, seed: 4))) { XCTAssertEqual(($0 as? KeyStoreError)?.code, .limit) }
        XCTAssertEqual(store.counts.records, 3)
    }

    func testOneWriterAtATime() throws {
        let store = try open()
        XCTAssertThrowsError(try open()) { XCTAssertEqual(($0 as? KeyStoreError)?.code, .locked) }
        XCTAssertNoThrow(try open(.readOnly))
        store.close()
        XCTAssertNoThrow(try open())
    }

    // MARK: - Master key

    func testWrongOrMissingMasterKeyIsRefused() throws {
        _ = try open().keys(for: Self.subjects(1))
        let other = try MasterKey(bytes: [UInt8](repeating: 0x43, count: 32))
        XCTAssertThrowsError(try KeyStore.open(directory: directory, masterKey: other)) { error in
            let e = error as? KeyStoreError
            XCTAssertEqual(e?.code, .wrongMasterKey)
            XCTAssertEqual(e?.file, self.storePath)
        }
        // The store exists, so a missing default file is an error, never a new key.
        XCTAssertThrowsError(try MasterKey.resolve(keysDirectory: directory, environment: [:], createIfMissing: true)) {
            XCTAssertEqual(($0 as? KeyStoreError)?.code, .missingMasterKey)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/master.key"))
    }

    func testTheDefaultMasterKeyFileIsCreatedPrivateAndChecked() throws {
        let fresh = directory + "/fresh"
        let key = try MasterKey.resolve(keysDirectory: fresh, environment: [:], createIfMissing: true)
        let path = fresh + "/master.key"
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertEqual(try read(path).count, 32)
        let again = try MasterKey.resolve(keysDirectory: fresh, environment: [:], createIfMissing: true)
        XCTAssertEqual(Self.bytes(again.key), Self.bytes(key.key))

        chmod(path, 0o640)
        XCTAssertThrowsError(try MasterKey.load(file: path)) { XCTAssertEqual(($0 as? KeyStoreError)?.code, .badMasterKey) }
        chmod(path, 0o600)
        try write([UInt8](repeating: 1, count: 31), path)
        chmod(path, 0o600)
        XCTAssertThrowsError(try MasterKey.load(file: path)) { XCTAssertEqual(($0 as? KeyStoreError)?.code, .badMasterKey) }
        XCTAssertThrowsError(try MasterKey.resolve(keysDirectory: fresh, file: fresh + "/elsewhere.key", environment: [:], createIfMissing: true)) {
            XCTAssertEqual(($0 as? KeyStoreError)?.code, .missingMasterKey)
        }
    }

    /// `log import --data-dir NEW` on a directory that does not exist yet:
    /// the log makes its parents, so the key store must too.
    func testAFirstStartCreatesTheDataDirectoryAboveTheKeys() throws {
        let fresh = directory + "/new-data-dir/deeper/keys"
        let key = try MasterKey.resolve(keysDirectory: fresh, environment: [:], createIfMissing: true)
        let store = try KeyStore.open(directory: fresh, masterKey: key, mode: .readWrite, now: clock)
        defer { store.close() }
        XCTAssertEqual(try read(fresh + "/master.key").count, 32)
        let attributes = try FileManager.default.attributesOfItem(atPath: fresh)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o700)
    }

    func testTheEnvironmentVariableTakesHexOrBase64() throws {
        let hex = String(repeating: "42", count: 32)
        let fromHex = try MasterKey.resolve(keysDirectory: directory, environment: [MasterKey.environmentVariable: hex], createIfMissing: false)
        XCTAssertEqual(Self.bytes(fromHex.key), [UInt8](repeating: 0x42, count: 32))
        let base64 = Data([UInt8](repeating: 0x42, count: 32)).base64EncodedString()
        let fromBase64 = try MasterKey.resolve(keysDirectory: directory, environment: [MasterKey.environmentVariable: base64], createIfMissing: false)
        XCTAssertEqual(Self.bytes(fromBase64.key), [UInt8](repeating: 0x42, count: 32))
        XCTAssertThrowsError(try MasterKey.parse(environmentValue: "abcd")) { XCTAssertEqual(($0 as? KeyStoreError)?.code, .badMasterKey) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/master.key"))
    }

    // MARK: - Torn tails and corruption

    func testATornLastRecordIsCutAtEveryOffset() throws {
        let early = Self.subjects(3)
        let late = Self.subjects(1, seed: 7)[0]
        var store: KeyStore? = try open()
        let keys = try store!.keys(for: early)
        let durableBefore = try read(durablePath)
        _ = try store!.keys(for: [late])
        store!.close()
        store = nil
        let full = try read(storePath)
        XCTAssertEqual(full.count, 128 + 4 * 128)
        for cut in 0 ..< 128 {
            for garbage in [false, true] {
                var torn = Array(full.prefix(128 + 3 * 128 + cut))
                if garbage { torn += [UInt8](repeating: 0xA5, count: 128 - cut) }
                try write(torn, storePath)
                try write(durableBefore, durablePath)  // the crash came before the mark was rewritten
                let reopened = try open()
                XCTAssertEqual(reopened.counts.records, 3, "cut \(cut) garbage \(garbage)")
                XCTAssertEqual(try reopened.status(late), .none)
                for s in early { XCTAssertEqual(Self.bytes(try reopened.key(for: s)), Self.bytes(keys[s]!)) }
                reopened.close()
                XCTAssertEqual(try read(storePath).count, 128 + 3 * 128, "cut \(cut) garbage \(garbage)")
            }
        }
    }

    func testATornBatchIsCutFromItsFirstRecord() throws {
        var store: KeyStore? = try open()
        _ = try store!.keys(for: Self.subjects(2))
        let durableBefore = try read(durablePath)
        let batch = Self.subjects(3, seed: 5)
        _ = try store!.keys(for: batch)
        store!.close()
        store = nil
        var bytes = try read(storePath)
        bytes[128 + 3 * 128 + 10] ^= 0xFF  // the batch's middle record never reached the disk whole
        try write(bytes, storePath)
        try write(durableBefore, durablePath)
        let reopened = try open()
        XCTAssertEqual(reopened.counts.records, 2)
        for s in batch { XCTAssertEqual(try reopened.status(s), .none) }
    }

    func testDamageBeforeTheDurableEndIsReportedWithFileAndOffset() throws {
        var store: KeyStore? = try open()
        for i in 0 ..< 5 { _ = try store!.keys(for: Self.subjects(1, seed: UInt8(i))) }
        store!.close()
        store = nil
        var bytes = try read(storePath)
        bytes[128 + 1 * 128 + 30] ^= 0x01
        try write(bytes, storePath)
        for mode in [KeyStore.Mode.readWrite, .readOnly] {
            XCTAssertThrowsError(try open(mode)) { error in
                let e = error as? KeyStoreError
                XCTAssertEqual(e?.code, .corruption)
                XCTAssertEqual(e?.file, self.storePath)
                XCTAssertEqual(e?.offset, 128 + 128)
            }
        }
        // Without the mark, the later complete batches still prove it is not a torn tail.
        try FileManager.default.removeItem(atPath: durablePath)
        XCTAssertThrowsError(try open()) { XCTAssertEqual(($0 as? KeyStoreError)?.offset, 256) }
        XCTAssertEqual(try read(storePath), bytes, "a refused open changes nothing")
    }

    func testAStoreShorterThanItsDurableEndIsReported() throws {
        var store: KeyStore? = try open()
        _ = try store!.keys(for: Self.subjects(4))
        store!.close()
        store = nil
        try write(Array(try read(storePath).prefix(128 + 2 * 128)), storePath)
        XCTAssertThrowsError(try open()) { error in
            XCTAssertEqual((error as? KeyStoreError)?.code, .corruption)
            XCTAssertEqual((error as? KeyStoreError)?.offset, 128 + 2 * 128)
        }
    }

    // MARK: - Crypto-shredding

    func testDestroyLeavesNoKeyMaterialInAnyFileEvenAfterCompaction() throws {
        let erased = Self.subjects(1, seed: 1)[0]
        let kept = Self.subjects(1, seed: 2)[0]
        let store = try open()
        let keys = try store.keys(for: [erased, kept])
        let dataKey = try XCTUnwrap(Self.bytes(keys[erased]!))
        let wrapped = try store.state.withLock { try $0.readRecord($0.table.find(erased)!.record, path: storePath).wrap }
        let eventID = UUID()
        let data = try XCTUnwrap(try JSONParser.parse(#"{"email":"ada@example.org","first_name":"Ada","last_name":"Lovelace","platform":"careerforge"}"#).objectValue)
        let sealed = try XCTUnwrap(PIISealer.seal(data, paths: PIIPaths(["email", "first_name", "last_name"]), id: eventID,
                                                  subject: erased, type: "user.registered", key: keys[erased]!!))
        XCTAssertNotNil(find(wrapped, in: try read(storePath)), "the test finds the wrapped key before the erasure")
        // A compaction output left by a crash holds copies of live keys.
        try write(try read(storePath), directory + "/subjects.keys.compact")

        XCTAssertEqual(try store.destroy(subject: erased, erasureSeq: 42, time: 1_800_000_000_000_000),
                       .destroyed(erasureSeq: 42, erasedAt: 1_800_000_000_000_000))
        XCTAssertEqual(try store.destroy(subject: erased, erasureSeq: 99, time: 0), .destroyed(erasureSeq: 42, erasedAt: 1_800_000_000_000_000))
        XCTAssertEqual(try store.keys(for: [erased, kept])[erased], .some(nil))
        XCTAssertNil(try store.key(for: erased))
        XCTAssertEqual(store.erasureSeqMax, 42)
        store.close()
        // Open removes the leftover compaction file.
        let reopened = try open()
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/subjects.keys.compact"))
        try assertNoKeyMaterial(wrapped: wrapped, dataKey: dataKey, sealed: sealed, eventID: eventID, subject: erased)
        XCTAssertEqual(reopened.counts.shreddedRecords, 1)

        try reopened.compact()
        XCTAssertEqual(reopened.counts.shreddedRecords, 0)
        XCTAssertEqual(reopened.counts.records, 2)
        try assertNoKeyMaterial(wrapped: wrapped, dataKey: dataKey, sealed: sealed, eventID: eventID, subject: erased)
        XCTAssertEqual(try reopened.status(erased), .destroyed(erasureSeq: 42, erasedAt: 1_800_000_000_000_000))
        XCTAssertEqual(Self.bytes(try reopened.key(for: kept)), Self.bytes(keys[kept]!))
        reopened.close()
        let afterCompaction = try open()
        XCTAssertEqual(Self.bytes(try afterCompaction.key(for: kept)), Self.bytes(keys[kept]!))
        XCTAssertEqual(try afterCompaction.keys(for: [erased])[erased], .some(nil))
    }

    /// No file under keys/ holds the wrapped key or the data key, and no
    /// 32-byte window of any file, nor any 60 bytes unwrapped with the real
    /// KEK, opens the old sealed record.
    func assertNoKeyMaterial(wrapped: [UInt8], dataKey: [UInt8], sealed: [UInt8], eventID: UUID, subject: UUID,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let header = try KeyStoreHeader.decode(try read(storePath), path: storePath)
        let kek = DerivedKeys(master: master, storeID: header.storeID).kek
        for (name, bytes) in try allFiles() {
            XCTAssertNil(find(wrapped, in: bytes), "wrapped key in \(name)", file: file, line: line)
            XCTAssertNil(find(Array(wrapped[12 ..< 44]), in: bytes), "wrapped key ciphertext in \(name)", file: file, line: line)
            XCTAssertNil(find(dataKey, in: bytes), "data key in \(name)", file: file, line: line)
            guard bytes.count >= 32 else { continue }
            for offset in 0 ... bytes.count - 32 {
                let candidate = try DataKey(bytes: Array(bytes[offset ..< offset + 32]))
                XCTAssertThrowsError(try PIISealer.unseal(sealed, id: eventID, subject: subject, type: "user.registered", key: candidate),
                                     "\(name) offset \(offset)", file: file, line: line)
            }
            guard bytes.count >= 60 else { continue }
            for offset in 0 ... bytes.count - 60 {
                XCTAssertNil(KeyRecord.unwrap(Array(bytes[offset ..< offset + 60]), subject: subject, keyVersion: 1, kek: kek),
                             "\(name) offset \(offset)", file: file, line: line)
            }
        }
    }

    func testAShredCutShortByACrashIsFinishedOnOpen() throws {
        let erased = Self.subjects(1, seed: 1)[0]
        let store = try open()
        _ = try store.keys(for: [erased] + Self.subjects(2, seed: 3))
        let index = try XCTUnwrap(store.state.withLock { $0.table.find(erased)?.record })
        let offset = 128 + index * 128
        let before = try read(storePath)
        let wrapped = Array(before[offset + 64 ..< offset + 124])
        try store.destroy(subject: erased, erasureSeq: 7, time: 1)
        store.close()
        let after = try read(storePath)
        var bytes = after
        // Case 1: the crash came before the shred: the key record is whole.
        bytes.replaceSubrange(offset ..< offset + 128, with: before[offset ..< offset + 128])
        try write(bytes, storePath)
        XCTAssertNotNil(find(wrapped, in: try read(storePath)))
        try open().close()
        XCTAssertNil(find(wrapped, in: try read(storePath)))
        // Case 2: the shred was torn: half new, half old bytes.
        bytes = after
        bytes.replaceSubrange(offset + 64 ..< offset + 128, with: before[offset + 64 ..< offset + 128])
        try write(bytes, storePath)
        XCTAssertNotNil(find(wrapped, in: try read(storePath)))
        let repaired = try open()
        XCTAssertNil(find(wrapped, in: try read(storePath)))
        XCTAssertEqual(try repaired.status(erased), .destroyed(erasureSeq: 7, erasedAt: 1))
        XCTAssertEqual(repaired.counts.records, 4)
    }

    func testErasingASubjectWithoutAKeyKeepsItsLaterPIIOut() throws {
        let store = try open()
        let subject = Self.subjects(1)[0]
        XCTAssertEqual(try store.destroy(subject: subject, erasureSeq: 3, time: 5), .destroyed(erasureSeq: 3, erasedAt: 5))
        XCTAssertEqual(try store.keys(for: [subject])[subject], .some(nil))
        XCTAssertEqual(store.counts.records, 1)
    }

    // MARK: - Memory

    func testTheIndexHoldsAMillionSubjectsInAFewTensOfMegabytes() throws {
        var table = SubjectTable()
        let n = 1_000_000
        var generator = SystemRandomNumberGenerator()
        var subjects: [UUID] = []
        subjects.reserveCapacity(n)
        for i in 0 ..< n {
            let subject = UUID(uuid: withUnsafeBytes(of: (generator.next() as UInt64, generator.next() as UInt64)) { $0.load(as: uuid_t.self) })
            subjects.append(subject)
            table.set(subject, .init(record: i, erased: i % 7 == 0))
        }
        XCTAssertEqual(table.count, n)
        for (i, subject) in subjects.enumerated() where i % 97 == 0 {
            XCTAssertEqual(table.find(subject), .init(record: i, erased: i % 7 == 0))
        }
        print("SubjectTable: \(n) subjects in \(table.bytesAllocated) bytes (\(table.slotCount) slots)")
        XCTAssertLessThanOrEqual(table.bytesAllocated, 40_000_000)
        XCTAssertGreaterThanOrEqual(table.bytesAllocated, n * 20)
        var reloaded = SubjectTable(expected: n)
        for (i, subject) in subjects.enumerated() { reloaded.set(subject, .init(record: i, erased: false)) }
        print("SubjectTable sized on open: \(reloaded.bytesAllocated) bytes")
        XCTAssertLessThanOrEqual(reloaded.bytesAllocated, 26_000_000)
    }
}

final class KeyStoreReaderTests: XCTestCase {
    func testAReaderSeesNewKeysAndErasuresAfterReload() throws {
        let directory = NSTemporaryDirectory() + "subjectkeys-\(UUID().uuidString)/keys"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let master = try MasterKey(bytes: [UInt8](repeating: 0x42, count: 32))
        let writer = try KeyStore.open(directory: directory, masterKey: master)
        let subjects = KeyStoreTests.subjects(2)
        let keys = try writer.keys(for: [subjects[0]])
        let reader = try KeyStore.open(directory: directory, masterKey: master, mode: .readOnly)
        XCTAssertEqual(try reader.key(for: subjects[0]), keys[subjects[0]]!)
        XCTAssertThrowsError(try reader.keys(for: [subjects[1]])) { XCTAssertEqual(($0 as? KeyStoreError)?.code, .notWritable) }
        let later = try writer.keys(for: [subjects[1]])
        try writer.destroy(subject: subjects[0], erasureSeq: 10, time: 20)
        XCTAssertEqual(try reader.key(for: subjects[0]), keys[subjects[0]]!, "before reload the reader has its cached view")
        XCTAssertNil(try reader.key(for: subjects[1]))
        try reader.reload()
        XCTAssertNil(try reader.key(for: subjects[0]))
        XCTAssertEqual(try reader.status(subjects[0]), .destroyed(erasureSeq: 10, erasedAt: 20))
        XCTAssertEqual(try reader.key(for: subjects[1]), later[subjects[1]]!)
        try writer.compact()
        try reader.reload()
        XCTAssertEqual(try reader.key(for: subjects[1]), later[subjects[1]]!)
    }
}
