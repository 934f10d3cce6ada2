import CareerEvents
import Foundation
import XCTest
@testable import SubjectKeys

/// Bytes written once by this code and committed, so a change of the sealed
/// layout (SEALING.md) or the key store format (KEYSTORE.md) shows up here:
/// code that can no longer read them breaks logs and stores already on disk.
final class GoldenTests: XCTestCase {
    /// user.registered sealed with the key 0x07 x 32, id 11111111-..., subject aaaaaaaa-...
    static let sealed = "0101010000004a0000007b22656d61696c223a6e756c6c2c2266697273745f6e616d65223a6e756c6c2c226c6173745f6e616d65223a6e756c6c2c22706c6174666f726d223a22636172656572666f726765227daf82a61e0061aeff8306858a0d24390927ca2c6f4d716c00b32064b99963ce24b357895c8ba361577e7ec21203a2a7a53125872cc80030e7103262cbe965d20d35d7bacc5aa243eafff843f8aeff4b889d74360c4c40498b4b3df731837939f36e110720792208d82c940e9e458f05c39ac97f2e9942adeeaf12eea9"
    /// A store (master key 0x42 x 32): key of aaaaaaaa-0000-4000-8000-000000000001,
    /// then bbbbbbbb-...-000000000002 erased (seq 42) and its key shredded.
    static let store = "434c4b4559533031010000008000000080000000000000001d9122c426788508efa679c36004563c3824ad34f505d6d29318806ced2be3c400401e18240a0600000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000507458e80100000001000000aaaaaaaa00004000800000000000000100401e18240a06000100000000000000020000000000000000000000000000000000000000000000bc6f6da0e16bf9a99f9f4acb5fc1f7a49b821d856714e28069be6d1d5c58a576e6ba05e33cef61d84d2ec1bf2e9cd6f25c0d94e80195752c9840d1794870c0460300000001000000bbbbbbbb00004000800000000000000200401e18240a06000100000000000000020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000ff0047100200000001000000bbbbbbbb00004000800000000000000200401e18240a06000200000000000000010000002a000000000000000080982817650600020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003634ea6a"
    static let keyOfA = "f4a9ee6435f30f7d6c9460668db32cd35a92685c963890230fc306deb1b1e083"

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i ..< j], radix: 16)!)
            i = j
        }
        return out
    }

    func testTheGoldenSealedRecordOpensAndRedacts() throws {
        let sealed = Self.bytes(Self.sealed)
        let id = UUID(uuidString: "11111111-2222-4333-8444-555555555555")!
        let subject = UUID(uuidString: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")!
        let key = try DataKey(bytes: [UInt8](repeating: 7, count: 32))
        XCTAssertEqual(String(decoding: try PIISealer.unseal(sealed, id: id, subject: subject, type: "user.registered", key: key), as: UTF8.self),
                       #"{"email":"ada@example.org","first_name":"Ada","last_name":"Lovelace","platform":"careerforge"}"#)
        XCTAssertEqual(String(decoding: try PIISealer.redact(sealed), as: UTF8.self),
                       #"{"email":null,"first_name":null,"last_name":null,"platform":"careerforge"}"#)
        // header, clear part, nonce, 72-byte plaintext padded to 96, tag
        XCTAssertEqual(sealed.count, 10 + 74 + 12 + 96 + 16)
    }

    func testTheGoldenKeyStoreOpens() throws {
        let directory = NSTemporaryDirectory() + "subjectkeys-golden-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(Self.bytes(Self.store)).write(to: URL(fileURLWithPath: directory + "/subjects.keys"))
        let store = try KeyStore.open(directory: directory, masterKey: try MasterKey(bytes: [UInt8](repeating: 0x42, count: 32)), mode: .readOnly)
        let a = UUID(uuidString: "aaaaaaaa-0000-4000-8000-000000000001")!
        let b = UUID(uuidString: "bbbbbbbb-0000-4000-8000-000000000002")!
        XCTAssertEqual(try store.key(for: a), try DataKey(bytes: Self.bytes(Self.keyOfA)))
        XCTAssertEqual(try store.status(a), .active(createdAt: 1_700_000_000_000_000))
        XCTAssertEqual(try store.status(b), .destroyed(erasureSeq: 42, erasedAt: 1_800_000_000_000_000))
        XCTAssertEqual(store.counts.records, 3)
        XCTAssertEqual(store.counts.shreddedRecords, 1)
    }
}
