import Analytics
import CareerEvents
import Postgres
import TestSupport
import XCTest

/// The figures as `careerlog analytics` and the dashboard print them, read
/// from a real PostgreSQL. The fixture stands in for the analytics views
/// with tables of the same names and columns (the views' own numbers are
/// the projector's tests' business), holding the awkward values: text with
/// a comma, quotes and a line break, no value, a currency object.
final class AnalyticsRenderingTests: XCTestCase {
    private var connection: PostgresConnection!
    private var url = ""

    override func setUpWithError() throws {
        (connection, url) = try TestCluster.connect()
        try connection.execute("""
            CREATE SCHEMA analytics;
            CREATE TABLE analytics.as_of (newest_event_time timestamptz NOT NULL);
            INSERT INTO analytics.as_of VALUES ('2025-06-30 22:04:24.5+02');
            CREATE VIEW analytics.as_of_utc AS SELECT newest_event_time AS as_of FROM analytics.as_of;
            CREATE TABLE analytics.placement_rate_by_program (
                program text, enrolled bigint, placed_within_12_months bigint, placement_rate double precision, window_state text);
            INSERT INTO analytics.placement_rate_by_program VALUES
                ('data, "advanced"' || E'\\n' || 'track', 3, 1, 1.0/3, 'open'),
                ('web', 4, 0, 0, 'closed'),
                ('zero', 0, 0, NULL, 'open');
            CREATE TABLE analytics.mentorship_roi (
                mentor_id text, mentees bigint, sessions bigint, hours numeric, average_rating numeric,
                placed_within_12_months bigint, placement_rate double precision, uplift_count bigint,
                mean_uplift double precision, total_gain jsonb, gain_per_hour jsonb);
            INSERT INTO analytics.mentorship_roi VALUES
                ('m-1', 2, 5, 7.50, 4.3333330000, 1, 0.5, 1, 0.125, '{"USD": 1200.50, "EUR": 300.00}', '{"USD": 160.066666, "EUR": 40}'),
                ('m-2', 1, 1, 0.5, NULL, 0, 0, 0, NULL, '{}', '{}');
            CREATE TABLE analytics.enrollees (subject text, cohort text, program text);
            INSERT INTO analytics.enrollees VALUES ('aaaaaaaa-0000-4000-8000-000000000001', '2025-03', 'web'),
                                                   ('aaaaaaaa-0000-4000-8000-000000000002', '2025-04', 'web');
            CREATE TABLE analytics.learning_velocity (subject text, month text, hours numeric, activities_completed bigint, tasks_completed bigint);
            INSERT INTO analytics.learning_velocity VALUES
                ('aaaaaaaa-0000-4000-8000-000000000001', '2025-05', 12.25, 3, 1),
                ('aaaaaaaa-0000-4000-8000-000000000001', '2025-06', 1, 1, 0),
                ('aaaaaaaa-0000-4000-8000-000000000002', '2025-06', 2.5, 2, 2);
            """)
    }

    private func read(_ query: AnalyticsQuery, schema: String = "analytics") throws -> AnalyticsResult {
        try AnalyticsReader(url: url).read(query, schema: schema)
    }

    func testPlacementTable() throws {
        let result = try read(.placement(by: .program, value: nil))
        XCTAssertEqual(AnalyticsRenderer.render(result, as: .table), """
            Placement rate per program, as of 2025-06-30 20:04:24.5+00

            program                 enrolled  placed_within_12_months  placement_rate  window_state
            data, "advanced"
            track         3                        1          0.3333  open
            web                            4                        0          0.0000  closed
            zero                           0                        0               -  open

            """)
    }

    /// One JSON document per command: the as-of moment and the rows.
    func testPlacementJSONIsOneDocumentWithAsOfAndFullPrecision() throws {
        let result = try read(.placement(by: .program, value: nil))
        let text = AnalyticsRenderer.render(result, as: .json)
        XCTAssertEqual(text, """
            {"as_of":"2025-06-30T20:04:24.5Z","rows":[
            {"program":"data, \\"advanced\\"\\ntrack","enrolled":3,"placed_within_12_months":1,"placement_rate":0.3333333333333333,"window_state":"open"},
            {"program":"web","enrolled":4,"placed_within_12_months":0,"placement_rate":0,"window_state":"closed"},
            {"program":"zero","enrolled":0,"placed_within_12_months":0,"placement_rate":null,"window_state":"open"}
            ]}

            """)
        guard case .object(let document) = try JSONParser.parse(text.trimmingCharacters(in: .newlines)) else { return XCTFail(text) }
        XCTAssertEqual(document["as_of"], .string("2025-06-30T20:04:24.5Z"))
        guard case .array(let rows)? = document["rows"] else { return XCTFail(text) }
        XCTAssertEqual(rows.count, 3)
    }

    func testPlacementCSV() throws {
        let result = try read(.placement(by: .program, value: nil))
        XCTAssertEqual(AnalyticsRenderer.render(result, as: .csv),
                       "program,enrolled,placed_within_12_months,placement_rate,window_state,as_of\r\n"
                       + "\"data, \"\"advanced\"\"\ntrack\",3,1,0.3333333333333333,open,2025-06-30T20:04:24.5Z\r\n"
                       + "web,4,0,0,closed,2025-06-30T20:04:24.5Z\r\n"
                       + "zero,0,0,,open,2025-06-30T20:04:24.5Z\r\n")
    }

    func testFilterSelectsOneGroup() throws {
        let result = try read(.placement(by: .program, value: "web"))
        XCTAssertEqual(result.rows, [["web", "4", "0", "0", "closed"]])
    }

    func testMentorshipRendersCurrencyObjects() throws {
        let result = try read(.mentorship(.perMentor))
        XCTAssertEqual(AnalyticsRenderer.render(result, as: .table), """
            Mentorship ROI per mentor, as of 2025-06-30 20:04:24.5+00

            mentor_id  mentees  sessions  hours  average_rating  placed_within_12_months  placement_rate  uplift_count  mean_uplift  total_gain               gain_per_hour
            m-1              2         5   7.50            4.33                        1          0.5000             1       0.1250  EUR 300.00, USD 1200.50  EUR 40.00, USD 160.07
            m-2              1         1   0.50               -                        0          0.0000             0            -  -                        -

            """)
        // PostgreSQL writes numeric and jsonb numbers with their scale
        // (7.50, 4.3333330000, 300.00): printed without trailing zeros.
        XCTAssertEqual(AnalyticsRenderer.render(result, as: .json).split(separator: "\n").dropFirst().first,
                       #"{"mentor_id":"m-1","mentees":2,"sessions":5,"hours":7.5,"average_rating":4.333333,"placed_within_12_months":1,"placement_rate":0.5,"uplift_count":1,"mean_uplift":0.125,"total_gain":{"EUR": 300, "USD": 1200.5},"gain_per_hour":{"EUR": 40, "USD": 160.066666}},"#)
        XCTAssertTrue(AnalyticsRenderer.render(result, as: .csv).contains("\r\nm-1,2,5,7.5,4.333333,1,0.5,1,0.125,\"{\"\"EUR\"\": 300, \"\"USD\"\": 1200.5}\","))
    }

    func testVelocityFiltersByCohortAndMonth() throws {
        let result = try read(.velocity(.init(cohort: "2025-03"), month: "2025-06"))
        XCTAssertEqual(result.rows, [["aaaaaaaa-0000-4000-8000-000000000001", "2025-06", "1", "1", "0"]])
        let bySubject = try read(.velocity(.init(subject: "AAAAAAAA-0000-4000-8000-000000000002"), month: nil))
        XCTAssertEqual(bySubject.rows, [["aaaaaaaa-0000-4000-8000-000000000002", "2025-06", "2.5", "2", "2"]])
    }

    /// `--schema` reads an as-of copy; its table names it.
    func testAsOfSchemaAndItsState() throws {
        try connection.execute("""
            CREATE SCHEMA past_analytics;
            CREATE VIEW past_analytics.as_of_utc AS SELECT NULL::timestamptz AS as_of;
            CREATE TABLE past_analytics.placement_rate_by_program (LIKE analytics.placement_rate_by_program);
            """)
        let result = try read(.placement(by: .program, value: nil), schema: "past_analytics")
        XCTAssertEqual(AnalyticsRenderer.render(result, as: .table), """
            Placement rate per program, as of - (no events applied yet), schema past_analytics

            program  enrolled  placed_within_12_months  placement_rate  window_state
            (no rows)

            """)
        XCTAssertEqual(AnalyticsRenderer.render(result, as: .csv), "program,enrolled,placed_within_12_months,placement_rate,window_state,as_of\r\n")
        XCTAssertEqual(AnalyticsRenderer.render(result, as: .json), "{\"as_of\":null,\"rows\":[]}\n")
    }

    func testMissingSchemaIsAPreciseError() throws {
        XCTAssertThrowsError(try read(.funnel(month: nil), schema: "nope_analytics")) { error in
            let error = error as? AnalyticsError
            XCTAssertEqual(error?.code, .noAnalytics)
            XCTAssertTrue(error?.description.hasPrefix("no analytics in schema \"nope_analytics\"") == true, "\(String(describing: error))")
        }
        XCTAssertThrowsError(try read(.funnel(month: nil), schema: String(repeating: "x", count: 64))) { error in
            XCTAssertEqual((error as? AnalyticsError)?.code, .invalidSchemaName)
        }
    }
}
