import ArgumentParser
import CareerEvents
import EventLog
import Foundation
import StoredEventCodec
import SubjectKeys

/// Where the master key comes from (KEYSTORE.md "Master key and KEK").
struct MasterKeyOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The master key file: 32 bytes, mode 0600 (default: <data-dir>/keys/master.key; \(MasterKey.environmentVariable), when set, takes precedence).",
        valueName: "path"))
    var masterKeyFile: String?

    /// The writer's key store (serve, log import): the master key file is
    /// created on first start when no store exists; a missing or wrong key
    /// for an existing store refuses to start (never PII in clear instead).
    func openForWriting(data: DataDirectoryOptions, registry: SchemaRegistry, command: String) throws -> EventSealer {
        let directory = data.path + "/keys"
        do {
            let master = try MasterKey.resolve(keysDirectory: directory, file: masterKeyFile,
                                               environment: ProcessInfo.processInfo.environment, createIfMissing: true)
            let store = try KeyStore.open(directory: directory, masterKey: master, mode: .readWrite)
            return EventSealer(store: store, table: PIIPathTable(registry: registry))
        } catch {
            printError("\(command): cannot open the key store, so PII cannot be sealed and nothing is written: \(error)")
            throw ExitCode(1)
        }
    }

    /// A reader's key store (replay/dump --include-pii, privacy export):
    /// read-only, never creates a master key. nil when there is no store
    /// yet (no PII-bearing event was ever sealed).
    func openForReading(data: DataDirectoryOptions, command: String, instead: String? = nil) throws -> KeyStore? {
        let directory = data.path + "/keys"
        guard FileManager.default.fileExists(atPath: directory + "/" + KeyStore.storeFileName) else { return nil }
        do {
            let master = try MasterKey.resolve(keysDirectory: directory, file: masterKeyFile,
                                               environment: ProcessInfo.processInfo.environment, createIfMissing: false)
            return try KeyStore.open(directory: directory, masterKey: master, mode: .readOnly)
        } catch {
            printError("\(command): cannot open the key store for PII: \(error)" + (instead.map { "; \($0)" } ?? ""))
            throw ExitCode(1)
        }
    }
}

extension MasterKeyOptions {
    /// What the read models get (projector, rebuild, as-of builds): PII
    /// unsealed where a key exists, null where it was destroyed. Needs the
    /// master key once a key store exists: without it a rebuild would
    /// silently empty every PII column.
    func readModelOpener(data: DataDirectoryOptions, registry: SchemaRegistry, command: String) throws -> RecordOpener {
        RecordOpener(mode: .include(try openForReading(data: data, command: command)), table: PIIPathTable(registry: registry))
    }
}

/// `--include-pii` and the master key: what replay and dump show of PII.
struct PIIOptions: ParsableArguments {
    @Flag(help: "Print PII in clear where the subject's key exists (needs the master key; for data-subject requests and operators, not analysts). Without it every PII value is null and such events carry \"redacted\":true.")
    var includePII = false
    @OptionGroup var masterKey: MasterKeyOptions

    /// The opener these options ask for.
    func opener(data: DataDirectoryOptions, registry: SchemaRegistry, command: String) throws -> RecordOpener {
        let table = PIIPathTable(registry: registry)
        guard includePII else { return RecordOpener(mode: .redact, table: table) }
        guard let store = try masterKey.openForReading(data: data, command: command) else {
            // No store: no record was ever sealed; legacy plaintext shows as stored.
            return RecordOpener(mode: .include(nil), table: table)
        }
        return RecordOpener(mode: .include(store), table: table)
    }
}

/// `log dump`'s privacy options: the operator's default is the opposite of
/// replay's, PII in clear where the subject's key exists.
struct DumpPIIOptions: ParsableArguments {
    @Flag(help: "Print every PII value as null (\"redacted\":true), as an analyst's replay does; needs no master key.")
    var redactPII = false
    @OptionGroup var masterKey: MasterKeyOptions

    /// The opener these options ask for.
    func opener(data: DataDirectoryOptions, registry: SchemaRegistry, command: String) throws -> RecordOpener {
        let table = PIIPathTable(registry: registry)
        guard !redactPII else { return RecordOpener(mode: .redact, table: table) }
        let store = try masterKey.openForReading(data: data, command: command,
                                                 instead: "give the master key, or add --redact-pii to print the events without their PII")
        return RecordOpener(mode: .include(store), table: table)
    }
}
