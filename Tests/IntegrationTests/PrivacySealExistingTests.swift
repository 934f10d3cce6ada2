import CareerEvents
import Foundation
import TestSupport
import XCTest

/// `careerlog privacy seal-existing`: a log written before sealing (PII in
/// clear in its segments) sealed in place, every seq, recorded time and
/// producer kept, erased subjects' PII gone from every file.
extension PrivacyTests {
    /// `log dump` of a data directory, one parsed object per event.
    func dump(_ directory: String) throws -> [JSONObject] {
        let dump = try runCareerlog(["log", "dump", "--data-dir", directory])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        return try dump.stdout.split(separator: "\n").map { try XCTUnwrap(JSONParser.parse(String($0)).objectValue) }
    }

    /// Every file under `directory` that holds one of `values` as bytes (plain or JSON-escaped).
    func filesHolding(_ values: [String], under directory: String) -> [String] {
        let files = Self.files(under: directory)
        var found: Set<String> = []
        for value in values {
            for encoding in Self.encodings(value) {
                for file in files where Self.contains(file.bytes, encoding) { found.insert(file.path) }
            }
        }
        return found.sorted()
    }

    func testSealExistingSealsALogWrittenBeforeSealingAndKeepsItsSeqsTimesAndProducers() throws {
        let directory = makeTemporaryDirectory()
        let history = try importHistory(users: 80, seed: 23, sealed: false, directory: directory)
        let probes = history.piiBySubject.values.flatMap { $0 }.filter(history.isProbe)
        let erasedProbes = history.erased.flatMap { history.piiBySubject[$0] ?? [] }.filter(history.isProbe)
        XCTAssertFalse(erasedProbes.isEmpty)
        // The starting point: PII in clear in the segments, no key store.
        XCTAssertFalse(filesHolding(probes, under: directory).isEmpty, "the log written without a sealer should hold PII in clear")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/keys/subjects.keys"))
        let before = try dump(directory)
        XCTAssertEqual(before.count, history.lines.count)
        // What an interrupted run left beside the log is removed.
        try FileManager.default.createDirectory(atPath: directory + "/log.sealing", withIntermediateDirectories: true)
        try Data("left over".utf8).write(to: URL(fileURLWithPath: directory + "/log.sealing/00000000000000000001.seg"))

        let sealed = try runCareerlog(["privacy", "seal-existing", "--data-dir", directory])
        XCTAssertEqual(sealed.status, 0, sealed.stderr)
        XCTAssertTrue(sealed.stdout.hasPrefix("sealed the PII of "), sealed.stdout)
        XCTAssertTrue(sealed.stdout.contains("\(history.lines.count) events kept with their seqs"), sealed.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/log.sealing"))

        // No PII value in clear in any file, nor any erased subject's PII in any form.
        XCTAssertEqual(filesHolding(probes, under: directory), [])
        let verify = try runCareerlog(["log", "verify", "--data-dir", directory])
        XCTAssertEqual(verify.status, 0, verify.stderr)

        // The same events: seq, recorded time, producer, envelope; PII in
        // clear through the keys, null for the erased subjects.
        let after = try dump(directory)
        XCTAssertEqual(after.count, before.count)
        var sealedSeen = 0
        for (a, b) in zip(before, after) {
            for field in ["seq", "recorded", "producer", "id", "type", "subject", "time", "source"] {
                XCTAssertEqual(a[field], b[field], "\(field) of seq \(a["seq"]!)")
            }
            let subject = try XCTUnwrap(a["subject"]?.stringValue)
            if history.erased.contains(subject), hasPII(a) {
                XCTAssertEqual(b["redacted"], .bool(true), "seq \(a["seq"]!)")
                let piiValues = Self.piiValues(type: b["type"]!.stringValue!, version: 1, data: b["data"]!.objectValue!)
                XCTAssertEqual(piiValues, [], "an erased subject's PII at seq \(a["seq"]!)")
            } else {
                XCTAssertEqual(a["data"], b["data"], "seq \(a["seq"]!)")
                XCTAssertNil(b["redacted"])
                if hasPII(a) { sealedSeen += 1 }
            }
        }
        XCTAssertGreaterThan(sealedSeen, 0)

        // Sealed records need the key: a replay without --include-pii shows none.
        let replay = try runCareerlog(["replay", "--data-dir", directory, "--type", "user.registered"])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        for value in probes { XCTAssertFalse(replay.stdout.contains(value), "replay shows \(value)") }

        let again = try runCareerlog(["privacy", "seal-existing", "--data-dir", directory])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.hasPrefix("nothing to seal: no PII in clear in the log's \(history.lines.count) events"), again.stdout)
    }

    func testSealExistingRefusesALogWithSavedTornTailsAndChangesNothing() throws {
        let directory = makeTemporaryDirectory()
        let history = try importHistory(users: 120, seed: 11, sealed: false, directory: directory)
        let segment = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: directory + "/log").first { $0.hasSuffix(".seg") })
        let broken = segment + ".broken-4096"
        try Data("torn".utf8).write(to: URL(fileURLWithPath: directory + "/log/" + broken))
        let before = Self.files(under: directory + "/log")
        let refused = try runCareerlog(["privacy", "seal-existing", "--data-dir", directory])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("holds torn tails that recovery saved (\(broken))"), refused.stderr)
        let after = Self.files(under: directory + "/log")
        XCTAssertEqual(before.map(\.path), after.map(\.path))
        XCTAssertEqual(before.map(\.bytes), after.map(\.bytes))
        XCTAssertEqual(history.lines.count, try dump(directory).count)

        // A data directory without a log: a clear refusal, and no log made.
        let empty = makeTemporaryDirectory() + "-empty"
        let none = try runCareerlog(["privacy", "seal-existing", "--data-dir", empty])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("no event log in \(empty)"), none.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty), "nothing made: no log, no key store")
    }
}
