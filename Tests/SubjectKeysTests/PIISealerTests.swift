import CareerEvents
import Crypto
import Foundation
import XCTest
@testable import SubjectKeys

final class PIISealerTests: XCTestCase {
    let id = UUID(uuidString: "11111111-2222-4333-8444-555555555555")!
    let subject = UUID(uuidString: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")!
    let key = try! DataKey(bytes: [UInt8](repeating: 7, count: 32))

    static func registry(file: StaticString = #filePath) throws -> SchemaRegistry {
        let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try SchemaRegistry(directory: root.appendingPathComponent("EventSchemas").path)
    }

    func object(_ text: String) throws -> JSONObject {
        guard case .object(let o) = try JSONParser.parse(text) else { throw SealError(.malformed, "test input is not an object") }
        return o
    }

    func testTheSchemasMarkExactlyTheCatalogsPIIFields() throws {
        let registry = try Self.registry()
        var all: [String] = []
        for type in registry.types {
            for version in registry.versions(of: type) {
                all += registry.piiFields(type: type, version: version).map { "\(type).v\(version):\($0)" }
            }
        }
        XCTAssertEqual(all.sorted(), [
            "employer.feedback.v1:comments",
            "profile.updated.v1:github_url", "profile.updated.v1:linkedin_url",
            "user.registered.v1:email", "user.registered.v1:first_name", "user.registered.v1:last_name", "user.registered.v1:phone",
        ])
    }

    /// A distinct sample value for `path`, built to exercise JSON escaping.
    static func sample(_ path: String, _ n: Int) -> JSONValue {
        .string("pii-\(n)-\(path)-Zoë \"quoted\" back\\slash \u{1}")
    }

    /// An object holding a sample at every path (arrays of two items where
    /// a step says `[]`), plus a non-PII member.
    static func document(paths: [String]) -> (JSONObject, [String]) {
        var root = JSONObject([(key: "platform", value: "careerforge")])
        var samples: [String] = []
        for (n, path) in paths.enumerated() {
            let steps = PIIPaths.compile(path)
            var value = JSONValue.object(root)
            insert(&value, steps[...], path: path, n: n, samples: &samples)
            root = value.objectValue!
        }
        return (root, samples)
    }

    static func insert(_ value: inout JSONValue, _ steps: ArraySlice<PIIPaths.Step>, path: String, n: Int, samples: inout [String]) {
        guard let step = steps.first else {
            let s = sample(path, samples.count)
            samples.append(s.stringValue!)
            value = s
            return
        }
        switch step {
        case .member(let name):
            var object = value.objectValue ?? JSONObject()
            var child = object[name] ?? (steps.dropFirst().first == .eachItem ? .array([.null, .null]) : (steps.count > 1 ? .object(JSONObject()) : .null))
            insert(&child, steps.dropFirst(), path: path, n: n, samples: &samples)
            object[name] = child
            value = .object(object)
        case .eachItem:
            var items = value.arrayValue ?? [.null, .null]
            for i in items.indices {
                if steps.count > 1, items[i].isNull { items[i] = .object(JSONObject()) }
                insert(&items[i], steps.dropFirst(), path: path, n: n, samples: &samples)
            }
            value = .array(items)
        }
    }

    func testEveryPIIPathOfEveryTypeSealsAndUnseals() throws {
        let registry = try Self.registry()
        var sealedTypes = 0
        for type in registry.types {
            for version in registry.versions(of: type) {
                let texts = registry.piiFields(type: type, version: version)
                let paths = PIIPaths(texts)
                let (data, samples) = Self.document(paths: texts)
                let original = JSONValue.object(data).compactBytes
                let sealed = try PIISealer.seal(data, paths: paths, id: id, subject: subject, type: type, key: key)
                guard !texts.isEmpty else {
                    XCTAssertNil(sealed, "\(type) has no PII path, so nothing is sealed")
                    continue
                }
                let bytes = try XCTUnwrap(sealed, type)
                sealedTypes += 1
                for sample in samples {
                    var escaped: [UInt8] = []
                    JSONValue.writeString(sample, into: &escaped)
                    XCTAssertNil(find(Array(sample.utf8.prefix(12)), in: bytes), "\(type): a PII value is in clear")
                    XCTAssertNil(find(escaped, in: bytes), "\(type): a PII value is in clear (JSON-escaped)")
                }
                XCTAssertEqual(try PIISealer.unseal(bytes, id: id, subject: subject, type: type, key: key), original, type)
                var redacted = data
                for text in texts { redacted[text] = .null }
                XCTAssertEqual(try PIISealer.redact(bytes), JSONValue.object(redacted).compactBytes, type)
            }
        }
        XCTAssertEqual(sealedTypes, 3)
    }

    func testNestedAndArrayPathsRoundTrip() throws {
        let paths = PIIPaths(["location.city", "experience[].company", "certifications[]", "a~b/c"])
        let data = try object(#"{"location":{"city":"Lyon","country":"FR"},"experience":[{"title":"Dev","company":"Acme"},{"title":"Ops"},{"title":"Lead","company":"Initech"}],"certifications":["AWS",null,"GCP"],"a~b/c":1.50,"skills":["x"]}"#)
        let sealed = try XCTUnwrap(PIISealer.seal(data, paths: paths, id: id, subject: subject, type: "t", key: key))
        XCTAssertEqual(String(decoding: try PIISealer.redact(sealed), as: UTF8.self),
                       #"{"location":{"city":null,"country":"FR"},"experience":[{"title":"Dev","company":null},{"title":"Ops"},{"title":"Lead","company":null}],"certifications":[null,null,null],"a~b/c":null,"skills":["x"]}"#)
        XCTAssertEqual(try PIISealer.unseal(sealed, id: id, subject: subject, type: "t", key: key), JSONValue.object(data).compactBytes)
        XCTAssertEqual(try PIISealer.keyVersion(of: sealed), 1)
    }

    func testNoPIIValueMeansNotSealed() throws {
        let paths = PIIPaths(["email", "phone"])
        XCTAssertNil(try PIISealer.seal(try object(#"{"platform":"x"}"#), paths: paths, id: id, subject: subject, type: "t", key: key))
        XCTAssertNil(try PIISealer.seal(try object(#"{"email":null}"#), paths: paths, id: id, subject: subject, type: "t", key: key))
        XCTAssertNil(try PIISealer.seal(try object(#"{"email":"a@b.c"}"#), paths: .none, id: id, subject: subject, type: "t", key: key))
        XCTAssertFalse(paths.hasValue(in: try object(#"{"email":null,"platform":"x"}"#)))
        XCTAssertTrue(paths.hasValue(in: try object(#"{"phone":"+33 1"}"#)))
    }

    func testNullPIIForErasedSubjects() throws {
        let (data, nulled) = PIISealer.nullPII(try object(#"{"email":"a@b.c","phone":null,"platform":"x"}"#), paths: PIIPaths(["email", "phone"]))
        XCTAssertEqual(nulled, 1)
        XCTAssertEqual(JSONValue.object(data).compactString, #"{"email":null,"phone":null,"platform":"x"}"#)
    }

    func sealedUserRegistered() throws -> [UInt8] {
        let data = try object(#"{"email":"ada@example.org","first_name":"Ada","last_name":"Lovelace","platform":"careerforge"}"#)
        return try XCTUnwrap(PIISealer.seal(data, paths: PIIPaths(["email", "first_name", "last_name", "phone"]),
                                            id: id, subject: subject, type: "user.registered", key: key))
    }

    func testUnsealFailsForAnotherKeyEventSubjectOrType() throws {
        let sealed = try sealedUserRegistered()
        let other = UUID(uuidString: "11111111-2222-4333-8444-555555555556")!
        let cases: [(UUID, UUID, String, DataKey)] = [
            (other, subject, "user.registered", key),
            (id, other, "user.registered", key),
            (id, subject, "profile.updated", key),
            (id, subject, "user.registered", try DataKey(bytes: [UInt8](repeating: 8, count: 32))),
        ]
        for (i, c) in cases.enumerated() {
            XCTAssertThrowsError(try PIISealer.unseal(sealed, id: c.0, subject: c.1, type: c.2, key: c.3), "case \(i)") { error in
                XCTAssertEqual((error as? SealError)?.code, .authenticationFailed, "case \(i)")
            }
        }
    }

    func testEveryFlippedByteFailsToUnseal() throws {
        let sealed = try sealedUserRegistered()
        for i in sealed.indices {
            var changed = sealed
            changed[i] ^= 0x20
            XCTAssertThrowsError(try PIISealer.unseal(changed, id: id, subject: subject, type: "user.registered", key: key), "byte \(i)")
        }
        // The clear part changed to hold a value where the seal put null.
        let text = String(decoding: sealed, as: UTF8.self)
        XCTAssertTrue(text.contains(#""first_name":null"#))
    }

    func testMalformedSealedDataIsReported() throws {
        let sealed = try sealedUserRegistered()
        XCTAssertThrowsError(try PIISealer.redact(Array(sealed.prefix(40)))) { XCTAssertEqual(($0 as? SealError)?.code, .malformed) }
        var version = sealed
        version[0] = 2
        XCTAssertThrowsError(try PIISealer.redact(version)) { XCTAssertEqual(($0 as? SealError)?.code, .malformed) }
        var length = sealed
        length[6] = 0xFF
        length[7] = 0xFF
        XCTAssertThrowsError(try PIISealer.redact(length)) { XCTAssertEqual(($0 as? SealError)?.code, .malformed) }
    }

    func testTwoSealsOfOneEventDifferInNonceAndCiphertext() throws {
        let a = try sealedUserRegistered()
        let b = try sealedUserRegistered()
        XCTAssertEqual(a.count, b.count)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(try PIISealer.redact(a), try PIISealer.redact(b))
    }
}

/// The first index where `needle` occurs in `haystack`, or nil.
func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
    let first = needle[0]
    for i in 0 ... haystack.count - needle.count where haystack[i] == first {
        if haystack[i ..< i + needle.count].elementsEqual(needle) { return i }
    }
    return nil
}
