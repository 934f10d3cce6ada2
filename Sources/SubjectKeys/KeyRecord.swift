import Crypto
import Foundation

/// One 128-byte record of the key store (KEYSTORE.md "Record").
struct KeyRecord: Equatable {
    enum Kind: UInt8 {
        case key = 1
        case erased = 2
        case shredded = 3
    }

    static let byteCount = 128
    static let crcOffset = 124
    static let wrapOffset = 64
    static let wrapBytes = 12 + 32 + 16

    var kind: Kind
    var keyVersion: UInt32 = 1
    var subject: UUID
    var created: Int64
    var batch: UInt64 = 0
    var batchCount: UInt32 = 0
    var erasureSeq: UInt64 = 0
    var erasedAt: Int64 = 0
    /// Index + 1 of the key record a tombstone shredded; 0 = none.
    var shreddedRecord: UInt32 = 0
    /// Nonce, wrapped key and tag (60 bytes); zeros unless `kind == .key`.
    var wrap: [UInt8] = [UInt8](repeating: 0, count: KeyRecord.wrapBytes)

    func encode(into out: inout [UInt8]) {
        let start = out.count
        out.append(kind.rawValue)
        out.append(contentsOf: [0, 0, 0])
        appendLittleEndian(keyVersion, to: &out)
        withUnsafeBytes(of: subject.uuid) { out.append(contentsOf: $0) }
        appendLittleEndian(created, to: &out)
        appendLittleEndian(batch, to: &out)
        appendLittleEndian(batchCount, to: &out)
        appendLittleEndian(erasureSeq, to: &out)
        appendLittleEndian(erasedAt, to: &out)
        appendLittleEndian(shreddedRecord, to: &out)
        precondition(wrap.count == Self.wrapBytes, "wrap is nonce + key + tag")
        out.append(contentsOf: wrap)
        precondition(out.count - start == Self.crcOffset, "record layout drifted from KEYSTORE.md")
        appendLittleEndian(CRC32C.checksum(out[start...]), to: &out)
    }

    /// Decodes the record at `offset` of `bytes`; nil when its CRC or a
    /// fixed field does not check (the caller decides torn or corrupt).
    static func decode(_ bytes: [UInt8], at offset: Int) -> KeyRecord? {
        let crc: UInt32 = loadLittleEndian(bytes, at: offset + crcOffset)
        guard CRC32C.checksum(bytes[offset ..< offset + crcOffset]) == crc,
              let kind = Kind(rawValue: bytes[offset]),
              bytes[offset + 1] == 0, bytes[offset + 2] == 0, bytes[offset + 3] == 0 else { return nil }
        let subject = bytes.withUnsafeBytes { raw in
            UUID(uuid: raw.loadUnaligned(fromByteOffset: offset + 8, as: uuid_t.self))
        }
        var record = KeyRecord(kind: kind, subject: subject, created: loadLittleEndian(bytes, at: offset + 24))
        record.keyVersion = loadLittleEndian(bytes, at: offset + 4)
        record.batch = loadLittleEndian(bytes, at: offset + 32)
        record.batchCount = loadLittleEndian(bytes, at: offset + 40)
        record.erasureSeq = loadLittleEndian(bytes, at: offset + 44)
        record.erasedAt = loadLittleEndian(bytes, at: offset + 52)
        record.shreddedRecord = loadLittleEndian(bytes, at: offset + 60)
        record.wrap = Array(bytes[offset + wrapOffset ..< offset + wrapOffset + wrapBytes])
        guard record.batch >= 1, record.batchCount >= 1 else { return nil }
        return record
    }

    // MARK: - Wrapping

    static let wrapDomain: [UInt8] = Array("careerlog.keys.wrap.v1".utf8)

    static func wrapAssociatedData(subject: UUID, keyVersion: UInt32) -> [UInt8] {
        var ad = wrapDomain
        withUnsafeBytes(of: subject.uuid) { ad.append(contentsOf: $0) }
        appendLittleEndian(keyVersion, to: &ad)
        return ad
    }

    /// AES-256-GCM of the data key under the KEK, random nonce, AD = subject.
    static func wrap(_ dataKey: DataKey, subject: UUID, keyVersion: UInt32, kek: DataKey) throws(KeyStoreError) -> [UInt8] {
        do {
            let box = try dataKey.withUnsafeBytes { raw in
                try AES.GCM.seal(raw, using: kek.symmetricKey, nonce: AES.GCM.Nonce(),
                                 authenticating: wrapAssociatedData(subject: subject, keyVersion: keyVersion))
            }
            var out: [UInt8] = []
            out.reserveCapacity(wrapBytes)
            box.nonce.withUnsafeBytes { out.append(contentsOf: $0) }
            out.append(contentsOf: box.ciphertext)
            out.append(contentsOf: box.tag)
            return out
        } catch {
            throw KeyStoreError(.cryptoFailure, "wrapping a data key failed: \(error)")
        }
    }

    /// The data key of a key record; nil when the KEK or the bytes do not
    /// match (a changed record, or another master key).
    static func unwrap(_ wrap: [UInt8], subject: UUID, keyVersion: UInt32, kek: DataKey) -> DataKey? {
        guard wrap.count == wrapBytes,
              let nonce = try? AES.GCM.Nonce(data: wrap[0..<12]),
              let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: wrap[12..<44], tag: wrap[44..<60]),
              let key = try? AES.GCM.open(box, using: kek.symmetricKey, authenticating: wrapAssociatedData(subject: subject, keyVersion: keyVersion)),
              key.count == 32 else { return nil }
        return DataKey(SymmetricKey(data: key))
    }
}

/// The store header (KEYSTORE.md "Header").
struct KeyStoreHeader {
    static let byteCount = 128
    static let magic: [UInt8] = Array("CLKEYS01".utf8)
    static let version: UInt32 = 1

    var storeID: [UInt8]
    var keyCheck: [UInt8]
    var created: Int64
    /// Compactions so far; `DURABLE` names it, so a mark of an older file is ignored.
    var generation: UInt64 = 0

    func encode() -> [UInt8] {
        var out = Self.magic
        appendLittleEndian(Self.version, to: &out)
        appendLittleEndian(UInt32(Self.byteCount), to: &out)
        appendLittleEndian(UInt32(KeyRecord.byteCount), to: &out)
        appendLittleEndian(UInt32(0), to: &out)
        out.append(contentsOf: storeID)
        out.append(contentsOf: keyCheck)
        appendLittleEndian(created, to: &out)
        appendLittleEndian(generation, to: &out)
        out.append(contentsOf: repeatElement(0, count: 124 - out.count))
        appendLittleEndian(CRC32C.checksum(out[...]), to: &out)
        return out
    }

    static func decode(_ bytes: [UInt8], path: String) throws(KeyStoreError) -> KeyStoreHeader {
        guard bytes.count >= byteCount else {
            throw KeyStoreError(.corruption, "the key store is \(bytes.count) bytes, shorter than its \(byteCount)-byte header; restore it from backup", file: path, offset: 0)
        }
        let crc: UInt32 = loadLittleEndian(bytes, at: 124)
        guard Array(bytes[0..<8]) == magic, CRC32C.checksum(bytes[0..<124]) == crc else {
            throw KeyStoreError(.corruption, "the key store header is damaged (magic or CRC); restore it from backup", file: path, offset: 0)
        }
        let version: UInt32 = loadLittleEndian(bytes, at: 8)
        let headerLength: UInt32 = loadLittleEndian(bytes, at: 12)
        let recordLength: UInt32 = loadLittleEndian(bytes, at: 16)
        guard version == Self.version, headerLength == byteCount, recordLength == KeyRecord.byteCount else {
            throw KeyStoreError(.corruption, "key store version \(version) (header \(headerLength), record \(recordLength) bytes) is not the version 1 this build reads", file: path, offset: 8)
        }
        return KeyStoreHeader(storeID: Array(bytes[24..<40]), keyCheck: Array(bytes[40..<56]), created: loadLittleEndian(bytes, at: 56),
                             generation: loadLittleEndian(bytes, at: 64))
    }
}

/// The keys derived from the master key for one store (KEYSTORE.md).
struct DerivedKeys {
    let kek: DataKey
    let keyCheck: [UInt8]

    init(master: MasterKey, storeID: [UInt8]) {
        kek = DataKey(HKDF<SHA256>.deriveKey(inputKeyMaterial: master.key.symmetricKey, salt: storeID,
                                             info: Array("careerlog.keys.kek.v1".utf8), outputByteCount: 32))
        let check = HKDF<SHA256>.deriveKey(inputKeyMaterial: master.key.symmetricKey, salt: storeID,
                                           info: Array("careerlog.keys.check.v1".utf8), outputByteCount: 32)
        keyCheck = Array(HMAC<SHA256>.authenticationCode(for: storeID, using: check)).prefix(16).map { $0 }
    }
}
