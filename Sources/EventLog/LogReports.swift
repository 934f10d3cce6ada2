import Foundation

/// The lines `careerlog log` prints about what recovery, verify and repair
/// did: kept beside the reports, so every program that shows them says the
/// same words.
extension RecoveryReport {
    /// One `recovery: ...` line per torn tail cut and per index rebuilt.
    public var lines: [String] {
        truncations.map { cut in
            "recovery: cut a torn tail of \(cut.bytes) bytes at offset \(cut.offset) of \(cut.file) (\(cut.reason)); "
                + (cut.savedAs.map { "the bytes are kept in \($0)" } ?? "the bytes were not kept: no space left on the device")
        } + indexesRebuilt.map { "recovery: rebuilt index \($0)" }
    }
}

extension VerifySummary {
    /// `ok: ...` with the counts and the time taken, then a line per recorded
    /// gap and per torn tail the next open cuts.
    public func lines(seconds: Double) -> [String] {
        ["ok: \(counted(events, "event")) (seq 1...\(lastSeq)) in \(counted(frames, "frame")), \(counted(segments, "segment")), \(counted(bytes, "byte")); verified in \(String(format: "%.2f", seconds)) s"]
            + gaps.map { "gap: seqs \($0.after + 1)...\($0.next - 1) were given up by a recorded repair (REPAIRS)" }
            + tornTails.map { tail in
                "torn tail: \(tail.bytes) bytes at offset \(tail.offset) of \(tail.file) were never durable (\(tail.reason)); the next open cuts them and keeps them as \(tail.savedAs ?? "-")"
            }
    }
}

extension RepairReport {
    /// `repaired: ...`, then a line per file kept aside.
    public var lines: [String] {
        ["repaired: kept seqs up to \(truncateAfter), cut \(bytesCut) bytes, next seq \(nextSeq)"] + savedAs.map { "  kept aside: \($0)" }
    }
}

extension LogError {
    /// `<what> failed: <message>`, then the file and the offset when known.
    public func failureLines(_ what: String) -> [String] {
        ["\(what) failed: \(message)"] + (file.map { ["  file: \($0)"] } ?? []) + (offset.map { ["  offset: \($0)"] } ?? [])
    }
}

/// "1 segment", "2 segments".
func counted<N: BinaryInteger>(_ n: N, _ noun: String) -> String {
    "\(n) \(noun)\(n == 1 ? "" : "s")"
}
