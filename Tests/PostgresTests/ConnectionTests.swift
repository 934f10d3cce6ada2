import Postgres
import TestSupport
import XCTest

final class ConnectionTests: XCTestCase {
    func testConnectsAsCareerlogToItsOwnDatabase() throws {
        let url = try TestCluster.makeDatabase()
        let connection = try PostgresConnection(url: url)
        XCTAssertTrue(connection.isConnected)
        let row = try XCTUnwrap(connection.query("SELECT current_user AS who, current_database() AS db, current_setting('server_encoding') AS enc").first)
        XCTAssertEqual(row["who"], "careerlog")
        let database = url.components(separatedBy: "@/")[1].components(separatedBy: "?")[0]
        XCTAssertTrue(database.hasPrefix("t_"), url)
        XCTAssertEqual(row["db"], database)
        XCTAssertEqual(row["enc"], "UTF8")
        XCTAssertTrue(connection.target.contains("as careerlog"), connection.target)
    }

    func testParametersRoundTripNullsUnicodeQuotesAndBackslashes() throws {
        let connection = try TestCluster.connect().0
        let values: [String?] = [nil, "", "Zoë — 日本語 🚀", "O'Brien said \"hi\"; DROP TABLE x; --", #"C:\dir\n"#, "tab\there\nnewline"]
        let sql = "SELECT " + values.indices.map { "$\($0 + 1)::text AS v\($0), $\($0 + 1) IS NULL AS n\($0)" }.joined(separator: ", ")
        let row = try XCTUnwrap(connection.query(sql, values).first)
        for (index, value) in values.enumerated() {
            XCTAssertEqual(row["v\(index)"], value, "parameter \(index + 1)")
            XCTAssertEqual(row["n\(index)"], value == nil ? "t" : "f", "parameter \(index + 1)")
        }
    }

    func testParameterWithNulByteIsRejectedBeforeSending() throws {
        let connection = try TestCluster.connect().0
        XCTAssertThrowsError(try connection.query("SELECT $1::text, $2::text", ["fine", "bad\u{0}value"])) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.code, .protocolViolation)
            XCTAssertTrue(error.message.contains("parameter $2"), error.message)
        }
        XCTAssertEqual(try connection.query("SELECT 1 AS one").first?["one"], "1")
    }

    func testRowsByIndexAndNameAndAffectedRowCounts() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("""
            CREATE TABLE skills (id int PRIMARY KEY, name text, level int);
            INSERT INTO skills VALUES (1, 'swift', 3), (2, 'sql', NULL), (3, 'go', 5);
            """)
        XCTAssertEqual(try connection.query("UPDATE skills SET level = 4 WHERE id >= $1", ["2"]).affectedRows, 2)
        let rows = try connection.query("SELECT id, name, level FROM skills ORDER BY id")
        XCTAssertEqual(rows.columns, ["id", "name", "level"])
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(rows.affectedRows, 3)
        XCTAssertEqual(rows.map { $0.values }, [["1", "swift", "3"], ["2", "sql", "4"], ["3", "go", "4"]])
        XCTAssertEqual(rows[1][1], "sql")
        XCTAssertEqual(try connection.query("SELECT NULL::text AS nothing").first?["nothing"], .some(nil))
    }

    func testUniqueViolationCarriesSQLStateAndDetail() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE users (id int PRIMARY KEY)")
        try connection.query("INSERT INTO users VALUES ($1)", ["7"])
        XCTAssertThrowsError(try connection.query("INSERT INTO users VALUES ($1)", ["7"])) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.code, .query)
            XCTAssertEqual(error.sqlState, "23505")
            XCTAssertEqual(error.message, #"duplicate key value violates unique constraint "users_pkey""#)
            XCTAssertEqual(error.detail, "Key (id)=(7) already exists.")
            XCTAssertFalse(error.isConnectionFailure)
            // DETAIL quotes the row's values (PII in real tables): kept out of
            // what is logged and stored, available on request.
            XCTAssertEqual(error.description, #"duplicate key value violates unique constraint "users_pkey" (SQLSTATE 23505)"#)
            XCTAssertEqual(error.descriptionWithDetail,
                           #"duplicate key value violates unique constraint "users_pkey" (SQLSTATE 23505); detail: Key (id)=(7) already exists."#)
        }
        XCTAssertTrue(connection.isConnected)
    }

    func testSyntaxErrorCarriesSQLState42601() throws {
        let connection = try TestCluster.connect().0
        XCTAssertThrowsError(try connection.execute("SELEC 1")) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.sqlState, "42601")
            XCTAssertEqual(error.message, #"syntax error at or near "SELEC""#)
            XCTAssertEqual(error.description, #"syntax error at or near "SELEC" (SQLSTATE 42601)"#)
        }
        XCTAssertThrowsError(try connection.query("SELECT FROM WHERE")) { error in
            XCTAssertEqual((error as! PostgresError).sqlState, "42601")
        }
    }

    func testExecuteRunsSeveralStatementsAndStopsAtTheFirstError() throws {
        let connection = try TestCluster.connect().0
        XCTAssertThrowsError(try connection.execute("""
            CREATE TABLE a (x int); INSERT INTO a VALUES (1);
            INSERT INTO a VALUES ('not a number'); INSERT INTO a VALUES (3);
            """)) { error in
            XCTAssertEqual((error as! PostgresError).sqlState, "22P02")
        }
        // A multi-statement string runs as one implicit transaction: all or nothing.
        XCTAssertThrowsError(try connection.query("SELECT * FROM a")) { error in
            XCTAssertEqual((error as! PostgresError).sqlState, "42P01")
        }
        try connection.execute("CREATE TABLE b (x int); INSERT INTO b VALUES (1), (2);")
        XCTAssertEqual(try connection.query("SELECT sum(x) AS s FROM b").first?["s"], "3")
    }

    func testCopyStartedThroughExecuteIsRefusedAndTheConnectionStaysUsable() throws {
        let connection = try TestCluster.connect().0
        try connection.execute("CREATE TABLE t (x int)")
        for sql in ["COPY t FROM STDIN", "COPY (SELECT 1) TO STDOUT"] {
            XCTAssertThrowsError(try connection.execute(sql)) { error in
                XCTAssertEqual((error as! PostgresError).code, .protocolViolation, sql)
            }
            XCTAssertEqual(try connection.query("SELECT 2 AS two").first?["two"], "2", sql)
        }
    }

    func testConnectionFailureNamesTheTargetButNeverThePassword() throws {
        let url = "postgresql://careerlog:S3cret-Pass@/careerlog?host=/nonexistent/careerlog-socket&port=5432"
        XCTAssertThrowsError(try PostgresConnection(url: url)) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.code, .connection)
            XCTAssertTrue(error.isConnectionFailure)
            XCTAssertNil(error.sqlState)
            XCTAssertTrue(error.description.contains("/nonexistent/careerlog-socket"), error.description)
            XCTAssertFalse(error.description.contains("S3cret"), error.description)
        }
        XCTAssertThrowsError(try PostgresConnection(url: "host=/nonexistent password=S3cret-Pass dbname=x")) { error in
            XCTAssertFalse("\(error)".contains("S3cret"), "\(error)")
        }
    }

    func testConnectionFailureClassification() {
        func error(_ code: PostgresError.Code, _ sqlState: String?) -> PostgresError {
            PostgresError(code: code, sqlState: sqlState, message: "m")
        }
        XCTAssertTrue(error(.connection, nil).isConnectionFailure)
        XCTAssertTrue(error(.query, "08006").isConnectionFailure)
        XCTAssertTrue(error(.query, "57P01").isConnectionFailure)
        XCTAssertTrue(error(.query, "57P03").isConnectionFailure)
        XCTAssertFalse(error(.query, "57014").isConnectionFailure)  // query_canceled
        XCTAssertFalse(error(.query, "23505").isConnectionFailure)
        XCTAssertFalse(error(.copy, nil).isConnectionFailure)
    }
}
