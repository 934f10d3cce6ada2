import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import TestSupport
import XCTest

@testable import Ingest

/// Real TLS over real loopback sockets: a small echo server behind
/// `TLSServerContext`, clients made with `TLSClientContext` or by hand.
final class DoorTLSTests: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!
    private var servers: [any Channel] = []
    private let pki = TestCertificates.shared

    override func setUp() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    override func tearDown() {
        for server in servers { try? server.close().wait() }
        try? group.syncShutdownGracefully()
    }

    private var serverFiles: TLSServerFiles { TLSServerFiles(certificateChainPath: pki.serverPEM, privateKeyPath: pki.serverKey) }
    private var mutualFiles: TLSServerFiles {
        TLSServerFiles(certificateChainPath: pki.serverPEM, privateKeyPath: pki.serverKey, clientCAPath: pki.caPEM)
    }

    private func startServer(_ tls: TLSServerContext?, _ recorder: DoorEchoRecorder) throws -> Int {
        let server = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(tls.makeServerHandler()) }
                    try channel.pipeline.syncOperations.addHandler(DoorEchoHandler(recorder: recorder))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        servers.append(server)
        return server.localAddress!.port!
    }

    private func connect(_ port: Int, tls: NIOSSLContext?) throws -> DoorLineClient {
        try DoorLineClient(group: group, port: port, tls: tls)
    }

    private func client(ca: String? = nil, certificate: String? = nil, key: String? = nil) throws -> NIOSSLContext {
        try TLSClientContext.make(TLSClientFiles(caPath: ca ?? pki.caPEM, certificateChainPath: certificate, privateKeyPath: key))
    }

    // MARK: - Handshake

    func testHandshakeVerifiedByTheTestCAAndDataFlows() throws {
        let recorder = DoorEchoRecorder()
        let port = try startServer(try TLSServerContext(files: serverFiles), recorder)
        let connection = try connect(port, tls: try client())
        XCTAssertEqual(try connection.exchange("ping").get(), "ping")
        XCTAssertEqual(try connection.channel.nioSSL_tlsVersion().wait(), .tlsv13)
        XCTAssertEqual(recorder.handshakes, ["no client certificate"])
    }

    func testTLS12IsAcceptedAndTLS11IsRefused() throws {
        let recorder = DoorEchoRecorder()
        let port = try startServer(try TLSServerContext(files: serverFiles), recorder)
        func clientAt(_ version: TLSVersion) throws -> NIOSSLContext {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.caPEM))
            configuration.minimumTLSVersion = .tlsv1
            configuration.maximumTLSVersion = version
            return try NIOSSLContext(configuration: configuration)
        }
        let tls12 = try connect(port, tls: try clientAt(.tlsv12))
        XCTAssertEqual(try tls12.exchange("twelve").get(), "twelve")
        XCTAssertEqual(try tls12.channel.nioSSL_tlsVersion().wait(), .tlsv12)

        let tls11 = try connect(port, tls: try clientAt(.tlsv11))
        XCTAssertThrowsError(try tls11.exchange("eleven").get())
        XCTAssertEqual(recorder.linesRead, ["twelve"], "nothing from the TLS 1.1 client reached the server's handlers")
    }

    func testClientRefusesAServerItsCADidNotSign() throws {
        let port = try startServer(try TLSServerContext(files: serverFiles), DoorEchoRecorder())
        let connection = try connect(port, tls: try client(ca: pki.otherCAPEM))
        XCTAssertThrowsError(try connection.exchange("ping").get())
    }

    func testPlainTCPToATLSPortFailsCleanly() throws {
        let recorder = DoorEchoRecorder()
        let port = try startServer(try TLSServerContext(files: serverFiles), recorder)
        let plain = try connect(port, tls: nil)
        let result = plain.exchange(#"{"id":"x"}"#)
        XCTAssertThrowsError(try result.get(), "the server closes; no line comes back")
        XCTAssertEqual(recorder.linesRead, [])
        // The server is still there for the next, proper client.
        XCTAssertEqual(try connect(port, tls: try client()).exchange("after").get(), "after")
    }

    func testTLSToAPlainPortFailsCleanly() throws {
        let port = try startServer(nil, DoorEchoRecorder())
        let connection = try connect(port, tls: try client())
        XCTAssertThrowsError(try connection.exchange("ping").get())
    }

    // MARK: - Client certificates

    func testMutualTLSPresentsTheCertificateNames() throws {
        let recorder = DoorEchoRecorder()
        let port = try startServer(try TLSServerContext(files: mutualFiles), recorder)
        let connection = try connect(port, tls: try client(certificate: pki.clientPEM, key: pki.clientKey))
        XCTAssertEqual(try connection.exchange("hello").get(), "hello")
        XCTAssertEqual(recorder.handshakes, ["CN=careerforge-api URI:spiffe://careerforge/api"])
    }

    func testExpiredClientCertificateIsRefusedAtTheTLSLayer() throws {
        try assertRefused(certificate: pki.expiredClientPEM, key: pki.expiredClientKey)
    }

    func testWronglySignedClientCertificateIsRefusedAtTheTLSLayer() throws {
        try assertRefused(certificate: pki.strangerClientPEM, key: pki.strangerClientKey)
    }

    func testMissingClientCertificateIsRefusedWhenOneIsRequired() throws {
        try assertRefused(certificate: nil, key: nil)
    }

    private func assertRefused(certificate: String?, key: String?, file: StaticString = #filePath, line: UInt = #line) throws {
        let recorder = DoorEchoRecorder()
        let port = try startServer(try TLSServerContext(files: mutualFiles), recorder)
        let connection = try connect(port, tls: try client(certificate: certificate, key: key))
        XCTAssertThrowsError(try connection.exchange("let me in").get(), file: file, line: line)
        XCTAssertEqual(recorder.handshakes, [], "no handshake completed", file: file, line: line)
        XCTAssertEqual(recorder.linesRead, [], "no byte reached the server's handlers", file: file, line: line)
    }

    // MARK: - Reload

    func testReloadServesTheNewCertificateToNewConnectionsAndKeepsOpenOnes() throws {
        let certificate = try pki.copy(pki.serverPEM, to: "live.pem")
        let key = try pki.copy(pki.serverKey, to: "live.key")
        let tls = try TLSServerContext(files: TLSServerFiles(certificateChainPath: certificate, privateKeyPath: key))
        let port = try startServer(tls, DoorEchoRecorder())

        let before = try connect(port, tls: try client())
        XCTAssertEqual(try before.exchange("one").get(), "one")
        XCTAssertEqual(try before.serverCommonName(), "localhost")

        try pki.overwrite(certificate, with: pki.renewedServerPEM)
        try pki.overwrite(key, with: pki.renewedServerKey)
        try tls.reload()

        XCTAssertEqual(try before.exchange("two").get(), "two", "the open connection was not dropped")
        let after = try connect(port, tls: try client())
        XCTAssertEqual(try after.exchange("three").get(), "three")
        XCTAssertEqual(try after.serverCommonName(), "careerlog-renewed")

        // A broken key: the reload fails and says why; the renewed context stays.
        try "not a key".write(toFile: key, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try tls.reload()) { error in
            XCTAssertTrue("\(error)".hasPrefix("TLS: \(key): is not an unencrypted private key in PEM form"), "\(error)")
        }
        let third = try connect(port, tls: try client())
        XCTAssertEqual(try third.exchange("four").get(), "four")
        XCTAssertEqual(try third.serverCommonName(), "careerlog-renewed")
    }

    // MARK: - Loading errors

    func testKeyThatDoesNotGoWithTheCertificateIsRefusedAtLoad() {
        let files = TLSServerFiles(certificateChainPath: pki.serverPEM, privateKeyPath: pki.renewedServerKey)
        XCTAssertThrowsError(try TLSServerContext(files: files)) { error in
            XCTAssertTrue("\(error)".hasPrefix("TLS: \(pki.renewedServerKey): the key does not go with the certificate \(pki.serverPEM)"), "\(error)")
        }
    }

    func testExpiredServerCertificateIsRefusedAtLoad() {
        let files = TLSServerFiles(certificateChainPath: pki.expiredServerPEM, privateKeyPath: pki.expiredServerKey)
        XCTAssertThrowsError(try TLSServerContext(files: files)) { error in
            XCTAssertTrue("\(error)".hasPrefix("TLS: \(pki.expiredServerPEM): the certificate expired on "), "\(error)")
            XCTAssertTrue("\(error)".hasSuffix("; renew it"), "\(error)")
        }
    }

    func testMissingAndWrongFiles() {
        let missing = TLSServerFiles(certificateChainPath: pki.directory + "/nope.pem", privateKeyPath: pki.serverKey)
        XCTAssertThrowsError(try TLSServerContext(files: missing)) { error in
            XCTAssertEqual("\(error)", "TLS: \(pki.directory)/nope.pem: does not exist; give the path of the server certificate (--tls-cert)")
        }
        let swapped = TLSServerFiles(certificateChainPath: pki.serverKey, privateKeyPath: pki.serverPEM)
        XCTAssertThrowsError(try TLSServerContext(files: swapped)) { error in
            XCTAssertTrue("\(error)".hasPrefix("TLS: \(pki.serverKey): is not the server certificate (--tls-cert) in PEM form"), "\(error)")
        }
        XCTAssertThrowsError(try TLSClientContext.make(TLSClientFiles(caPath: pki.caPEM, certificateChainPath: pki.clientPEM))) { error in
            XCTAssertEqual("\(error)", "TLS: \(pki.clientPEM): a client certificate needs both --tls-cert and --tls-key")
        }
    }

    // MARK: - The blocking client's bridge

    func testBridgeCarriesBytesBothWaysAndEndsWithTheServer() throws {
        let recorder = DoorEchoRecorder()
        let port = try startServer(try TLSServerContext(files: mutualFiles), recorder)
        let context = try client(certificate: pki.clientPEM, key: pki.clientKey)
        let bridge = try IngestTLSBridge.connect(host: "127.0.0.1", port: port, context: context, serverHostname: "localhost")
        defer { bridge.close() }
        let lines = (1...200).map { "line \($0) " + String(repeating: "x", count: 1000) + "\n" }.joined()
        XCTAssertEqual(Array(lines.utf8).withUnsafeBytes { send(bridge.descriptor, $0.baseAddress, $0.count, 0) }, lines.utf8.count)
        shutdown(bridge.descriptor, Int32(SHUT_WR))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            var pfd = pollfd(fd: bridge.descriptor, events: Int16(POLLIN), revents: 0)
            XCTAssertEqual(poll(&pfd, 1, 5000), 1, "the bridge answers or ends within 5 s")
            let n = chunk.withUnsafeMutableBytes { recv(bridge.descriptor, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += chunk[..<n]
        }
        XCTAssertEqual(String(decoding: received, as: UTF8.self), lines, "every byte echoed, then end of stream")
        XCTAssertEqual(recorder.handshakes, ["CN=careerforge-api URI:spiffe://careerforge/api"])
    }

    func testBridgeSaysWhyWhenTheServerRefusesTheCertificate() throws {
        let port = try startServer(try TLSServerContext(files: mutualFiles), DoorEchoRecorder())
        let context = try client(certificate: pki.expiredClientPEM, key: pki.expiredClientKey)
        // TLS 1.3: the client finishes its handshake before the server
        // checks the certificate, so the refusal comes just after it:
        // either while the bridge is being set up, or as the stream's end.
        let bridge: IngestTLSBridge
        do {
            bridge = try IngestTLSBridge.connect(host: "127.0.0.1", port: port, context: context, serverHostname: "localhost")
        } catch {
            XCTAssertTrue("\(error)".hasPrefix("the TLS connection ended at once ("), "\(error)")
            XCTAssertTrue("\(error)".contains("CERTIFICATE_EXPIRED"), "\(error)")
            return
        }
        defer { bridge.close() }
        _ = Array("hello\n".utf8).withUnsafeBytes { send(bridge.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var pfd = pollfd(fd: bridge.descriptor, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&pfd, 1, 5000), 1)
        var byte: UInt8 = 0
        XCTAssertEqual(recv(bridge.descriptor, &byte, 1, 0), 0, "end of stream, no echo")
        let failure = try XCTUnwrap(bridge.failure)
        XCTAssertTrue(failure.contains("CERTIFICATE_EXPIRED"), failure)
    }

    /// The refusal can land in any of the moments between the handshake and
    /// the bridge's glue being in place (the `emit` of a refused client once
    /// waited forever for an answer here): every attempt ends, at connect or
    /// as end of stream, within seconds.
    func testBridgeAlwaysEndsWhenTheServerRefusesRightAfterTheHandshake() throws {
        let port = try startServer(try TLSServerContext(files: mutualFiles), DoorEchoRecorder())
        let context = try client(certificate: pki.strangerClientPEM, key: pki.strangerClientKey)
        var ended = (atConnect: 0, asEndOfStream: 0)
        for attempt in 1...40 {
            let bridge: IngestTLSBridge
            do {
                bridge = try IngestTLSBridge.connect(host: "127.0.0.1", port: port, context: context, serverHostname: "localhost")
            } catch {
                ended.atConnect += 1
                continue
            }
            defer { bridge.close() }
            _ = Array("hello\n".utf8).withUnsafeBytes { send(bridge.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var pfd = pollfd(fd: bridge.descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5000) == 1 else { return XCTFail("attempt \(attempt): the refused connection did not end within 5 s") }
            var byte: UInt8 = 0
            XCTAssertLessThanOrEqual(recv(bridge.descriptor, &byte, 1, 0), 0, "attempt \(attempt): end of stream, no echo")
            ended.asEndOfStream += 1
        }
        XCTAssertEqual(ended.atConnect + ended.asEndOfStream, 40)
    }

    // MARK: - Unix peer credentials

    func testPeerUIDOfAUnixSocketConnectionIsOurs() throws {
        let path = pki.directory + "/peer-\(UUID().uuidString.prefix(6)).sock"
        let seen = NIOLockedValueBox<[UInt32?]>([])
        let server = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                PeerCredentials.uid(of: channel).map { uid in seen.withLockedValue { $0.append(uid) } }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
        servers.append(server)
        let client = try ClientBootstrap(group: group).connect(unixDomainSocketPath: path).wait()
        defer { try? client.close().wait() }
        waitUntil("the server sees the peer's uid") { seen.withLockedValue { $0.count } == 1 }
        XCTAssertEqual(seen.withLockedValue { $0 }, [getuid()])

        let tcpPort = try startServer(nil, DoorEchoRecorder())
        let tcp = try ClientBootstrap(group: group).connect(host: "127.0.0.1", port: tcpPort).wait()
        defer { try? tcp.close().wait() }
        XCTAssertNil(try PeerCredentials.uid(of: tcp).wait(), "TCP has no peer credentials")
    }

}

struct DoorTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What the echo server saw: completed handshakes (with the client
/// certificate's names) and lines read.
final class DoorEchoRecorder: Sendable {
    private let state = NIOLockedValueBox<(handshakes: [String], lines: [String])>(([], []))
    var handshakes: [String] { state.withLockedValue { $0.handshakes } }
    var linesRead: [String] { state.withLockedValue { $0.lines } }
    func handshake(_ names: String) { state.withLockedValue { $0.handshakes.append(names) } }
    func line(_ line: String) { state.withLockedValue { $0.lines.append(line) } }
}

/// Echoes every byte; records handshakes and lines.
final class DoorEchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let recorder: DoorEchoRecorder

    init(recorder: DoorEchoRecorder) {
        self.recorder = recorder
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate()
            recorder.handshake(certificate.map { CertificateName.names(of: $0).map(\.description).joined(separator: " ") }
                               ?? "no client certificate")
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        for line in String(buffer: buffer).split(separator: "\n") { recorder.line(String(line)) }
        context.writeAndFlush(data, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// A line client over NIO (optionally TLS) whose answers a test thread
/// waits for with a bound.
final class DoorLineClient {
    let channel: any Channel
    private let inbox = DoorLineInbox()

    init(group: any EventLoopGroup, port: Int, tls: NIOSSLContext?, host: String = "127.0.0.1", serverHostname: String = "localhost") throws {
        let inbox = self.inbox
        channel = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(DoorLineInboxHandler(inbox: inbox))
                }
            }
            .connect(host: host, port: port).wait()
    }

    deinit { channel.close(promise: nil) }

    /// Sends `line` and waits (at most `timeout`) for the next line back.
    func exchange(_ line: String, timeout: TimeInterval = 5) -> Result<String, DoorTestError> {
        var buffer = channel.allocator.buffer(capacity: line.utf8.count + 1)
        buffer.writeString(line + "\n")
        channel.writeAndFlush(buffer, promise: nil)
        return inbox.next(timeout: timeout)
    }

    /// Waits for the next line without sending anything.
    func next(timeout: TimeInterval = 5) -> Result<String, DoorTestError> { inbox.next(timeout: timeout) }

    func serverCommonName() throws -> String? {
        try channel.nioSSL_peerCertificate().wait()?.subjectName.first { $0.type == .commonName }?.value
    }
}

final class DoorLineInbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var lines: [String] = []
    private var ended: String?

    func received(_ line: String) {
        condition.lock()
        lines.append(line)
        condition.broadcast()
        condition.unlock()
    }

    func end(_ reason: String) {
        condition.lock()
        if ended == nil { ended = reason }
        condition.broadcast()
        condition.unlock()
    }

    func next(timeout: TimeInterval) -> Result<String, DoorTestError> {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while lines.isEmpty {
            if let ended { return .failure(DoorTestError("the connection ended: \(ended)")) }
            guard condition.wait(until: deadline) else { return .failure(DoorTestError("no line within \(timeout) s")) }
        }
        return .success(lines.removeFirst())
    }
}

final class DoorLineInboxHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let inbox: DoorLineInbox
    private var pending: [UInt8] = []

    init(inbox: DoorLineInbox) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            inbox.received(String(decoding: pending[..<newline], as: UTF8.self))
            pending.removeFirst(newline + 1)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        inbox.end("\(error)")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.end("closed by the server")
        context.fireChannelInactive()
    }
}
