import EventLog
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `--format csv --out DIR`: one CSV file per event type, `DIR/<type>.csv`,
/// each with its header. Files are created (or truncated: an export is
/// re-run, not appended to) when their type's first row arrives, or up front
/// for types named without a glob, so asking for a type with no events still
/// gives a file with just the header. Memory: one bounded buffer per file.
public final class CSVDirectoryWriter {
    private final class File {
        let path: String
        let fd: Int32
        var table: CSVTable
        var buffer: [UInt8] = []

        init(path: String, fd: Int32, table: CSVTable) {
            self.path = path
            self.fd = fd
            self.table = table
        }
    }

    public let directory: String
    private let columns: DataColumns
    private var files: [String: File] = [:]
    private var closed = false

    /// Creates `directory` if needed, and the files of `types` right away.
    public init(directory: String, columns: DataColumns, createFor types: [String] = []) throws(ReplayError) {
        self.directory = directory
        self.columns = columns
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ReplayError(.io, "cannot create the output directory \(directory): \(error.localizedDescription)")
        }
        for type in types { _ = try file(for: type) }
    }

    deinit {
        for file in files.values { Glibc.close(file.fd) }
    }

    /// Rows written so far, per type, including types with a header only
    /// (for the summary; kept after `close`).
    public private(set) var rowsByType: [String: UInt64] = [:]

    public func write(_ record: EventRecord) throws(ReplayError) {
        precondition(!closed, "no writes after close: they would truncate the files")
        let file = try file(for: record.event.type)
        try file.table.appendRow(record, to: &file.buffer)
        rowsByType[record.event.type, default: 0] += 1
        if file.buffer.count >= ReplayLimits.csvFileBufferBytes { try flush(file) }
    }

    /// Writes every buffered row (for `--follow`, when the log is idle).
    public func flush() throws(ReplayError) {
        for file in files.values { try flush(file) }
    }

    /// Flushes and closes every file.
    public func close() throws(ReplayError) {
        try flush()
        closed = true
        for (type, file) in files {
            Glibc.close(file.fd)
            files[type] = nil
        }
    }

    private func file(for type: String) throws(ReplayError) -> File {
        if let file = files[type] { return file }
        guard files.count < ReplayLimits.csvFilesMax else {
            throw ReplayError(.limit, "more than \(ReplayLimits.csvFilesMax) event types to write as CSV; narrow --type")
        }
        guard Self.isSafeFileName(type) else {
            throw ReplayError(.invalidArgument, "event type '\(type)' cannot be used as a file name; narrow --type to skip it")
        }
        let path = directory + "/" + type + ".csv"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ReplayError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
        let file = File(path: path, fd: fd, table: CSVTable(type: type, dataColumns: columns.columnsByType[type]))
        file.buffer.reserveCapacity(ReplayLimits.csvFileBufferBytes + (64 << 10))
        file.table.appendHeader(to: &file.buffer)
        files[type] = file
        rowsByType[type] = 0
        return file
    }

    private func flush(_ file: File) throws(ReplayError) {
        guard !file.buffer.isEmpty else { return }
        var done = 0
        while done < file.buffer.count {
            let n = file.buffer.withUnsafeBytes { Glibc.write(file.fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReplayError(.io, "cannot write \(file.path): \(String(cString: strerror(errno)))")
            }
            done += n
        }
        file.buffer.removeAll(keepingCapacity: true)
    }

    /// Type names become file names: letters, digits, `.`, `_`, `-`, not
    /// starting with a dot (no `/`, no `..`, no hidden files).
    static func isSafeFileName(_ type: String) -> Bool {
        guard let first = type.utf8.first, first != UInt8(ascii: "."), type.utf8.count <= 200 else { return false }
        return type.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}
