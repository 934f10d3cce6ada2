import Foundation

/// The two ways careerlog's commands open the key store in
/// `<data-dir>/keys` (KEYSTORE.md "Master key and KEK").
extension KeyStore {
    /// The writer's store (serve, log import): the default master key file
    /// is made on first start when no store exists; a missing or wrong key
    /// for an existing store is an error (never PII in clear instead).
    public static func openForWriting(
        keysDirectory: String, masterKeyFile: String?, environment: [String: String]
    ) throws(KeyStoreError) -> KeyStore {
        let master = try MasterKey.resolve(keysDirectory: keysDirectory, file: masterKeyFile, environment: environment, createIfMissing: true)
        return try KeyStore.open(directory: keysDirectory, masterKey: master, mode: .readWrite)
    }

    /// A reader's store (replay/dump with PII, privacy, the read models):
    /// read-only, never makes a master key; nil when there is no store yet
    /// (no PII-bearing event was ever sealed).
    public static func openForReading(
        keysDirectory: String, masterKeyFile: String?, environment: [String: String]
    ) throws(KeyStoreError) -> KeyStore? {
        guard FileManager.default.fileExists(atPath: keysDirectory + "/" + storeFileName) else { return nil }
        let master = try MasterKey.resolve(keysDirectory: keysDirectory, file: masterKeyFile, environment: environment, createIfMissing: false)
        return try KeyStore.open(directory: keysDirectory, masterKey: master, mode: .readOnly)
    }
}
