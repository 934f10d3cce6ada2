import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Projector

/// `careerlog db grant-analyst`: a role that reads the analytics and every
/// read model but gets a permission error on every PII column, also after
/// a rebuild swaps in new tables.
final class AnalystRoleTests: XCTestCase {
    /// The PII columns of the live read models, as the catalog marks them
    /// (`COMMENT ... IS 'pii'`): schema, table, column.
    func piiColumns(_ c: PostgresConnection) throws -> [(String, String, String)] {
        try c.query("""
            SELECT n.nspname, cl.relname, a.attname FROM pg_attribute a
            JOIN pg_class cl ON cl.oid = a.attrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
            JOIN careerlog.projection_targets t ON t.schema_name = n.nspname AND t.role = 'live'
            WHERE a.attnum > 0 AND NOT a.attisdropped AND col_description(cl.oid, a.attnum) = 'pii'
            ORDER BY 1, 2, 3
            """).map { ($0[0]!, $0[1]!, $0[2]!) }
    }

    /// Connects to the same database as `role` (the test cluster trusts its socket).
    func connect(_ url: String, as role: String) throws -> PostgresConnection {
        let owner = "postgresql://\(EmbeddedCluster.userName)@/"
        XCTAssertTrue(url.hasPrefix(owner), url)
        return try PostgresConnection(url: "postgresql://\(role)@/" + url.dropFirst(owner.count))
    }

    func assertDenied(_ c: PostgresConnection, _ sql: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try c.query(sql), sql, file: file, line: line) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "42501", "\(sql): \(error)", file: file, line: line)
        }
    }

    /// Every PII column refused, the rest readable.
    func assertAnalystReads(_ analyst: PostgresConnection, pii: [(String, String, String)], file: StaticString = #filePath, line: UInt = #line) throws {
        for (schema, table, column) in pii {
            assertDenied(analyst, "SELECT \(quoteIdentifier(column)) FROM \(quoteIdentifier(schema)).\(quoteIdentifier(table)) LIMIT 1", file: file, line: line)
        }
        assertDenied(analyst, "SELECT * FROM people.users LIMIT 1", file: file, line: line)
        XCTAssertNoThrow(try analyst.query("SELECT user_id, platform FROM people.users LIMIT 1"), file: file, line: line)
        XCTAssertNoThrow(try analyst.query("SELECT * FROM analytics.placement_rate_by_cohort"), file: file, line: line)
        XCTAssertNoThrow(try analyst.query("SELECT * FROM jobsearch.applications LIMIT 1"), file: file, line: line)
        XCTAssertNoThrow(try analyst.query("SELECT projection, state FROM careerlog.projection_targets"), file: file, line: line)
    }

    func testTheAnalystRoleGetsAPermissionErrorOnEveryPIIColumnAlsoAfterARebuild() throws {
        let f = try ProjectorFixture()
        let catalog = try repositoryCatalog()
        let builder = ProjectionBuilder(url: f.url, log: f.log, catalog: catalog, logger: testLogger)
        try builder.rebuild(catalog.definitions.map(\.name)) { _ in }

        // Roles are per cluster: a name of this run only.
        let role = "analyst_" + UUID().uuidString.prefix(8).lowercased()
        let outcome = try AnalystRoles.grant(f.connection, name: role)
        XCTAssertTrue(outcome.created)
        XCTAssertEqual(Set(outcome.schemas), Set(catalog.definitions.map(\.name)))
        XCTAssertEqual(try AnalystRoles.grant(f.connection, name: role), AnalystRoles.Outcome(created: false, schemas: outcome.schemas),
                       "granting again changes nothing")

        let pii = try piiColumns(f.connection)
        let names = Set(pii.map { "\($0.0).\($0.1).\($0.2)" })
        XCTAssertTrue(names.isSuperset(of: ["people.users.email", "people.users.first_name", "people.users.last_name", "people.users.phone",
                                            "people.profiles.linkedin_url", "people.profiles.github_url", "jobsearch.employer_feedback.comments"]),
                      "\(names)")
        let analyst = try connect(f.url, as: role)
        try assertAnalystReads(analyst, pii: pii)

        // A rebuild swaps in new tables: the grants come with them.
        try builder.rebuild(["people", "jobsearch"]) { _ in }
        try assertAnalystReads(try connect(f.url, as: role), pii: try piiColumns(f.connection))
    }

    func testNamesThatCannotBeAnalystRolesAreRefused() throws {
        XCTAssertNil(AnalystRoles.problem(name: "analyst_1", owner: "careerlog"))
        XCTAssertEqual(AnalystRoles.problem(name: "careerlog", owner: "careerlog"),
                       "'careerlog' is the role the projector connects as; an analyst role must be another one")
        XCTAssertEqual(AnalystRoles.problem(name: "pg_monitor", owner: "careerlog"), "'pg_monitor' is reserved: PostgreSQL's own roles start with pg_")
        XCTAssertEqual(AnalystRoles.problem(name: "Robert'); DROP", owner: "careerlog"),
                       "'Robert'); DROP' is not a role name: use a-z, 0-9 and '_', starting with a letter or '_'")
        XCTAssertEqual(AnalystRoles.problem(name: "", owner: nil), "a role name is 1 to 63 bytes, got 0")
        XCTAssertEqual(AnalystRoles.problem(name: String(repeating: "a", count: 64), owner: nil), "a role name is 1 to 63 bytes, got 64")
        let (c, _) = try TestCluster.connect()
        XCTAssertThrowsError(try AnalystRoles.grant(c, name: "1abc")) { error in
            XCTAssertEqual((error as? ProjectorError)?.code, .roleInvalid, "\(error)")
        }
    }
}
