import Foundation
import XCTest

@testable import SubjectKeys

/// The writer's and a reader's way into `<data-dir>/keys`, as serve, log
/// import, replay and privacy open it.
final class KeyStoreRolesTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "keyroles-\(UUID().uuidString)/keys"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent)
    }

    func testAReaderFindsNoStoreAndMakesNoKey() throws {
        XCTAssertNil(try KeyStore.openForReading(keysDirectory: directory, masterKeyFile: nil, environment: [:]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/" + MasterKey.defaultFileName))
    }

    func testTheWriterMakesTheMasterKeyOnFirstStartAndAReaderThenOpensTheStore() throws {
        try KeyStore.openForWriting(keysDirectory: directory, masterKeyFile: nil, environment: [:]).close()
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/" + MasterKey.defaultFileName))
        let reader = try KeyStore.openForReading(keysDirectory: directory, masterKeyFile: nil, environment: [:])
        XCTAssertNotNil(reader)
        reader?.close()
    }

    func testAStoreWithoutItsMasterKeyIsRefusedToBoth() throws {
        try KeyStore.openForWriting(keysDirectory: directory, masterKeyFile: nil, environment: [:]).close()
        try FileManager.default.removeItem(atPath: directory + "/" + MasterKey.defaultFileName)
        for open in [{ _ = try KeyStore.openForWriting(keysDirectory: self.directory, masterKeyFile: nil, environment: [:]) },
                     { _ = try KeyStore.openForReading(keysDirectory: self.directory, masterKeyFile: nil, environment: [:]) }] {
            XCTAssertThrowsError(try open()) { error in
                XCTAssertEqual((error as? KeyStoreError)?.code, .missingMasterKey, "\(error)")
            }
        }
    }
}
