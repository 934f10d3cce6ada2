import ArgumentParser
import CareerEvents
import EventLog
import Foundation
import Replay
import StoredEventCodec
import SubjectKeys

/// `careerlog privacy`: a data subject's rights, for the operator who
/// answers them.
struct PrivacyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy",
        abstract: "What the log holds about one data subject: key status, and an export for an access request.",
        subcommands: [PrivacyStatus.self, PrivacyExport.self]
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
        let store = try masterKey.openForReading(data: data, command: "privacy status")
        let status = try SubjectPrivacy.status(of: UUIDText.parse(subject)!, log: log, store: store,
                                               table: PIIPathTable(registry: try schemas.registry()))
        print(json ? status.json : Self.text(status))
    }

    /// The human form: one fact a line.
    static func text(_ status: SubjectPrivacyStatus) -> String {
        var lines = ["subject: \(UUIDText.string(status.subject))"]
        switch status.key {
        case .none: lines.append("key: none (no PII-bearing event was ever sealed for this subject)")
        case .active(let at): lines.append("key: active, created \(rfc3339(at))")
        case .destroyed(let seq, let at): lines.append("key: destroyed by the erasure at seq \(seq), \(rfc3339(at))")
        }
        lines.append("events: \(status.events), with sealed PII: \(status.sealedEvents), with PII in clear (written before sealing): \(status.clearPIIEvents)")
        if !status.erasureSeqs.isEmpty { lines.append("user.erased at seq: \(status.erasureSeqs.map(String.init).joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }

    private static func rfc3339(_ microseconds: Int64) -> String { SubjectPrivacy.rfc3339(microseconds: microseconds) }
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

/// The log for a reading command, or a clear refusal.
private func openLogReadOnly(data: DataDirectoryOptions, command: String) throws -> EventLog {
    do {
        return try EventLog.open(directory: data.logDirectory, mode: .readOnly)
    } catch {
        printError("\(command): cannot open the log: \(error)")
        throw ExitCode(1)
    }
}
