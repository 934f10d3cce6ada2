import Postgres
import TestSupport
import XCTest

final class TransactionTests: XCTestCase {
    private struct Abandon: Error {}

    func testTransactionCommitsAndReturnsTheBodysValue() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (x int)")
        let inserted = try connection.transaction { tx in
            try tx.query("INSERT INTO t VALUES (1), (2)").affectedRows
        }
        XCTAssertEqual(inserted, 2)
        XCTAssertEqual(try connection.query("SELECT count(*) AS n FROM t").first?["n"], "2")
    }

    func testTransactionRollsBackWhenTheBodyThrows() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (x int)")
        XCTAssertThrowsError(try connection.transaction { tx in
            try tx.query("INSERT INTO t VALUES (1)")
            throw Abandon()
        }) { error in XCTAssertTrue(error is Abandon) }
        XCTAssertEqual(try connection.query("SELECT count(*) AS n FROM t").first?["n"], "0")
        // The connection is back outside any transaction and usable.
        try connection.transaction { tx in try tx.query("INSERT INTO t VALUES (5)") }
        XCTAssertEqual(try connection.query("SELECT sum(x) AS s FROM t").first?["s"], "5")
    }

    func testCaughtStatementErrorMakesTheTransactionThrowInsteadOfSilentlyRollingBack() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (x int PRIMARY KEY)")
        XCTAssertThrowsError(try connection.transaction { tx in
            try tx.query("INSERT INTO t VALUES (1)")
            _ = try? tx.query("INSERT INTO t VALUES (1)")  // fails, aborting the transaction
        }) { error in
            XCTAssertEqual((error as? PostgresError)?.code, .query)
            XCTAssertTrue("\(error)".contains("rolled back"), "\(error)")
        }
        XCTAssertEqual(try connection.query("SELECT count(*) AS n FROM t").first?["n"], "0")
    }

    func testFailedCommitReportsItsSQLState() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("""
            CREATE TABLE parent (id int PRIMARY KEY);
            CREATE TABLE child (parent int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);
            """)
        XCTAssertThrowsError(try connection.transaction { tx in try tx.query("INSERT INTO child VALUES (9)") }) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "23503")
        }
        XCTAssertEqual(try connection.query("SELECT count(*) AS n FROM child").first?["n"], "0")
    }
}

final class CopyTests: XCTestCase {
    /// Every character COPY's text format treats specially, and some it does not.
    static let awkward: [String?] = [
        "plain", "", nil, "tab\there", "new\nline", "carriage\rreturn", #"back\slash"#, #"\N"#, #"\."#, "\\",
        "trailing backslash\\", "Zoë 日本語 🚀", "quote ' and \"double\"", "comma, semicolon; pipe|", "\u{7F}\u{1}\u{1F}",
        "multi\n\nline\r\n\tindented", String(repeating: "long ", count: 20_000),
    ]

    func testCopyRoundTripsAwkwardValuesExactly() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (n int, a text, b text)")
        let copied = try connection.copyIn("COPY t (n, a, b) FROM STDIN") { writer in
            for (index, value) in Self.awkward.enumerated() {
                writer.append(index)
                writer.append(value)
                writer.append(value.map { String($0.reversed()) })
                try writer.endRow()
            }
        }
        XCTAssertEqual(copied, Self.awkward.count)
        let rows = try connection.query("SELECT n, a, b, a IS NULL AS null_a FROM t ORDER BY n")
        XCTAssertEqual(rows.count, Self.awkward.count)
        for (index, row) in rows.enumerated() {
            XCTAssertEqual(row["n"], String(index))
            XCTAssertEqual(row["a"], Self.awkward[index], "row \(index)")
            XCTAssertEqual(row["b"], Self.awkward[index].map { String($0.reversed()) }, "row \(index)")
            XCTAssertEqual(row["null_a"], Self.awkward[index] == nil ? "t" : "f", "row \(index)")
        }
    }

    func testCopyOfManyRowsCrossesTheFlushBoundaryAndKeepsEveryRow() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (n bigint, label text)")
        let rowCount = 100_000  // about 2.5 MB: ten flushes at 256 KiB
        let copied = try connection.copyIn("COPY t FROM STDIN") { writer in
            for n in 1...rowCount { try writer.writeRow([String(n), "row \(n)\twith tab"]) }
        }
        XCTAssertEqual(copied, rowCount)
        let row = try XCTUnwrap(connection.query("""
            SELECT count(*) AS n, sum(n) AS total, count(DISTINCT label) AS labels,
                   bool_and(label = 'row ' || n || E'\\twith tab') AS exact FROM t
            """).first)
        XCTAssertEqual(row["n"], String(rowCount))
        XCTAssertEqual(row["total"], String(rowCount * (rowCount + 1) / 2))
        XCTAssertEqual(row["labels"], String(rowCount))
        XCTAssertEqual(row["exact"], "t")
    }

    func testCopyIsCancelledWhenTheWriterThrows() throws {
        struct Stop: Error {}
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (x int)")
        XCTAssertThrowsError(try connection.copyIn("COPY t FROM STDIN") { writer in
            for n in 1...50_000 { try writer.writeRow([String(n)]) }
            throw Stop()
        }) { error in XCTAssertTrue(error is Stop, "\(error)") }
        XCTAssertEqual(try connection.query("SELECT count(*) AS n FROM t").first?["n"], "0")
    }

    func testCopyConstraintViolationReportsSQLStateAndStoresNothing() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (x int PRIMARY KEY)")
        XCTAssertThrowsError(try connection.copyIn("COPY t FROM STDIN") { writer in
            for n in [1, 2, 3, 2] { writer.append(n); try writer.endRow() }
        }) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.code, .copy)
            XCTAssertEqual(error.sqlState, "23505")
        }
        XCTAssertEqual(try connection.query("SELECT count(*) AS n FROM t").first?["n"], "0")
    }

    func testCopyInsideATransactionCommitsWithIt() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (x int)")
        try connection.transaction { tx in
            try tx.copyIn("COPY t FROM STDIN") { writer in try writer.writeRow(["1"]); try writer.writeRow(["2"]) }
            try tx.query("INSERT INTO t VALUES (3)")
        }
        XCTAssertEqual(try connection.query("SELECT sum(x) AS s FROM t").first?["s"], "6")
    }

    func testCopyInNeedsACopyFromStdinStatement() throws {
        let connection = try TestCluster.connect().0
        XCTAssertThrowsError(try connection.copyIn("SELECT 1") { _ in XCTFail("writer must not run") }) { error in
            XCTAssertEqual((error as? PostgresError)?.code, .protocolViolation)
        }
        XCTAssertThrowsError(try connection.copyIn("COPY missing FROM STDIN") { _ in XCTFail("writer must not run") }) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "42P01")
        }
        XCTAssertEqual(try connection.query("SELECT 1 AS one").first?["one"], "1")
    }
}
