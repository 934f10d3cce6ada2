import NIOCore
import NIOEmbedded
import XCTest

@testable import Ingest

/// The gate on an `EmbeddedChannel`: what it answers, what it passes on,
/// the deadline and the unauthenticated slots.
final class DoorGateHandlerTests: XCTestCase {
    /// Collects what the gate passes on.
    final class Downstream: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        /// Every byte passed on, as text.
        var bytes = ""
        var producers: [String] = []
        /// The whole lines passed on.
        var lines: [String] { bytes.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            bytes += String(buffer: unwrapInboundIn(data))
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? DoorAuthenticatedEvent { producers.append(event.producer) }
        }
    }

    private func gate(limits: DoorLimits = DoorLimits()) throws -> (EmbeddedChannel, Downstream, IngestDoor) {
        let door = IngestDoor(tls: nil, producers: ProducerAuthorizer(registry: try DoorAuthorizerTests.registry()), limits: limits)
        let downstream = Downstream()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(DoorGateHandler(door: door, logger: ServerTestSupport.logger))
        try channel.pipeline.syncOperations.addHandler(downstream)
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.5", port: 4000)).wait()
        return (channel, downstream, door)
    }

    private func send(_ channel: EmbeddedChannel, _ line: String) throws {
        try channel.writeInbound(ByteBuffer(string: line + "\n"))
    }

    private func answers(_ channel: EmbeddedChannel) throws -> [String] {
        var all: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { all.append(String(buffer: buffer)) }
        return all
    }

    func testBytesAfterTheAuthLinePassUntouchedEvenInTheSameRead() throws {
        let (channel, downstream, _) = try gate()
        let auth = #"{"auth":"\#(DoorAuthorizerTests.apiToken)"}"#
        try channel.writeInbound(ByteBuffer(string: "\r\n" + auth + "\r\n" + Self.event + "\r\n" + "{\"partial"))
        try channel.writeInbound(ByteBuffer(string: "\":1}\n"))
        XCTAssertEqual(try answers(channel), [#"{"ok":true,"producer":"careerforge-api"}"# + "\n"])
        XCTAssertEqual(downstream.bytes, "\n\n" + Self.event + "\r\n" + "{\"partial\":1}\n",
                       "the auth line passes as a blank line, the rest byte for byte")
    }

    func testAnAuthLineSplitAcrossReadsIsScreenedWhole() throws {
        let (channel, downstream, _) = try gate()
        try channel.writeInbound(ByteBuffer(string: #"{"auth":"clp_"#))
        XCTAssertEqual(try answers(channel), [])
        try channel.writeInbound(ByteBuffer(string: String(DoorAuthorizerTests.apiToken.dropFirst(4)) + "\"}\n"))
        XCTAssertEqual(try answers(channel), [#"{"ok":true,"producer":"careerforge-api"}"# + "\n"])
        XCTAssertEqual(downstream.producers, ["careerforge-api"])
    }

    func testAnUnfinishedLineOverTheLimitClosesBeforeItsNewline() throws {
        let (channel, _, _) = try gate()
        try channel.writeInbound(ByteBuffer(string: String(repeating: "x", count: 5000)))
        XCTAssertEqual(try answers(channel), [
            #"{"ok":false,"id":null,"line":1,"error":"unauthenticated","message":"a 5000-byte line before authentication (the limit is 4096); closing"}"# + "\n",
        ])
        XCTAssertFalse(channel.isActive)
    }

    static let event = #"{"id":"0b6d6f0e-6f7c-4f4e-9a51-2b8f7d0c1e01"}"#
    static let first = #"authenticate first: send {\"auth\":\"<token>\"} as the first line"#

    func testLinesBeforeAuthAreAnsweredHereAndCountedDownstream() throws {
        let (channel, downstream, door) = try gate()
        XCTAssertEqual(door.unauthenticatedConnections, 1)
        try send(channel, Self.event)
        try send(channel, "  ")
        try send(channel, #"{"auth":"\#(DoorAuthorizerTests.apiToken)"}"#)
        try send(channel, Self.event)
        XCTAssertEqual(try answers(channel), [
            #"{"ok":false,"id":null,"line":1,"error":"unauthenticated","message":"\#(Self.first)"}"# + "\n",
            #"{"ok":true,"producer":"careerforge-api"}"# + "\n",
        ])
        XCTAssertEqual(downstream.lines, ["", "  ", "", Self.event], "kept lines pass as blanks: line numbers stay the client's")
        XCTAssertEqual(downstream.producers, ["careerforge-api"])
        XCTAssertEqual(door.unauthenticatedConnections, 0, "the slot is given back on authentication")
        XCTAssertTrue(channel.isActive)
    }

    func testDeadlineClosesAnUnauthenticatedConnection() throws {
        var limits = DoorLimits()
        limits.authenticationDeadlineMs = 2000
        let (channel, _, door) = try gate(limits: limits)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1999))
        XCTAssertTrue(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        XCTAssertEqual(try answers(channel), [
            #"{"ok":false,"id":null,"line":0,"error":"unauthenticated","message":"not authenticated within 2000 ms; closing"}"# + "\n",
        ])
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(door.unauthenticatedConnections, 0)
    }

    func testAuthenticatedConnectionOutlivesTheDeadline() throws {
        let (channel, _, _) = try gate()
        try send(channel, #"{"auth":"\#(DoorAuthorizerTests.apiToken)"}"#)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        XCTAssertTrue(channel.isActive)
    }

    func testOverlongLineBeforeAuthCloses() throws {
        let (channel, downstream, _) = try gate()
        try send(channel, String(repeating: "x", count: 4097))
        XCTAssertEqual(try answers(channel), [
            #"{"ok":false,"id":null,"line":1,"error":"unauthenticated","message":"a 4097-byte line before authentication (the limit is 4096); closing"}"# + "\n",
        ])
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(downstream.lines, [""])
    }

    func testUnauthenticatedSlotsFullRefusesTheNextConnection() throws {
        var limits = DoorLimits()
        limits.unauthenticatedConnectionsMax = 1
        let door = IngestDoor(tls: nil, producers: ProducerAuthorizer(registry: try DoorAuthorizerTests.registry()), limits: limits)
        func connect() throws -> EmbeddedChannel {
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(DoorGateHandler(door: door, logger: ServerTestSupport.logger))
            try channel.connect(to: SocketAddress(ipAddress: "192.0.2.6", port: 1)).wait()
            return channel
        }
        let first = try connect()
        let second = try connect()
        XCTAssertEqual(try answers(second), [
            #"{"ok":false,"id":null,"line":0,"error":"unauthenticated","message":"too many connections waiting to authenticate; try again later"}"# + "\n",
        ])
        XCTAssertFalse(second.isActive)
        XCTAssertTrue(first.isActive)
        _ = try first.finish()
        XCTAssertEqual(door.unauthenticatedConnections, 0, "a closed connection gives its slot back")
        XCTAssertTrue(try connect().isActive)
    }

    func testBlockedAddressIsClosedAtOnce() throws {
        let (channel, _, door) = try gate()
        for i in 1...10 { try send(channel, #"{"auth":"clp_guess\#(i)"}"#) }
        XCTAssertEqual(try answers(channel).count, 10)
        // The same address, a new connection: closed before any line.
        let next = EmbeddedChannel()
        try next.pipeline.syncOperations.addHandler(DoorGateHandler(door: door, logger: ServerTestSupport.logger))
        try next.connect(to: SocketAddress(ipAddress: "192.0.2.5", port: 4001)).wait()
        XCTAssertEqual(try answers(next), [
            #"{"ok":false,"id":null,"line":0,"error":"unauthenticated","message":"too many failed authentications from this address; try again in a minute"}"# + "\n",
        ])
        XCTAssertFalse(next.isActive)
    }
}
