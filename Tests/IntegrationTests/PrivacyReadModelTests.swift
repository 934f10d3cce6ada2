import CareerEvents
import Foundation
import Postgres
import TestSupport
import XCTest

/// Issue 11's read-model half, as a user runs it: the read models built
/// from a sealed log hold PII in clear for apps (live projector and
/// rebuild alike), null once the subject is erased (also in an as-of build
/// of a moment before the erasure), and `db grant-analyst` makes a role
/// that gets a permission error on those columns.
final class PrivacyReadModelTests: XCTestCase {
    func testReadModelsHoldPIIUntilErasureAndTheAnalystRoleCannotReadIt() throws {
        let dir = makeTemporaryDirectory()
        let generated = try runCareerlog(["generate", "--users", "120", "--seed", "11"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        let imported = try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8))
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", dir]).status, 0)
        defer { _ = try? runCareerlog(["db", "stop", "--data-dir", dir]) }
        let url = try runCareerlog(["db", "url", "--data-dir", dir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // What the history says each user's email is, and who is erased (seq = line number).
        var email: [String: String] = [:]
        var erasureSeq: [String: Int] = [:]
        for (i, line) in generated.stdout.split(separator: "\n").enumerated() {
            let event = try XCTUnwrap(JSONParser.parse(String(line)).objectValue)
            let subject = try XCTUnwrap(event["subject"]?.stringValue)
            switch event["type"]?.stringValue {
            case "user.registered": email[subject] = event["data"]?.objectValue?["email"]?.stringValue
            case "user.erased": erasureSeq[subject] = erasureSeq[subject] ?? i + 1
            default: break
            }
        }
        let erased = try XCTUnwrap(erasureSeq.keys.sorted().first, "the generated history should erase someone")
        let registeredErased = try XCTUnwrap(email[erased], "the erased subject registered first")
        XCTAssertFalse(registeredErased.isEmpty)

        let rebuild = try runCareerlog(["projections", "rebuild", "--all", "--data-dir", dir])
        XCTAssertEqual(rebuild.status, 0, rebuild.stderr)
        let c = try PostgresConnection(url: url)
        func emails(_ schema: String) throws -> [String: String?] {
            var out: [String: String?] = [:]
            for row in try c.query("SELECT user_id::text, email FROM \(schema).users") { out[row[0]!] = row[1] }
            return out
        }
        let live = try emails("people")
        XCTAssertEqual(live.count, email.count)
        for (subject, address) in email {
            let stored = try XCTUnwrap(live[subject], subject)
            if erasureSeq[subject] != nil {
                XCTAssertNil(stored, "erased subject \(subject) keeps its email in the read model")
            } else {
                XCTAssertEqual(stored, address, "the read model holds the email in clear for apps")
            }
        }

        // An as-of build of the moment just before the erasure: the key is
        // gone, so the PII does not come back.
        let before = try XCTUnwrap(erasureSeq[erased]) - 1
        let asOf = try runCareerlog(["replay", "--data-dir", dir, "--as-of-seq", String(before), "--into", "past"])
        XCTAssertEqual(asOf.status, 0, asOf.stderr)
        let past = try emails("past_people")
        XCTAssertNotNil(past[erased], "registered before the erasure")
        XCTAssertEqual(past[erased], .some(nil), "an as-of build before the erasure brought the email back")

        // The analyst role: no PII column, the rest readable.
        let role = "analyst_" + UUID().uuidString.prefix(8).lowercased()
        let granted = try runCareerlog(["db", "grant-analyst", role, "--data-dir", dir])
        XCTAssertEqual(granted.status, 0, granted.stderr)
        XCTAssertTrue(granted.stdout.hasPrefix("created analyst role \(role)"), granted.stdout)
        let owner = "postgresql://\(EmbeddedCluster.userName)@/"
        XCTAssertTrue(url.hasPrefix(owner), url)
        let analyst = try PostgresConnection(url: "postgresql://\(role)@/" + url.dropFirst(owner.count))
        for sql in ["SELECT email FROM people.users", "SELECT first_name FROM past_people.users", "SELECT * FROM people.users"] {
            XCTAssertThrowsError(try analyst.query(sql), sql) { error in
                XCTAssertEqual((error as? PostgresError)?.sqlState, "42501", "\(sql): \(error)")
            }
        }
        XCTAssertEqual(try analyst.query("SELECT count(*) FROM people.users").first?[0], String(email.count))
        XCTAssertNoThrow(try analyst.query("SELECT * FROM analytics.placement_rate_by_cohort"))
        let again = try runCareerlog(["db", "grant-analyst", role, "--data-dir", dir])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.hasPrefix("updated analyst role \(role)"), again.stdout)
    }
}
