import ArgumentParser
import CareerEvents
import EventLog
import Foundation
import Replay
import Runtime
import StoredEventCodec
import SubjectKeys

/// `careerlog privacy`: a data subject's rights, for the operator who
/// answers them.
struct PrivacyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy",
        abstract: "What the log holds about one data subject (key status, an export for an access request), and sealing a log written before sealing.",
        subcommands: [PrivacyStatus.self, PrivacyExport.self, PrivacySealExisting.self]
    )
}

struct PrivacyStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Whether SUBJECT's data key exists or when it was destroyed, and how many of its events hold sealed PII.",
        discussion: "Reads the whole log once and the key store (which needs the master key).")

    @Argument(help: ArgumentHelp("The subject's UUID.", valueName: "subject")) var subject: String
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup(title: "Privacy") var masterKey: MasterKeyOptions
    @Flag(help: "Print one JSON object instead of lines of text.") var json = false

    func validate() throws {
        guard UUIDText.parse(subject) != nil else { throw ValidationError("SUBJECT '\(subject)' is not a UUID in 8-4-4-4-12 form") }
    }

    func run() throws {
        let log = try openLogReadOnly(data: data, command: "privacy status")
        let leftover = ExistingLogSealing.workDirectory(data.layout)
        if FileManager.default.fileExists(atPath: leftover) {
            printError("privacy status: warning: \(leftover) is left by an interrupted privacy seal-existing and may hold PII in clear; "
                       + "run privacy seal-existing or serve, which delete it")
        }
        let store = try masterKey.openForReading(data: data, command: "privacy status")
        let status = try SubjectPrivacy.status(of: UUIDText.parse(subject)!, log: log, store: store,
                                               table: PIIPathTable(registry: try schemas.registry()))
        print(json ? status.json : status.text)
    }
}

struct PrivacyExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Every event the log holds about SUBJECT, PII decrypted, as NDJSON (a data-subject access request).",
        discussion: "Needs the master key. PII of an erased subject is null and its events carry \"redacted\":true.")

    @Argument(help: ArgumentHelp("The subject's UUID.", valueName: "subject")) var subject: String
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup(title: "Privacy") var masterKey: MasterKeyOptions

    func validate() throws {
        guard UUIDText.parse(subject) != nil else { throw ValidationError("SUBJECT '\(subject)' is not a UUID in 8-4-4-4-12 form") }
    }

    func run() throws {
        let log = try openLogReadOnly(data: data, command: "privacy export")
        let store = try masterKey.openForReading(data: data, command: "privacy export")
        let opener = RecordOpener(mode: .include(store), table: PIIPathTable(registry: try schemas.registry()))
        let out = OutputBuffer()
        do {
            try SubjectPrivacy.export(subject: UUIDText.parse(subject)!, log: log, opener: opener) { bytes in
                try out.withBuffer { $0.append(contentsOf: bytes) }
            }
            try out.flush()
        } catch is OutputBuffer.OutputClosed {
            return
        }
    }
}

struct PrivacySealExisting: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal-existing",
        abstract: "Seal the PII a log written before sealing holds in clear, keeping every seq, recorded time and producer.",
        discussion: """
            Offline: stop every careerlog process using the data directory first (server, projectors, replays); the \
            command refuses while any has the log open, and none can open it until it is done. Finishes the key destruction of \
            every erasure in the log, copies the log through the sealer into <data-dir>/log.sealing (an erased subject's \
            PII becomes null, everyone else's is sealed with their key), reads the copy back and compares it event by \
            event with the log and scans it for PII left in clear, then exchanges the two directories in one atomic rename and deletes the old one. \
            Interrupted, it leaves the old log or the sealed one in place; run it again to finish (serve also deletes \
            what an interrupted run left in log.sealing). Refuses a log that is a symbolic link or a mount point, \
            events of a type the schemas do not define, and a log with \
            repair gaps or saved torn tails (.broken-*). Needs the master key; does nothing when no PII is in clear. \
            Files outside the data directory (backups, snapshots) still hold the clear bytes.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup var limits: LogLimitOptions
    @OptionGroup(title: "Privacy") var masterKey: MasterKeyOptions

    func run() throws {
        let job: ExistingLogSealing
        do {
            job = try ExistingLogSealing.prepare(data: data.layout, limits: limits.logLimits)
        } catch {
            printError("privacy seal-existing: \(error)")
            throw ExitCode(1)
        }
        let sealer = try masterKey.openForWriting(data: data, registry: try schemas.registry(), command: "privacy seal-existing")
        let report: ExistingLogSealReport
        do {
            report = try job.run(sealer: sealer)
        } catch {
            printError("privacy seal-existing: \(error)")
            throw ExitCode(1)
        }
        if report.unchanged {
            print("nothing to seal: no PII in clear in the log's \(report.events) events" + erasuresText(report))
            return
        }
        print("sealed the PII of \(report.sealed) events, stored \(report.nulled) erased subjects' PII as null; "
              + "\(report.events) events kept with their seqs; log \(report.bytesBefore) -> \(report.bytesAfter) bytes; "
              + "the unsealed log is deleted" + erasuresText(report))
    }

    private func erasuresText(_ report: ExistingLogSealReport) -> String {
        report.erasuresApplied == 0 ? "" : " (finished \(report.erasuresApplied) erasures' key destruction first)"
    }
}

/// The log for a reading command, or a clear refusal.
private func openLogReadOnly(data: DataDirectoryOptions, command: String) throws -> EventLog {
    do {
        return try EventLog.open(directory: data.logDirectory, mode: .readOnly)
    } catch {
        printError("\(command): cannot open the log: \(error)")
        throw ExitCode(1)
    }
}
