import Foundation
import XCTest

@testable import Postgres

/// The cluster, or its error, failing the test with what to do when
/// PostgreSQL is not installed.
func failClearlyWithoutPostgres(_ result: Result<EmbeddedCluster, EmbeddedClusterError>) throws -> EmbeddedCluster {
    if case .failure(let error) = result, error.code == .postgresNotInstalled {
        XCTFail("PostgreSQL's server programs are needed by these tests: run Tools/setup.sh. \(error)")
    }
    return try result.get()
}

