import Ingest
import Logging
import TestSupport
import XCTest

@testable import Runtime

/// `NodeWindowConfiguration.listen`: the HTTP window's address, token and
/// the listen policy `serve --http` applies.
final class WindowListenTests: XCTestCase {
    func testLoopbackNeedsNeitherTLSNorAToken() throws {
        var configuration = NodeWindowConfiguration(dataDirectory: "/unused")
        try configuration.listen(host: "127.0.0.1", port: 7401, tls: nil, readToken: nil, insecureListen: false, logger: nil)
        XCTAssertEqual(configuration.server.host, "127.0.0.1")
        XCTAssertEqual(configuration.server.port, 7401)
        XCTAssertNil(configuration.server.readToken)
        XCTAssertNil(configuration.server.tlsHandler)
    }

    func testANetworkAddressWithoutTLSIsRefusedNamingWhatIsMissing() {
        var configuration = NodeWindowConfiguration(dataDirectory: "/unused")
        XCTAssertThrowsError(
            try configuration.listen(host: "0.0.0.0", port: 7401, tls: nil, readToken: "t", insecureListen: false, logger: nil)
        ) { error in
            let message = (error as? DoorStartError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("refusing to serve HTTP on 0.0.0.0:7401"), message)
            XCTAssertTrue(message.contains("Add --tls-cert FILE --tls-key FILE (README.md"), message)
        }
    }

    func testInsecureListenStartsWithAWarningAndKeepsTheToken() throws {
        let logs = RecordingLogHandler()
        var configuration = NodeWindowConfiguration(dataDirectory: "/unused")
        try configuration.listen(host: "0.0.0.0", port: 7401, tls: nil, readToken: "t", insecureListen: true, logger: .recording(into: logs))
        XCTAssertEqual(configuration.server.readToken, "t")
        XCTAssertTrue(logs.contains("serving HTTP on 0.0.0.0:7401 without TLS (--insecure-listen)"), "\(logs.messages)")
    }
}
