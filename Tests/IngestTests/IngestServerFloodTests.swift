import CareerEvents
import EventLog
import Foundation
import TestSupport
import XCTest

@testable import Ingest

/// The server under floods of connections, half-sent lines, trickled lines
/// and huge values: bounded resources, true answers, and it keeps working.
final class IngestServerFloodTests: XCTestCase {
    private typealias Support = ServerTestSupport

    // MARK: - Descriptors

    func testRaisesTheOpenFileSoftLimitToTheHardLimitOnStart() throws {
        let original = try OpenFileLimit.current()
        guard original.hard > 512 else { return XCTFail("the hard open-file limit (\(original.hard)) is too low for this test") }
        defer { OpenFileLimit.set(soft: original.soft) }
        OpenFileLimit.set(soft: 512)
        let server = try TestServer()
        defer { server.stop() }
        XCTAssertEqual(try OpenFileLimit.current().soft, original.hard)
    }

    func testAConnectionFloodUnderALowOpenFileLimitIsRefusedWhileTheLogKeepsRolling() throws {
        let original = try OpenFileLimit.current()
        defer { OpenFileLimit.set(soft: original.soft) }
        OpenFileLimit.set(soft: 256)
        // A small segment limit makes the log roll (open a segment, an index
        // file, the directory) again and again during the flood.
        let server = try TestServer(logLimits: LogLimits(segmentBytesMax: 8 << 10)) { $0.raiseOpenFileLimit = false }
        defer { server.stop() }
        let capacity = server.server.effectiveConnectionsMax
        XCTAssertLessThan(capacity, 256 - IngestLimits().descriptorsReserved, "the limit leaves the reserve free")
        XCTAssertGreaterThan(capacity, 50)
        let lines = Support.validLines(1000, seed: 41)
        var ledger = AnswerLedger(lines: lines)
        let client = try server.connect()  // takes one slot
        let extra = 100
        let flood = try FloodProcess(port: server.server.tcpPort!, connections: capacity - 1 + extra)
        defer { flood.stop() }
        let segmentsBefore = try server.log.statistics().segments
        for batch in 0..<10 { try ledger.send(Array(batch * 100..<batch * 100 + 100), through: client) }
        let summary = try flood.summary()
        XCTAssertEqual(summary.connected, capacity - 1 + extra)
        // Past the limit: the overloaded line while few refusals are in
        // flight (the first ones always are), closed at once past that;
        // never held open, never another answer.
        let inFlightMax = IngestServer.refusalsInFlightMax(IngestLimits())
        XCTAssertGreaterThanOrEqual(summary.refused, min(extra, inFlightMax), "connections past the limit get the overloaded line")
        XCTAssertEqual(summary.refused + summary.closed, extra, "every connection past the limit is refused or closed")
        XCTAssertEqual(summary.open, capacity - 1)
        XCTAssertEqual(summary.other, [])
        XCTAssertEqual(ledger.pending, [], "every event was stored during the flood")
        XCTAssertEqual(ledger.acked.count, 1000)
        XCTAssertGreaterThan(try server.log.statistics().segments, segmentsBefore + 5, "the log rolled during the flood")
        XCTAssertEqual(Set(try server.storedIDs()), Set(ledger.acked.keys))

        flood.stop()
        waitUntil("the flood's connections are closed") { server.server.connectionCount == 1 }
        let after = try server.connect()
        let more = Support.validLines(1001, seed: 41).suffix(1)
        try after.send(lines: Array(more))
        XCTAssertEqual(try after.readAck().seq, 1001)
    }

    // MARK: - Half-sent lines

    func testHalfSentLinesStayWithinTheBufferBudgetAndMemoryIsReturned() throws {
        var limits = IngestLimits()
        limits.bufferedBytesMax = 24 << 20
        let server = try TestServer(limits: limits)
        defer { server.stop() }
        let connections = 160
        let lines = Support.validLines(connections, seed: 42)
        let partial = [UInt8](repeating: UInt8(ascii: "x"), count: (1 << 20) - 64)
        let clients = try (0..<connections).map { _ in try server.connect(server.unix) }
        let before = residentBytes()

        // Each sends one whole line, then most of a 1 MiB line, and stops.
        let sent = DispatchGroup()
        for (i, client) in clients.enumerated() {
            sent.enter()
            Thread {
                defer { sent.leave() }
                try? client.send(lines[i] + "\n")
                try? client.socket.send(partial)
            }.start()
        }
        var peak = before
        let deadline = ContinuousClock.now + .seconds(15)
        while sent.wait(timeout: .now() + .milliseconds(50)) == .timedOut, ContinuousClock.now < deadline {
            peak = max(peak, residentBytes())
        }
        // What they already sent is answered.
        for (i, client) in clients.enumerated() {
            guard case .stored(let id, _) = try client.readAck() else { return XCTFail("connection \(i): its whole line was not stored") }
            XCTAssertEqual(id, Support.id(of: lines[i]))
        }
        peak = max(peak, residentBytes())
        XCTAssertLessThanOrEqual(server.server.bufferedInputBytesPeak, limits.bufferedBytesMax)
        XCTAssertGreaterThan(server.server.bufferedInputBytesPeak, limits.bufferedBytesMax / 2, "the flood did fill the budget")
        // 160 MiB were sent; the budget holds 24 MiB (plus socket reads in flight).
        XCTAssertLessThan(peak - before, limits.bufferedBytesMax + (40 << 20), "resident memory grew by \((peak - before) >> 20) MiB")

        for client in clients { shutdown(client.socket.fd, Int32(SHUT_RDWR)) }
        _ = sent.wait(timeout: .now() + 10)
        waitUntil("every connection is closed and its buffer released") {
            server.server.connectionCount == 0 && server.server.bufferedInputBytes == 0
        }
        let after = residentBytes()
        XCTAssertLessThan(after - before, 24 << 20, "\((after - before) >> 20) MiB still held after the connections closed")
    }

    // MARK: - Timeouts

    func testATrickledLineIsAnsweredLineTimeoutAndAnIdleConnectionIdleTimeout() throws {
        var limits = IngestLimits()
        limits.idleTimeoutMs = 1500
        limits.lineDeadlineMs = 4000
        let server = try TestServer(limits: limits)
        defer { server.stop() }
        let line = Support.validLines(1)[0]
        let trickler = try server.connect()
        let idle = try server.connect()
        let start = ContinuousClock.now
        let sender = Thread {
            // 2 bytes a second: never idle, never a whole line.
            var offset = line.utf8.startIndex
            while !Thread.current.isCancelled, offset < line.utf8.endIndex {
                let next = line.utf8.index(offset, offsetBy: 2, limitedBy: line.utf8.endIndex) ?? line.utf8.endIndex
                do { try trickler.socket.send(Array(line.utf8[offset..<next])) } catch { return }
                offset = next
                usleep(1_000_000)
            }
        }
        sender.start()
        defer { sender.cancel() }
        XCTAssertEqual(try idle.readLine(timeoutMs: 8000), #"{"ok":false,"id":null,"line":0,"error":"idle_timeout","message":"closing the connection: nothing received for 1500 ms"}"#)
        XCTAssertNil(try idle.readLine())
        XCTAssertEqual(try trickler.readLine(timeoutMs: 8000), #"{"ok":false,"id":null,"line":1,"error":"line_timeout","message":"closing the connection: line 1 did not end within 4000 ms of its first byte"}"#)
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - start, .milliseconds(4000))
        XCTAssertTrue(trickler.waitForClose(timeoutMs: 3000))
    }

    // MARK: - Echoed values

    func testEchoedNumbersAreCutTo64Bytes() throws {
        let server = try TestServer()
        defer { server.stop() }
        guard let mentor = Support.validLines(300, seed: 43).first(where: { $0.contains(#""type":"mentor.registered""#) }) else {
            return XCTFail("the generator made no mentor.registered event")
        }
        // An integer (100) in 900 KiB of text, so it reaches the maximum check.
        let digits = "100." + String(repeating: "0", count: 900 << 10)
        let huge = Support.modified(mentor) { object in
            guard case .object(var data)? = object["data"] else { return }
            data["max_mentees"] = .number(JSONNumber(text: digits))
            object["data"] = .object(data)
        }
        let client = try server.connect()
        try client.send(lines: [huge])
        let answer = try XCTUnwrap(try client.readLine())
        XCTAssertEqual(answer, #"{"ok":false,"id":"\#(Support.id(of: mentor))","line":1,"error":"schema","message":"data.max_mentees: \#(digits.prefix(64))... is greater than the maximum 50"}"#)
    }

    private func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// The process's RLIMIT_NOFILE.
enum OpenFileLimit {
    static func current() throws -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw TemporaryFilesystemError(message: "getrlimit failed") }
        return (Int(limit.rlim_cur), Int(limit.rlim_max))
    }

    static func set(soft: Int) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = rlim_t(soft)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { XCTFail("setrlimit(\(soft)) failed: errno \(errno)") }
    }
}

/// A child process (perl, always present on Debian-based systems) that opens
/// many connections at once, so they do not use this process's descriptors;
/// it reports what each connection received first, and holds the rest open
/// until `stop()`.
final class FloodProcess {
    struct Summary: Equatable {
        var connected = 0
        var refused = 0
        var open = 0
        /// Closed without a line (too many refusals in flight).
        var closed = 0
        var other: [String] = []
    }

    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    private static let script = #"""
        use strict; use IO::Socket::INET; use IO::Select;
        my ($port, $count) = @ARGV; $| = 1;
        my @sockets;
        for (1 .. $count) {
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Timeout => 5) or last;
            push @sockets, $s;
        }
        my $select = IO::Select->new(@sockets);
        my (%first, $quiet);
        # First lines arrive at once; stop after a quiet second.
        while ($quiet < 1 && keys(%first) < @sockets) {
            my @ready = $select->can_read(1.0);
            $quiet = @ready ? 0 : $quiet + 1;
            for my $s (@ready) {
                my $line = <$s>; $line = "EOF\n" unless defined $line;
                $first{$s} = $line; $select->remove($s);
            }
        }
        my ($refused, $open, $closed, @other) = (0, 0, 0);
        for my $s (@sockets) {
            my $line = $first{$s};
            if (!defined $line) { $open++ }
            elsif ($line =~ /"line":0,"error":"overloaded"/) { $refused++ }
            elsif ($line eq "EOF\n") { $closed++ }
            else { chomp $line; push @other, $line }
        }
        print "connected=" . scalar(@sockets) . " refused=$refused open=$open closed=$closed\n";
        print "other=$_\n" for @other;
        print "end\n";
        <STDIN>;
        """#

    init(port: Int, connections: Int) throws {
        process.standardInput = input
        process.standardOutput = output
        // The child needs a descriptor per connection, whatever this process's limit is.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = ["--nofile=\(connections + 64)", "/usr/bin/perl", "-e", Self.script, String(port), String(connections)]
        try process.run()
    }

    /// Waits for the child's report.
    func summary() throws -> Summary {
        var summary = Summary()
        var text = ""
        let handle = output.fileHandleForReading
        while !text.hasSuffix("end\n") {
            let data = handle.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        for line in text.split(separator: "\n") {
            if line.hasPrefix("connected=") {
                let fields = Dictionary(uniqueKeysWithValues: line.split(separator: " ").map { field -> (String, Int) in
                    let pair = field.split(separator: "=")
                    return (String(pair[0]), Int(pair[1]) ?? -1)
                })
                summary.connected = fields["connected"] ?? -1
                summary.refused = fields["refused"] ?? -1
                summary.open = fields["open"] ?? -1
                summary.closed = fields["closed"] ?? -1
            } else if line.hasPrefix("other=") {
                summary.other.append(String(line.dropFirst(6)))
            }
        }
        return summary
    }

    /// Closes the child's connections (it exits when its input ends).
    func stop() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
