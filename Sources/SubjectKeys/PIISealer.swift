import CareerEvents
import Crypto
import Foundation

/// Seals and unseals the PII values of one event's `data` (layout in
/// SEALING.md). Stateless and thread-safe: the ingest appender, the
/// projector and replays call it from any thread.
///
///     sealed data
///     +---+---+--------+--------+------------+-------+------------+-----+
///     | 1 | 1 | keyver | clrlen | clear JSON | nonce | ciphertext | tag |
///     | 1 | 1 | 4      | 4      | clrlen     | 12    | >= 32      | 16  |
///     +---+---+--------+--------+------------+-------+------------+-----+
public enum PIISealer {
    /// The record flag (bit 0, FORMAT.md) of a record whose data is sealed.
    public static let sealedFlag: UInt8 = 0x01
    /// The layout version this code writes and reads.
    public static let layoutVersion: UInt8 = 1
    /// Algorithm 1: AES-256-GCM.
    public static let algorithmAES256GCM: UInt8 = 1
    /// Bytes before the clear JSON.
    static let headerBytes = 10
    static let nonceBytes = 12
    static let tagBytes = 16
    /// The plaintext is padded with spaces to a multiple of this, so the
    /// ciphertext's length tells less about the length of names and emails.
    static let plaintextPaddingBytes = 32
    static let associatedDataDomain: [UInt8] = Array("careerlog.sealed.v1".utf8)

    /// Seals the PII values of `data`: returns the sealed bytes to store as
    /// the record's data with `sealedFlag` set, or nil when `data` holds no
    /// PII value (store it unsealed, flag 0).
    ///
    /// `id`, `subject` and `type` are bound in as associated data, so the
    /// sealed values open only for this event. The seq is not bound: it is
    /// not known yet when ingest seals (SEALING.md).
    public static func seal(
        _ data: JSONObject, paths: PIIPaths, id: UUID, subject: UUID, type: String,
        key: DataKey, keyVersion: UInt32 = 1
    ) throws(SealError) -> [UInt8]? {
        guard !paths.isEmpty else { return nil }
        var clear = data
        let values = paths.extract(from: &clear)
        guard !values.isEmpty else { return nil }

        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(layoutVersion)
        out.append(algorithmAES256GCM)
        appendLittleEndian(keyVersion, to: &out)
        appendLittleEndian(UInt32(0), to: &out)  // clear length, set below
        JSONValue.object(clear).write(into: &out)
        let clearLength = out.count - headerBytes
        guard clearLength <= UInt32.max else { throw SealError(.tooLarge, "the clear part is longer than 4 GiB") }
        storeLittleEndian(UInt32(clearLength), in: &out, at: 6)

        let plaintext = sealedPlaintext(values)
        let associated = associatedData(id: id, subject: subject, type: type, header: out[...])
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.seal(plaintext, using: key.symmetricKey, nonce: AES.GCM.Nonce(), authenticating: associated)
        } catch {
            throw SealError(.cryptoFailure, "sealing failed: \(error)")
        }
        box.nonce.withUnsafeBytes { out.append(contentsOf: $0) }
        out.append(contentsOf: box.ciphertext)
        out.append(contentsOf: box.tag)
        return out
    }

    /// `seal` of a `data` object given as compact JSON bytes (a stored or
    /// encoded record's data).
    public static func seal(
        dataJSON: [UInt8], paths: PIIPaths, id: UUID, subject: UUID, type: String,
        key: DataKey, keyVersion: UInt32 = 1
    ) throws(SealError) -> [UInt8]? {
        guard !paths.isEmpty else { return nil }
        let object = try parseObject(dataJSON, what: "the data")
        return try seal(object, paths: paths, id: id, subject: subject, type: type, key: key, keyVersion: keyVersion)
    }

    /// The `data` object, compact JSON, with the PII values back in place:
    /// byte for byte what the record would hold unsealed. Throws
    /// `.authenticationFailed` for a wrong key, another event's id, subject
    /// or type, or any changed byte.
    public static func unseal(
        _ sealed: [UInt8], id: UUID, subject: UUID, type: String, key: DataKey
    ) throws(SealError) -> [UInt8] {
        let parts = try SealedParts(sealed)
        let associated = associatedData(id: id, subject: subject, type: type, header: sealed[..<parts.clearEnd])
        let plaintext: Data
        do {
            let nonce = try AES.GCM.Nonce(data: sealed[parts.clearEnd ..< parts.clearEnd + nonceBytes])
            let box = try AES.GCM.SealedBox(
                nonce: nonce, ciphertext: sealed[parts.clearEnd + nonceBytes ..< sealed.count - tagBytes],
                tag: sealed[(sealed.count - tagBytes)...])
            plaintext = try AES.GCM.open(box, using: key.symmetricKey, authenticating: associated)
        } catch {
            throw SealError(.authenticationFailed,
                            "the sealed PII does not open with this key for this event (wrong key, or the record was changed)")
        }
        var clear = try parseObject(Array(sealed[parts.clearStart ..< parts.clearEnd]), what: "the clear part")
        guard case .object(let values)? = try? JSONParser.parse([UInt8](plaintext)) else {
            throw SealError(.malformed, "the sealed values are not a JSON object")
        }
        for member in values.members where !JSONPointer.restore(member.value, at: member.key, in: &clear) {
            throw SealError(.malformed, "a sealed value's place is missing from the clear part or not null")
        }
        return JSONValue.object(clear).compactBytes
    }

    /// The redacted `data` of a sealed record: its clear part, every PII value
    /// `null`. Needs no key; does not parse the JSON.
    public static func redact(_ sealed: [UInt8]) throws(SealError) -> [UInt8] {
        let parts = try SealedParts(sealed)
        return Array(sealed[parts.clearStart ..< parts.clearEnd])
    }

    /// The key version a sealed record names (KEYSTORE.md).
    public static func keyVersion(of sealed: [UInt8]) throws(SealError) -> UInt32 {
        try SealedParts(sealed).keyVersion
    }

    /// Replaces every PII value of an unsealed `data` object by `null`: for
    /// events of an erased subject (stored this way, never sealed with a new
    /// key) and for replays of records written before sealing existed.
    /// Returns the object and how many values were replaced.
    public static func nullPII(_ data: JSONObject, paths: PIIPaths) -> (data: JSONObject, nulled: Int) {
        var clear = data
        let values = paths.extract(from: &clear)
        return (clear, values.count)
    }

    // MARK: - Parts

    static func sealedPlaintext(_ values: [(pointer: String, value: JSONValue)]) -> [UInt8] {
        var plaintext: [UInt8] = []
        plaintext.reserveCapacity(128)
        plaintext.append(UInt8(ascii: "{"))
        for (i, entry) in values.enumerated() {
            if i > 0 { plaintext.append(UInt8(ascii: ",")) }
            JSONValue.writeString(entry.pointer, into: &plaintext)
            plaintext.append(UInt8(ascii: ":"))
            entry.value.write(into: &plaintext)
        }
        plaintext.append(UInt8(ascii: "}"))
        let padded = (plaintext.count + plaintextPaddingBytes - 1) / plaintextPaddingBytes * plaintextPaddingBytes
        plaintext.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padded - plaintext.count))
        return plaintext
    }

    static func associatedData(id: UUID, subject: UUID, type: String, header: ArraySlice<UInt8>) -> [UInt8] {
        var ad: [UInt8] = []
        ad.reserveCapacity(associatedDataDomain.count + 36 + type.utf8.count + header.count)
        ad.append(contentsOf: associatedDataDomain)
        withUnsafeBytes(of: id.uuid) { ad.append(contentsOf: $0) }
        withUnsafeBytes(of: subject.uuid) { ad.append(contentsOf: $0) }
        appendLittleEndian(UInt32(truncatingIfNeeded: type.utf8.count), to: &ad)
        ad.append(contentsOf: type.utf8)
        ad.append(contentsOf: header)
        return ad
    }

    static func parseObject(_ bytes: [UInt8], what: String) throws(SealError) -> JSONObject {
        guard case .object(let object)? = try? JSONParser.parse(bytes) else {
            throw SealError(.malformed, "\(what) is not a JSON object")
        }
        return object
    }
}

/// Where the parts of a sealed document are; checks every length first.
struct SealedParts {
    let keyVersion: UInt32
    let clearStart: Int
    let clearEnd: Int

    init(_ sealed: [UInt8]) throws(SealError) {
        let minimum = PIISealer.headerBytes + 2 + PIISealer.nonceBytes + PIISealer.plaintextPaddingBytes + PIISealer.tagBytes
        guard sealed.count >= minimum else {
            throw SealError(.malformed, "sealed data of \(sealed.count) bytes is shorter than the \(minimum) bytes of the smallest sealed document")
        }
        guard sealed[0] == PIISealer.layoutVersion else {
            throw SealError(.malformed, "sealed data has layout version \(sealed[0]); this build reads version \(PIISealer.layoutVersion)")
        }
        guard sealed[1] == PIISealer.algorithmAES256GCM else {
            throw SealError(.malformed, "sealed data names algorithm \(sealed[1]); this build knows 1 (AES-256-GCM)")
        }
        keyVersion = loadLittleEndian(sealed, at: 2)
        let clearLength = Int(loadLittleEndian(sealed, at: 6) as UInt32)
        clearStart = PIISealer.headerBytes
        clearEnd = clearStart + clearLength
        guard clearLength >= 2,
              sealed.count - clearEnd >= PIISealer.nonceBytes + PIISealer.plaintextPaddingBytes + PIISealer.tagBytes else {
            throw SealError(.malformed, "sealed data's clear length \(clearLength) does not fit its \(sealed.count) bytes")
        }
    }
}

/// Why sealing or unsealing failed. Messages never hold PII or key bytes.
public struct SealError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// The bytes are not a sealed document of a known layout.
        case malformed
        /// The key, the event (id, subject, type) or the bytes do not match.
        case authenticationFailed = "authentication_failed"
        /// A part is too long for the layout's length fields.
        case tooLarge = "too_large"
        /// The crypto library failed (not a data problem).
        case cryptoFailure = "crypto_failure"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

// MARK: - Little-endian helpers

@inline(__always) func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
}

@inline(__always) func storeLittleEndian<T: FixedWidthInteger>(_ value: T, in out: inout [UInt8], at offset: Int) {
    withUnsafeBytes(of: value.littleEndian) { bytes in
        for i in 0..<bytes.count { out[offset + i] = bytes[i] }
    }
}

@inline(__always) func loadLittleEndian<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int) -> T {
    bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
}
