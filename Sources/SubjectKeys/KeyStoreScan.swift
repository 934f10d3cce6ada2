import Foundation

/// Reads every record of a store on open, builds the index, and tells a
/// torn tail (cut it) from corruption (report it) (KEYSTORE.md "Recovery").
enum KeyStoreScan {
    /// Records read per `pread` (1 MiB).
    static let chunkRecords = 8_192
    /// Damaged records tolerated while scanning before giving up: more than
    /// a torn tail or a few torn shreds can explain is corruption anyway.
    static let badRecordsMax = 1_024

    struct Outcome {
        var table: SubjectTable
        var recordCount: Int
        var nextBatch: UInt64
        var shredded: Int
        var erasureSeqMax: UInt64
        /// Key records a tombstone names that still hold a key or were torn
        /// while being shredded: shred them (again).
        var pendingShreds: [(record: Int, subject: UUID)]
        var fileSize: Int64
    }

    struct Bad {
        var index: Int
        /// The start of the batch the record before this one belongs to,
        /// when that batch is incomplete (this record is part of it).
        var incompleteBatchStart: Int?
    }

    struct Pass {
        var table: SubjectTable
        var nextBatch: UInt64 = 1
        var shredded = 0
        var erasureSeqMax: UInt64 = 0
        var pendingShreds: [(record: Int, subject: UUID)] = []
        var bad: [Bad] = []
        var resolved: Set<Int> = []
        var lastCompleteRunStart = -1
        // The current run of records of one batch.
        var runBatch: UInt64 = 0
        var runStart = 0
        var runLength = 0
        var runCount = 0

        var openRunStart: Int? { runLength < runCount ? runStart : nil }
    }

    static func run(fd: Int32, path: String, durableMark: Int, limits: KeyStoreLimits) throws(KeyStoreError) -> Outcome {
        let fileSize = try KeyFileIO.fileSize(fd, path: path)
        let body = fileSize - Int64(KeyStoreHeader.byteCount)
        let whole = Int(body / Int64(KeyRecord.byteCount))
        let partial = body % Int64(KeyRecord.byteCount) != 0
        guard whole <= SubjectTable.recordNumberMax else {
            throw KeyStoreError(.corruption, "the key store holds \(whole) records, more than any store can", file: path)
        }
        guard durableMark <= whole else {
            throw KeyStoreError(.corruption, "the key store ends at \(fileSize) bytes, before its durable end (record \(durableMark)): synced records are missing; restore the key store from backup", file: path, offset: fileSize)
        }
        var pass = try scan(fd: fd, path: path, records: whole)
        var unresolved = pass.bad.filter { !pass.resolved.contains($0.index) }
        if partial {
            unresolved.append(Bad(index: whole, incompleteBatchStart: pass.runStart + pass.runLength == whole ? pass.openRunStart : nil))
        }
        var recordCount = whole
        if let first = unresolved.first {
            let offset = KeyStoreState.offset(ofRecord: first.index)
            guard first.index >= durableMark, (first.incompleteBatchStart ?? first.index) >= durableMark else {
                throw KeyStoreError(.corruption, "key store record \(first.index) is damaged before the durable end (record \(durableMark)); restore the key store from backup", file: path, offset: offset)
            }
            guard pass.lastCompleteRunStart < first.index else {
                throw KeyStoreError(.corruption, "key store record \(first.index) is damaged and later records were synced after it; restore the key store from backup", file: path, offset: offset)
            }
            recordCount = first.incompleteBatchStart ?? first.index
            if recordCount < whole { pass = try scan(fd: fd, path: path, records: recordCount) }
        }
        return Outcome(table: pass.table, recordCount: recordCount, nextBatch: pass.nextBatch, shredded: pass.shredded,
                      erasureSeqMax: pass.erasureSeqMax, pendingShreds: pass.pendingShreds, fileSize: fileSize)
    }

    private static func scan(fd: Int32, path: String, records: Int) throws(KeyStoreError) -> Pass {
        var pass = Pass(table: SubjectTable(expected: records))
        var chunk = [UInt8](repeating: 0, count: chunkRecords * KeyRecord.byteCount)
        var index = 0
        while index < records {
            let n = min(chunkRecords, records - index)
            let offset = KeyStoreState.offset(ofRecord: index)
            let read = chunk.withUnsafeMutableBytes { raw in
                Result { () throws(KeyStoreError) in
                    try KeyFileIO.pread(fd, UnsafeMutableRawBufferPointer(rebasing: raw[..<(n * KeyRecord.byteCount)]), at: offset, path: path)
                }
            }
            guard try read.get() == n * KeyRecord.byteCount else {
                throw KeyStoreError(.io, "the key store file shrank while it was read", file: path, offset: offset)
            }
            for i in 0..<n {
                try visit(KeyRecord.decode(chunk, at: i * KeyRecord.byteCount), index: index + i, pass: &pass, path: path)
            }
            index += n
        }
        return pass
    }

    private static func visit(_ record: KeyRecord?, index: Int, pass: inout Pass, path: String) throws(KeyStoreError) {
        guard let record else {
            pass.bad.append(Bad(index: index, incompleteBatchStart: pass.runStart + pass.runLength == index ? pass.openRunStart : nil))
            guard pass.bad.count <= badRecordsMax else {
                throw KeyStoreError(.corruption, "more than \(badRecordsMax) damaged key store records; restore the key store from backup", file: path, offset: KeyStoreState.offset(ofRecord: index))
            }
            return
        }
        if record.batch == pass.runBatch && pass.runStart + pass.runLength == index {
            pass.runLength += 1
        } else {
            (pass.runBatch, pass.runStart, pass.runLength, pass.runCount) = (record.batch, index, 1, Int(record.batchCount))
        }
        if pass.runLength == pass.runCount { pass.lastCompleteRunStart = pass.runStart }
        pass.nextBatch = max(pass.nextBatch, record.batch + 1)
        switch record.kind {
        case .key:
            guard pass.table.find(record.subject) == nil else {
                throw KeyStoreError(.corruption, "key store record \(index) is a second record for a subject that already has one", file: path, offset: KeyStoreState.offset(ofRecord: index))
            }
            pass.table.set(record.subject, .init(record: index, erased: false))
        case .erased:
            if let existing = pass.table.find(record.subject), !existing.erased {
                pass.pendingShreds.append((existing.record, record.subject))  // the crash came before the shred
            } else if record.shreddedRecord > 0, pass.bad.contains(where: { $0.index == Int(record.shreddedRecord) - 1 }) {
                pass.resolved.insert(Int(record.shreddedRecord) - 1)  // a torn shred
                pass.pendingShreds.append((Int(record.shreddedRecord) - 1, record.subject))
            }
            pass.table.set(record.subject, .init(record: index, erased: true))
            pass.erasureSeqMax = max(pass.erasureSeqMax, record.erasureSeq)
        case .shredded:
            pass.shredded += 1
        }
    }
}
