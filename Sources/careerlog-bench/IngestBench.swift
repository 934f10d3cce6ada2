import ArgumentParser
import CareerEvents
import EventGenerator
import EventLog
import Foundation
import Ingest
import StoredEventCodec
import SubjectKeys
import Telemetry
import Logging
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// Starts an ingest server in this process on a fresh log (so the run is
/// self-contained and the appender's fsync counter can be read), then drives
/// it over real sockets from one client thread: N connections sending
/// generated events as fast as the in-flight window and acks allow, or at
/// `--rate`. Client and server share the machine's cores, as they would in
/// two processes.
struct IngestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Throughput and acknowledgement latency of the ingest server on generated events (durable acks).",
        discussion: """
            Run once without --rate for the maximum, then with --rate at half of it for latency under load. \
            Latency is measured per event from the moment its line is handed to the socket to the moment \
            its ack is read.
            """)

    @Option(help: ArgumentHelp("Client connections.", valueName: "count")) var connections: Int = 8
    @Option(help: ArgumentHelp("Events to send in total.", valueName: "count")) var events: Int = 500_000
    @Option(help: ArgumentHelp("Events per second in total (default: as fast as acks allow).", valueName: "per-second"))
    var rate: Int?
    @Option(help: ArgumentHelp("Lines in flight per connection.", valueName: "lines")) var window: Int = 1024
    @Option(help: ArgumentHelp("Generator seed.", valueName: "n")) var seed: UInt64 = 1
    @Flag(help: "Connect through the Unix socket instead of TCP.") var unixSocket = false
    @Flag(help: "Record into Prometheus metrics as `serve` with HTTP does (to measure their cost).") var metrics = false
    @Flag(inversion: .prefixedNo, help: "Seal PII as `serve` does (a key store under --directory, a fresh master key); --no-seal stores it as sent, to measure sealing's cost.")
    var seal = true
    @Flag(help: "TLS on TCP and a producer's token, as a service on another machine connects (a throwaway certificate is made with openssl).")
    var tls = false
    @Option(help: ArgumentHelp("Also time this many connection set-ups (connect, and with --tls the handshake and the auth line), one after another.", valueName: "count"))
    var setups: Int = 0
    @Option(help: ArgumentHelp("Where to put the benchmark's data directory (removed first).", valueName: "dir")) var directory: String = "./.careerlog-bench/ingest"
    @Option(help: ArgumentHelp("Server event loop threads (default one per core).", valueName: "count"))
    var eventLoops: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(name: .customLong("segment-mib"), help: ArgumentHelp("Segment size limit in MiB (small: segments are sealed during the run).", valueName: "mib"))
    var segmentMiB: Int = LogLimits().segmentBytesMax >> 20
    @Flag(help: "Recompress sealed segments in the background during the run, as `serve` does.") var recompress = false
    @Option(help: ArgumentHelp("Append this many generated events (another seed) to the log before the run, so it starts with sealed segments to recompress.", valueName: "count"))
    var prefill: Int = 0
    @OptionGroup var schemas: SchemaOptions

    func validate() throws {
        guard connections >= 1, connections <= 1000 else { throw ValidationError("--connections must be between 1 and 1000") }
        guard events >= connections else { throw ValidationError("--events must be at least --connections") }
        guard window >= 1, window <= IngestLimits().unacknowledgedLinesMax else {
            throw ValidationError("--window must be between 1 and \(IngestLimits().unacknowledgedLinesMax)")
        }
        if let rate, rate < 1 { throw ValidationError("--rate must be at least 1") }
        if tls, unixSocket { throw ValidationError("--tls is for TCP; the Unix socket stays plain (its file mode guards it)") }
        guard setups >= 0, setups <= 100_000 else { throw ValidationError("--setups must be between 0 and 100000") }
    }

    func run() throws {
        // 1. Input, not timed: generated NDJSON, dealt round-robin.
        var generator = HistoryGenerator(options: GeneratorOptions(users: max(1, events / 190), seed: seed, months: 12))
        var loads = (0..<connections).map { _ in ConnectionLoad() }
        var line: [UInt8] = []
        var generated = 0
        var ndjsonBytes = 0
        while generated < events {
            line.removeAll(keepingCapacity: true)
            guard generator.nextLine(into: &line) else { break }
            if line.last != UInt8(ascii: "\n") { line.append(UInt8(ascii: "\n")) }
            loads[generated % connections].add(line)
            ndjsonBytes += line.count
            generated += 1
        }

        // 2. The server, on a fresh log.
        let registry = try schemas.registry()
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var limits = LogLimits()
        limits.segmentBytesMax = segmentMiB << 20
        let log = try EventLog.open(directory: directory + "/log", limits: limits)
        if prefill > 0 {
            let appended = try prefillLog(log, events: prefill, seed: seed &+ 1_000)
            print("prefilled: \(appended) events, \(try log.statistics().segments) segments")
        }
        let recompressed = Locked(0)
        let recompressor = recompress ? BackgroundRecompressor(log: log, interval: .milliseconds(100), onSegment: { _ in recompressed.mutate { $0 += 1 } },
                                                               onError: { printError("bench: recompression failed: \($0)") }) : nil
        recompressor?.start()
        var configuration = IngestServer.Configuration()
        configuration.tcpHost = unixSocket ? nil : "127.0.0.1"
        configuration.tcpPort = 0
        configuration.unixSocketPath = unixSocket ? directory + "/ingest.sock" : nil
        configuration.eventLoopThreads = eventLoops
        if metrics { configuration.metrics = CareerlogMetrics() }
        if seal {
            let keys = directory + "/keys"
            let master = try MasterKey.resolve(keysDirectory: keys, environment: [:], createIfMissing: true)
            configuration.sealer = EventSealer(store: try KeyStore.open(directory: keys, masterKey: master, mode: .readWrite),
                                               table: PIIPathTable(registry: registry))
        }
        let door = tls ? try BenchDoor(directory: directory) : nil
        if let door { configuration.door = door.server }
        var logger = Logger(label: "careerlog.bench", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let server = try IngestServer.start(
            log: log, window: DedupeWindow(capacity: 10_000_000),
            validate: { envelope throws(EventError) in try registry.validate(envelope) },
            configuration: configuration, logger: logger)
        let endpoint: IngestEndpoint = unixSocket ? .unix(path: directory + "/ingest.sock") : .tcp(host: "127.0.0.1", port: server.tcpPort!)

        // 3. The load.
        print(String(format: "ingest bench: %d connections (%@), %d events, %.1f MB of NDJSON (%d bytes/event), window %d lines/connection, rate %@, PII %@",
                     connections, unixSocket ? "unix socket" : tls ? "tcp, TLS and a token" : "tcp", generated, Double(ndjsonBytes) / 1e6, ndjsonBytes / max(1, generated),
                     window, rate.map { "\($0) events/s" } ?? "as fast as acks allow", seal ? "sealed" : "as sent"))
        let syncsBefore = server.appenderStatistics.syncs
        let opened = try (0..<connections).map { _ in try BenchConnection(endpoint: endpoint, door: door) }
        var driver = LoadDriver(sockets: opened.map(\.socket), loads: loads, window: window, ratePerSecond: rate)
        loads = []
        let cpuBefore = Self.processCPUSeconds()
        let result = try driver.run()
        let cpuSeconds = Self.processCPUSeconds() - cpuBefore
        let stats = server.appenderStatistics
        for connection in opened { connection.close() }
        let setupSeconds = try timeSetups(endpoint: endpoint, door: door)
        server.shutdown()
        recompressor?.stop()
        if recompress { print("segments recompressed during the run: \(recompressed.value)") }
        let lastSeq = log.lastSeq
        try log.close()

        // 4. The figures.
        let seconds = result.seconds
        print(String(format: "throughput: %.0f events/s, %.1f MB/s of NDJSON (%d events in %.2f s)",
                     Double(result.acknowledged) / seconds, Double(ndjsonBytes) / seconds / 1e6, result.acknowledged, seconds))
        let latencies = result.latenciesMicroseconds.sorted()
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            return Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
        }
        print(String(format: "ack latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms",
                     percentile(0.50), percentile(0.90), percentile(0.99), percentile(0.999), Double(latencies.last ?? 0) / 1000))
        let syncs = stats.syncs - syncsBefore
        print(String(format: "fsyncs: %d (%.0f/s), %.0f events per fsync",
                     syncs, Double(syncs) / seconds, Double(stats.eventsStored) / Double(max(1, syncs))))
        print(String(format: "cpu (server and client, this process): %.2f s of %d cores = %.1f µs per event, %.0f%% of the machine",
                     cpuSeconds, ProcessInfo.processInfo.activeProcessorCount, cpuSeconds / Double(max(1, result.acknowledged)) * 1e6,
                     100 * cpuSeconds / seconds / Double(ProcessInfo.processInfo.activeProcessorCount)))
        let write = stats.writeLatency
        print(String(format: "appender append + fdatasync per group: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     write.percentileMilliseconds(0.5), write.percentileMilliseconds(0.99), Double(write.maxMicroseconds) / 1000))
        let logBytes = Self.bytes(under: directory + "/log"), keyBytes = Self.bytes(under: directory + "/keys")
        print(String(format: "on disk: log %.1f MB, %.1f bytes/event; key store %.2f MB",
                     Double(logBytes) / 1e6, Double(logBytes) / Double(max(1, lastSeq)), Double(keyBytes) / 1e6))
        if let setupSeconds {
            print(String(format: "connection set-up (%@): %d in %.2f s = %.0f/s, %.2f ms each",
                         tls ? "connect, TLS handshake, auth line" : "connect", setups, setupSeconds,
                         Double(setups) / setupSeconds, setupSeconds / Double(setups) * 1000))
        }
        guard result.rejected == 0, result.acknowledged == generated, lastSeq == UInt64(generated) else {
            printError("bench: \(result.rejected) rejected (first: \(result.firstRejection ?? "-")), \(result.acknowledged) acknowledged of \(generated), log last seq \(lastSeq)")
            throw ExitCode(1)
        }
    }
}

extension IngestBench {
    /// Bytes of the regular files directly in `directory` (0 if it is missing).
    static func bytes(under directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.reduce(0) { total, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? NSNumber)?.intValue
            return total + (size ?? 0)
        }
    }

    /// Opens and closes `setups` connections one after another (each
    /// waits for its handshake and auth answer); nil when none are asked.
    func timeSetups(endpoint: IngestEndpoint, door: BenchDoor?) throws -> Double? {
        guard setups > 0 else { return nil }
        let start = ContinuousClock.now
        for _ in 0..<setups { try BenchConnection(endpoint: endpoint, door: door).close() }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// User + system CPU time of this process so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// One connection's share of the input: the bytes and where each line ends.
private struct ConnectionLoad {
    var bytes: [UInt8] = []
    var lineEnds: [Int] = []

    mutating func add(_ line: [UInt8]) {
        bytes.append(contentsOf: line)
        lineEnds.append(bytes.count)
    }
}

/// Drives all connections from one thread with `poll`: writes while the
/// window (and the rate) allows, reads acks, and times each event.
private struct LoadDriver {
    struct Result {
        var seconds: Double
        var acknowledged: Int
        var rejected: Int
        var firstRejection: String?
        var latenciesMicroseconds: [UInt32]
    }

    private final class Connection {
        let socket: IngestSocket
        let load: ConnectionLoad
        var linesWritten = 0
        var bytesWritten = 0
        var acknowledged = 0
        /// When each line's last byte went to the socket (ns, monotonic).
        var sentAt: [UInt64]
        var partial: [UInt8] = []

        init(socket: IngestSocket, load: ConnectionLoad) {
            self.socket = socket
            self.load = load
            self.sentAt = Array(repeating: 0, count: load.lineEnds.count)
        }

        var done: Bool { acknowledged == load.lineEnds.count }
    }

    private static let tickNanoseconds: UInt64 = 1_000_000
    private let connections: [Connection]
    private let window: Int
    private let ratePerConnection: Double?

    init(sockets: [IngestSocket], loads: [ConnectionLoad], window: Int, ratePerSecond: Int?) {
        connections = zip(sockets, loads).map { Connection(socket: $0, load: $1) }
        for connection in connections {
            _ = fcntl(connection.socket.fd, F_SETFL, fcntl(connection.socket.fd, F_GETFL) | O_NONBLOCK)
        }
        self.window = window
        self.ratePerConnection = ratePerSecond.map { Double($0) / Double(loads.count) }
    }

    mutating func run() throws -> Result {
        var result = Result(seconds: 0, acknowledged: 0, rejected: 0, latenciesMicroseconds: [])
        result.latenciesMicroseconds.reserveCapacity(connections.reduce(0) { $0 + $1.load.lineEnds.count })
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        defer { chunk.deallocate() }
        var pollSet = connections.map { pollfd(fd: $0.socket.fd, events: 0, revents: 0) }
        let start = Self.nowNanoseconds()
        while !connections.allSatisfy(\.done) {
            let now = Self.nowNanoseconds()
            for (i, connection) in connections.enumerated() {
                let allowed = allowedLines(connection, elapsed: now - start)
                pollSet[i].events = Int16(POLLIN) | (allowed > connection.linesWritten ? Int16(POLLOUT) : 0)
            }
            let ready = poll(&pollSet, nfds_t(pollSet.count), ratePerConnection == nil ? 1000 : 1)
            if ready < 0 && errno != EINTR { throw BenchError("poll failed: \(String(cString: strerror(errno)))") }
            for (i, connection) in connections.enumerated() {
                if pollSet[i].revents & Int16(POLLOUT) != 0 {
                    try write(connection, upTo: allowedLines(connection, elapsed: Self.nowNanoseconds() - start))
                }
                if pollSet[i].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                    try read(connection, chunk: chunk, result: &result)
                }
            }
        }
        result.seconds = Double(Self.nowNanoseconds() - start) / 1e9
        return result
    }

    /// Lines the window and the rate let this connection have written.
    private func allowedLines(_ connection: Connection, elapsed: UInt64) -> Int {
        var allowed = min(connection.load.lineEnds.count, connection.acknowledged + window)
        if let ratePerConnection {
            // Paced in 1 ms ticks: what fell due during a tick goes out in
            // one write at its start (as from a service batching its sends),
            // rather than one line per syscall in a busy loop.
            let tickStart = elapsed / Self.tickNanoseconds * Self.tickNanoseconds
            allowed = min(allowed, Int(ratePerConnection * Double(tickStart + Self.tickNanoseconds) / 1e9))
        }
        return allowed
    }

    private func write(_ connection: Connection, upTo allowed: Int) throws {
        let target = max(allowed, connection.linesWritten)
        guard target > 0 else { return }
        let end = connection.load.lineEnds[target - 1]
        guard end > connection.bytesWritten else { return }
        let n = connection.load.bytes.withUnsafeBytes { raw in
            send(connection.socket.fd, raw.baseAddress! + connection.bytesWritten, end - connection.bytesWritten, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            throw BenchError("send failed: \(String(cString: strerror(errno)))")
        }
        connection.bytesWritten += n
        let now = Self.nowNanoseconds()
        // A line counts as sent once its last byte is out.
        while connection.linesWritten < target, connection.load.lineEnds[connection.linesWritten] <= connection.bytesWritten {
            connection.sentAt[connection.linesWritten] = now
            connection.linesWritten += 1
        }
    }

    private func read(_ connection: Connection, chunk: UnsafeMutableRawBufferPointer, result: inout Result) throws {
        let n = recv(connection.socket.fd, chunk.baseAddress, chunk.count, Int32(MSG_DONTWAIT))
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            throw BenchError("receive failed: \(String(cString: strerror(errno)))")
        }
        if n == 0 {
            throw BenchError("the server closed a connection with \(connection.load.lineEnds.count - connection.acknowledged) events unacknowledged")
        }
        let now = Self.nowNanoseconds()
        var bytes = UnsafeRawBufferPointer(rebasing: chunk[0..<n])
        if !connection.partial.isEmpty {
            // Finish the line split across reads.
            guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
                connection.partial.append(contentsOf: bytes)
                return
            }
            connection.partial.append(contentsOf: bytes[..<newline])
            let line = connection.partial
            connection.partial.removeAll(keepingCapacity: true)
            line.withUnsafeBytes { acknowledge(connection, line: $0, now: now, result: &result) }
            bytes = UnsafeRawBufferPointer(rebasing: bytes[(newline + 1)...])
        }
        while let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) {
            acknowledge(connection, line: UnsafeRawBufferPointer(rebasing: bytes[..<newline]), now: now, result: &result)
            bytes = UnsafeRawBufferPointer(rebasing: bytes[(newline + 1)...])
        }
        connection.partial.append(contentsOf: bytes)
    }

    private static let okPrefix = Array(#"{"ok":true,"#.utf8)

    private func acknowledge(_ connection: Connection, line: UnsafeRawBufferPointer, now: UInt64, result: inout Result) {
        if !line.starts(with: Self.okPrefix) {
            result.rejected += 1
            if result.firstRejection == nil { result.firstRejection = String(decoding: line, as: UTF8.self) }
        }
        guard connection.acknowledged < connection.sentAt.count else { return }  // a connection-level message
        let sent = connection.sentAt[connection.acknowledged]
        result.latenciesMicroseconds.append(UInt32(clamping: (now &- sent) / 1000))
        connection.acknowledged += 1
        result.acknowledged += 1
    }

    private static func nowNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

private struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The door of a `--tls` run: a throwaway self-signed certificate for
/// 127.0.0.1 (made by the openssl command line, as the tests make theirs)
/// and one producer with a fresh token that may write everything.
struct BenchDoor {
    let server: IngestDoor
    let client: NIOSSLContext
    let token: String

    init(directory: String) throws {
        let certificate = directory + "/bench.pem", key = directory + "/bench.key"
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                             "-keyout", key, "-out", certificate]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw BenchError("openssl could not make the bench's certificate (is openssl installed?)") }
        token = ProducerToken.generate()
        let producer = Producer(name: "bench", tokenSHA256: ProducerToken.sha256Hex(token),
                                sources: [ProducerPattern("*")], types: [ProducerPattern("*")])
        server = IngestDoor(
            tls: try TLSServerContext(files: TLSServerFiles(certificateChainPath: certificate, privateKeyPath: key)),
            producers: ProducerAuthorizer(registry: try ProducerRegistry(producers: [producer])))
        client = try TLSClientContext.make(TLSClientFiles(caPath: certificate))
    }
}

/// One client connection: a plain socket, or (with a door) the caller's
/// end of a TLS bridge that has sent its auth line, as `emit` connects.
final class BenchConnection {
    let socket: IngestSocket
    private let bridge: IngestTLSBridge?

    init(endpoint: IngestEndpoint, door: BenchDoor?) throws {
        guard let door, case .tcp(let host, let port) = endpoint else {
            socket = try IngestSocket(endpoint: endpoint)
            bridge = nil
            return
        }
        let bridge = try IngestTLSBridge.connect(host: host, port: port, context: door.client)
        socket = IngestSocket(connectedDescriptor: dup(bridge.descriptor))
        self.bridge = bridge
        do {
            try EmitSession.authenticate(socket, token: door.token)
        } catch {
            throw BenchError("the bench's token was refused: \(error)")
        }
    }

    /// Ends the connection as `emit` does: shuts the sending side (a TLS
    /// close_notify through the bridge), reads to the server's end, closes.
    func close() {
        socket.shutdownSending()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while let n = try? chunk.withUnsafeMutableBytes({ try socket.receive(into: $0, timeoutMs: 10_000) }), n > 0 {}
        socket.close()
        bridge?.close()
    }
}

/// A value shared with another thread.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
    func mutate(_ change: (inout Value) -> Void) { lock.lock(); change(&stored); lock.unlock() }
}
