import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The master key (32 bytes) from which the key store derives its
/// key-encryption key (KEYSTORE.md). It comes from an environment variable
/// or a file; there is never a fallback to storing PII in clear.
public struct MasterKey: Sendable {
    /// The environment variable read by `resolve`: 64 hex digits or the
    /// base64 of 32 bytes.
    public static let environmentVariable = "CAREERLOG_MASTER_KEY"
    /// The default file name inside the keys directory.
    public static let defaultFileName = "master.key"
    /// A master key is exactly this long (AES-256 / HKDF-SHA256 input).
    public static let byteCount = 32

    let key: DataKey

    /// A master key from raw bytes (tests, secrets managers); exactly 32 bytes.
    public init(bytes: [UInt8]) throws(KeyStoreError) {
        guard bytes.count == Self.byteCount else {
            throw KeyStoreError(.badMasterKey, "a master key is \(Self.byteCount) bytes, not \(bytes.count)")
        }
        key = DataKey(SymmetricKey(data: bytes))
    }

    /// Picks the master key: `CAREERLOG_MASTER_KEY` when set in
    /// `environment`, else `file` (default `<keysDirectory>/master.key`).
    /// The default file is created (0600, 32 random bytes) only when
    /// `createIfMissing` and no key store exists yet in `keysDirectory`: a
    /// missing key for an existing store is an error, never a new key.
    public static func resolve(
        keysDirectory: String, file: String? = nil, environment: [String: String],
        createIfMissing: Bool
    ) throws(KeyStoreError) -> MasterKey {
        if let value = environment[environmentVariable], !value.isEmpty {
            return try parse(environmentValue: value)
        }
        let path = file ?? (keysDirectory + "/" + defaultFileName)
        if !KeyFileIO.exists(path) {
            let storeExists = KeyFileIO.exists(keysDirectory + "/" + KeyStore.storeFileName)
            guard createIfMissing, file == nil, !storeExists else {
                throw KeyStoreError(.missingMasterKey, storeExists
                    ? "no master key at \(path) for the existing key store in \(keysDirectory); restore the file the store was created with, pass --master-key-file, or set \(environmentVariable)"
                    : "no master key at \(path); create it (32 random bytes, mode 0600) or set \(environmentVariable)",
                    file: path)
            }
            try KeyFileIO.makeDirectory(keysDirectory)
            try createFile(path, directory: keysDirectory)
        }
        return try load(file: path)
    }

    /// Parses the environment variable's value: 64 hex digits or base64.
    public static func parse(environmentValue value: String) throws(KeyStoreError) -> MasterKey {
        let text = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 2 * byteCount, let bytes = hexBytes(text) { return try MasterKey(bytes: bytes) }
        if let data = Data(base64Encoded: text), data.count == byteCount { return try MasterKey(bytes: [UInt8](data)) }
        throw KeyStoreError(.badMasterKey,
            "\(environmentVariable) must hold 32 bytes as 64 hex digits or as base64 (e.g. `head -c 32 /dev/urandom | base64`)")
    }

    /// Reads a master key file: a regular file of exactly 32 bytes, owned by
    /// this user, that no group or other user may read or write.
    public static func load(file path: String) throws(KeyStoreError) -> MasterKey {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw KeyStoreError(errno == ENOENT ? .missingMasterKey : .io, KeyFileIO.errorText("open of the master key"), file: path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw KeyStoreError(.io, KeyFileIO.errorText("fstat"), file: path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw KeyStoreError(.badMasterKey, "the master key must be a regular file", file: path)
        }
        guard info.st_mode & 0o077 == 0 else {
            throw KeyStoreError(.badMasterKey, String(format: "the master key file has mode %o; allow only its owner (chmod 600)", info.st_mode & 0o777), file: path)
        }
        guard info.st_uid == geteuid() else {
            throw KeyStoreError(.badMasterKey, "the master key file is owned by uid \(info.st_uid), not by this user (uid \(geteuid()))", file: path)
        }
        guard info.st_size == byteCount else {
            throw KeyStoreError(.badMasterKey, "the master key file is \(info.st_size) bytes; it must be exactly \(byteCount)", file: path)
        }
        var bytes = [UInt8](repeating: 0, count: byteCount)
        let read = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(KeyStoreError) in try KeyFileIO.pread(fd, raw, at: 0, path: path) }
        }
        guard try read.get() == byteCount else {
            throw KeyStoreError(.badMasterKey, "the master key file is shorter than \(byteCount) bytes", file: path)
        }
        defer { for i in bytes.indices { bytes[i] = 0 } }
        return try MasterKey(bytes: bytes)
    }

    /// Creates a new master key file: exclusive create, mode 0600, 32 bytes
    /// from the system's random generator, fsynced with its directory.
    static func createFile(_ path: String, directory: String) throws(KeyStoreError) {
        let fd = try KeyFileIO.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        defer { close(fd) }
        var bytes = SymmetricKey(size: .bits256).withUnsafeBytes { [UInt8]($0) }
        defer { for i in bytes.indices { bytes[i] = 0 } }
        try KeyFileIO.pwrite(fd, bytes, at: 0, path: path)
        try KeyFileIO.fsync(fd, path: path)
        try KeyFileIO.fsyncDirectory(directory)
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count / 2)
        var high: UInt8?
        for c in text.utf8 {
            let nibble: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high { bytes.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        return high == nil ? bytes : nil
    }
}
