import CareerEvents
import EventLog
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

    /// Every `.seg` file of a log and its bytes, to show a refusal changed nothing.
    func snapshot(_ directory: String) -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: Self.files(under: directory + "/log").map { ($0.path, $0.bytes) })
    }

    func testSealExistingRefusesWhileAnotherProcessHasTheLogOpenAndNothingOpensItMeanwhile() throws {
        let directory = makeTemporaryDirectory()
        _ = try importHistory(users: 30, seed: 2, sealed: false, directory: directory)
        let before = snapshot(directory)
        // A reader (a replay, a projector) holds the log open: refused, and
        // neither log.sealing nor a key store is made.
        let reader = try EventLog.open(directory: directory + "/log", mode: .readOnly)
        let refused = try runCareerlog(["privacy", "seal-existing", "--data-dir", directory])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("the log is in use: another process has this log open"), refused.stderr)
        XCTAssertEqual(snapshot(directory), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/log.sealing"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/keys"), "refused before the key store is made")
        try reader.close()

        // While a rewrite holds the log directory, readers and writers are refused.
        let rewriting = try EventLog.open(directory: directory + "/log", access: .exclusive)
        XCTAssertThrowsError(try EventLog.open(directory: directory + "/log", mode: .readOnly)) { error in
            XCTAssertEqual((error as? LogError)?.code, .locked)
            XCTAssertTrue("\(error)".contains("being rewritten"), "\(error)")
        }
        XCTAssertThrowsError(try EventLog.verify(directory: directory + "/log")) { XCTAssertEqual(($0 as? LogError)?.code, .locked) }
        let dump = try runCareerlog(["log", "dump", "--data-dir", directory, "--redact-pii"])
        XCTAssertNotEqual(dump.status, 0, "a dump must not read a log being rewritten")
        try rewriting.close()
        XCTAssertEqual(try runCareerlog(["privacy", "seal-existing", "--data-dir", directory]).status, 0)
    }

    func testSealExistingRefusesALogThatIsASymbolicLinkOrHasTypesTheSchemasDoNotDefine() throws {
        let target = makeTemporaryDirectory()
        _ = try importHistory(users: 30, seed: 6, sealed: false, directory: target)
        let directory = makeTemporaryDirectory() + "-linked"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory + "/log", withDestinationPath: target + "/log")
        let before = snapshot(target)
        let linked = try runCareerlog(["privacy", "seal-existing", "--data-dir", directory])
        XCTAssertEqual(linked.status, 1)
        XCTAssertTrue(linked.stderr.contains("\(directory)/log is a symbolic link"), linked.stderr)
        XCTAssertEqual(snapshot(target), before)

        // Schemas without one type the log holds: its PII paths are unknown, refused.
        let schemas = makeTemporaryDirectory() + "-schemas"
        try FileManager.default.copyItem(atPath: packageRoot + "/EventSchemas", toPath: schemas)
        try FileManager.default.removeItem(atPath: schemas + "/application.sent.v1.json")
        let partial = try runCareerlog(["privacy", "seal-existing", "--data-dir", target, "--schemas", schemas])
        XCTAssertEqual(partial.status, 1, partial.stdout)
        XCTAssertTrue(partial.stderr.contains("is a application.sent (data version 1) that the schemas do not define"), partial.stderr)
        XCTAssertEqual(snapshot(target), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target + "/log.sealing"))
    }

    func testAnUnsealedLogLeftInLogSealingAfterTheExchangeIsReportedAndDeletedByServe() throws {
        let directory = makeTemporaryDirectory()
        let history = try importHistory(users: 30, seed: 8, sealed: false, directory: directory)
        let probes = history.piiBySubject.values.flatMap { $0 }.filter(history.isProbe)
        // What a crash between the exchange and the delete leaves: the
        // sealed log in place, the unsealed one in log.sealing.
        try FileManager.default.copyItem(atPath: directory + "/log", toPath: directory + "/unsealed")
        let sealed = try runCareerlog(["privacy", "seal-existing", "--data-dir", directory])
        XCTAssertEqual(sealed.status, 0, sealed.stderr)
        try FileManager.default.moveItem(atPath: directory + "/unsealed", toPath: directory + "/log.sealing")
        unlink(directory + "/log.sealing/LOCK")
        XCTAssertFalse(filesHolding(probes, under: directory).isEmpty)

        let subject = try XCTUnwrap(history.piiBySubject.keys.first)
        let status = try runCareerlog(["privacy", "status", subject, "--data-dir", directory])
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stderr.contains("log.sealing is left by an interrupted privacy seal-existing and may hold PII in clear"), status.stderr)

        let server = try ServeProcess(dataDirectory: directory)
        XCTAssertEqual(server.stop(), 0, server.stderr)
        XCTAssertTrue(server.stderr.contains("deleted what an interrupted privacy seal-existing left"), server.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/log.sealing"))
        XCTAssertEqual(filesHolding(probes, under: directory), [])
    }

    func testSealExistingKeepsAMultiSegmentMixedRecompressedLog() throws {
        let directory = makeTemporaryDirectory()
        let history = try importHistory(users: 100, seed: 25, sealed: false, directory: directory, limits: LogLimits(segmentBytesMax: 1 << 20))
        // Events written since sealing exists, appended after the clear ones.
        let later = try runCareerlog(["generate", "--users", "15", "--seed", "30"])
        let imported = try runCareerlog(["log", "import", "--data-dir", directory, "--segment-mib", "1", "-"], input: Data(later.stdout.utf8))
        XCTAssertEqual(imported.status, 0, imported.stderr)
        let compact = try runCareerlog(["log", "compact", "--data-dir", directory])
        XCTAssertEqual(compact.status, 0, compact.stderr)
        XCTAssertFalse(compact.stdout.hasPrefix("compact: 0 segments"), compact.stdout)
        let segments = try FileManager.default.contentsOfDirectory(atPath: directory + "/log").filter { $0.hasSuffix(".seg") }
        XCTAssertGreaterThan(segments.count, 1)
        let before = try dump(directory)

        let sealed = try runCareerlog(["privacy", "seal-existing", "--data-dir", directory, "--segment-mib", "1"])
        XCTAssertEqual(sealed.status, 0, sealed.stderr)
        let probes = history.piiBySubject.values.flatMap { $0 }.filter(history.isProbe)
        // Six bytes and more: a three-letter name ("Mei") turns up by chance
        // in megabytes of compressed bytes.
        XCTAssertEqual(filesHolding(probes.filter { $0.utf8.count >= 6 }, under: directory), [])
        let after = try dump(directory)
        XCTAssertEqual(after.count, before.count)
        for (a, b) in zip(before, after) {
            for field in ["seq", "recorded", "id", "type", "subject", "time", "source"] {
                XCTAssertEqual(a[field], b[field], "\(field) of seq \(a["seq"]!)")
            }
            if b["redacted"] == nil { XCTAssertEqual(a["data"], b["data"], "seq \(a["seq"]!)") }
        }
        let segmentsAfter = try FileManager.default.contentsOfDirectory(atPath: directory + "/log").filter { $0.hasSuffix(".seg") }
        XCTAssertGreaterThan(segmentsAfter.count, 1)
        // Sealed segments come back recompressed: nothing left for compact.
        let again = try runCareerlog(["log", "compact", "--data-dir", directory])
        XCTAssertTrue(again.stdout.hasPrefix("compact: 0 segments recompressed"), again.stdout)
        XCTAssertEqual(try runCareerlog(["log", "verify", "--data-dir", directory]).status, 0)
    }

    /// Killed (SIGKILL) while copying, after the copy is checked, and after
    /// the exchange: the log holds the same events each time (the old log or
    /// the sealed one, never a mix), and the next run finishes the job.
    func testSealExistingKilledAtEachStageLeavesAWholeLogAndTheNextRunFinishes() throws {
        let template = makeTemporaryDirectory()
        let history = try importHistory(users: 80, seed: 23, sealed: false, directory: template)
        let probes = history.piiBySubject.values.flatMap { $0 }.filter(history.isProbe)
        let before = try dump(template)
        for stage in ["copying", "copied", "exchanged"] {
            let directory = makeTemporaryDirectory() + "-" + stage
            try FileManager.default.copyItem(atPath: template, toPath: directory)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try careerlogBenchBinary())
            process.arguments = ["debug", "seal-existing-crash", "--data-dir", directory, "--kill-at", stage,
                                 "--schemas", packageRoot + "/EventSchemas"]
            process.standardOutput = FileHandle.nullDevice
            let stderr = Pipe()
            process.standardError = stderr
            try process.run()
            let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal, "\(stage): \(message)")
            XCTAssertEqual(process.terminationStatus, SIGKILL, "\(stage): \(message)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/log.sealing"), stage)

            // The same events (PII in clear where the old log is in place,
            // through the keys where the sealed one is).
            let killed = try dump(directory)
            XCTAssertEqual(killed.count, before.count, stage)
            for (a, b) in zip(before, killed) where !history.erased.contains(a["subject"]!.stringValue!) {
                XCTAssertEqual(a, b, "\(stage), seq \(a["seq"]!)")
            }
            XCTAssertEqual(try runCareerlog(["log", "verify", "--data-dir", directory]).status, 0, stage)

            let again = try runCareerlog(["privacy", "seal-existing", "--data-dir", directory])
            XCTAssertEqual(again.status, 0, "\(stage): \(again.stderr)")
            XCTAssertEqual(again.stdout.hasPrefix("nothing to seal"), stage == "exchanged", "\(stage): \(again.stdout)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/log.sealing"), stage)
            XCTAssertEqual(filesHolding(probes, under: directory), [], stage)
            let after = try dump(directory)
            XCTAssertEqual(after.count, before.count, stage)
            for (a, b) in zip(before, after) where !history.erased.contains(a["subject"]!.stringValue!) {
                XCTAssertEqual(a, b, "\(stage), seq \(a["seq"]!)")
            }
        }
    }
}
