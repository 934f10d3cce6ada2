import Foundation
import XCTest

@testable import CareerEvents

/// `EventSchemas/` against EventSchemas/README.md: every catalog type loads, a
/// realistic example of each is accepted, and events that break a catalog
/// rule are rejected with the exact code, path and reason.
final class CatalogTests: XCTestCase {
    /// The catalog's types (EventSchemas/README.md "Types"), all dataversion 1.
    static let catalogTypes = [
        "user.registered", "profile.updated", "user.erased",
        "skill.assessed", "cv.parsed",
        "learning.started", "learning.progressed", "learning.completed", "certification.earned",
        "roadmap.created", "task.completed", "goal.set", "goal.achieved",
        "program.enrolled", "interview.practiced",
        "application.sent", "application.advanced", "placement.recorded", "milestone.achieved", "employer.feedback",
        "mentor.registered", "mentorship.started", "mentorship.session_held", "mentorship.ended",
        "portfolio.project_added", "project.reviewed",
        "position.opened",
    ]

    static let u1 = "2eb8aa08-aa98-11ea-b4aa-73b441d16380"
    static let u2 = "98d80576-482e-427f-8434-7f86890ab222"

    /// One full, valid `data` per type (every catalog field present).
    static let validExamples: [String: String] = [
        "user.registered": """
            {"email":"ada@example.com","first_name":"Ada","last_name":"Lovelace","phone":"+44 20 7946 0958",
             "location":{"city":"London","country":"GB","timezone":"Europe/London"},"platform":"careerforge"}
            """,
        "profile.updated": """
            {"current_role":"Engineer","current_company":"Acme","industry":"Software","experience_level":"mid",
             "years_experience":4.5,"target_role":"Staff Engineer","career_goals":["lead a team"],
             "salary_expectation":{"min":90000,"max":120000,"currency":"EUR"},"remote_preference":"hybrid",
             "linkedin_url":"https://www.linkedin.com/in/ada","github_url":"https://github.com/ada"}
            """,
        "user.erased": #"{"reason":"user request"}"#,
        "skill.assessed": """
            {"skill":"Swift","category":"technical","level":"advanced","score":85,"source":"assessment",
             "verified":true,"assessor_id":"\(u1)"}
            """,
        "cv.parsed": """
            {"cv_id":"\(u1)","skills":["Swift","SQL"],"experience":[{"title":"Engineer","company":"Acme","months":24}],
             "education":[{"degree":"BSc","institution":"MIT","year":2015}],"certifications":["AWS SAA"]}
            """,
        "learning.started": """
            {"activity_id":"\(u1)","activity_type":"course","title":"Distributed Systems","provider":"Coursera",
             "skills_targeted":["Go"],"cost":{"amount":49.99,"currency":"USD"}}
            """,
        "learning.progressed": #"{"activity_id":"\#(u1)","completion_percentage":40,"hours":2.5}"#,
        "learning.completed": #"{"activity_id":"\#(u1)","hours":0,"rating":5}"#,
        "certification.earned": """
            {"name":"CKA","issuer":"CNCF","credential_id":"LF-123","issued_on":"2024-01-10","expires_on":"2027-01-10"}
            """,
        "roadmap.created": """
            {"roadmap_id":"\(u1)","title":"Backend path","career_path":"Backend","duration_weeks":12,
             "tasks":[{"task_id":"\(u2)","phase":1,"week":1,"title":"HTTP basics","type":"reading","estimated_hours":3}]}
            """,
        "task.completed": #"{"roadmap_id":"\#(u1)","task_id":"\#(u2)","actual_hours":2}"#,
        "goal.set": """
            {"goal_id":"\(u1)","title":"Become a staff engineer","kind":"role","target_date":"2026-12-31","priority":"high"}
            """,
        "goal.achieved": #"{"goal_id":"\#(u1)"}"#,
        "program.enrolled": """
            {"program":"Data Career Switch","cohort":"2024-03","target_industry":"Fintech","target_role":"Data Analyst",
             "baseline_salary":{"amount":0,"currency":"GBP"}}
            """,
        "interview.practiced": #"{"kind":"mock","score":72.5}"#,
        "application.sent": """
            {"application_id":"\(u1)","company":"Acme","position":"Backend Engineer","channel":"referral"}
            """,
        "application.advanced": #"{"application_id":"\#(u1)","stage":"interview"}"#,
        "placement.recorded": """
            {"application_id":"\(u1)","company":"Acme","role":"Backend Engineer","salary":{"amount":65000,"currency":"EUR"},
             "employment_type":"full-time","start_date":"2024-09-01"}
            """,
        "milestone.achieved": """
            {"milestone_type":"promotion","title":"Senior Engineer","salary_increase":{"amount":8000,"currency":"USD"}}
            """,
        "employer.feedback": #"{"employer":"Acme","rating":4,"would_hire_again":true,"comments":"Great team player"}"#,
        "mentor.registered": #"{"expertise":["Kubernetes"],"industry":"Cloud","years_experience":12,"max_mentees":5}"#,
        "mentorship.started": #"{"mentorship_id":"\#(u1)","mentor_id":"\#(u2)","goals":["system design"]}"#,
        "mentorship.session_held": """
            {"mentorship_id":"\(u1)","duration_minutes":45,"topic":"Career plan","mentee_rating":5}
            """,
        "mentorship.ended": #"{"mentorship_id":"\#(u1)","outcome":"completed"}"#,
        "portfolio.project_added": """
            {"project_id":"\(u1)","title":"Event store","technologies":["Swift","PostgreSQL"],
             "url":"https://github.com/ada/events"}
            """,
        "project.reviewed": """
            {"project_id":"\(u1)","reviewer_id":"\(u2)","reviewer_role":"mentor","score":4,"showcase_ready":true}
            """,
        "position.opened": #"{"position_id":"\#(u1)","organization":"Acme","title":"Data Analyst","required_skills":["SQL"]}"#,
    ]

    /// The required fields per the catalog ("(required)").
    static let requiredFields: [String: [String]] = [
        "user.registered": ["email", "first_name", "last_name", "platform"],
        "profile.updated": [],
        "user.erased": ["reason"],
        "skill.assessed": ["skill", "category", "level", "source"],
        "cv.parsed": ["cv_id", "skills"],
        "learning.started": ["activity_id", "activity_type", "title"],
        "learning.progressed": ["activity_id", "completion_percentage", "hours"],
        "learning.completed": ["activity_id"],
        "certification.earned": ["name", "issuer", "issued_on"],
        "roadmap.created": ["roadmap_id", "title", "duration_weeks", "tasks"],
        "task.completed": ["roadmap_id", "task_id"],
        "goal.set": ["goal_id", "title"],
        "goal.achieved": ["goal_id"],
        "program.enrolled": ["program", "cohort", "target_industry", "target_role", "baseline_salary"],
        "interview.practiced": ["score"],
        "application.sent": ["application_id", "company", "position"],
        "application.advanced": ["application_id", "stage"],
        "placement.recorded": ["company", "role", "salary", "employment_type", "start_date"],
        "milestone.achieved": ["milestone_type", "title"],
        "employer.feedback": ["employer", "rating", "would_hire_again"],
        "mentor.registered": ["expertise", "industry"],
        "mentorship.started": ["mentorship_id", "mentor_id"],
        "mentorship.session_held": ["mentorship_id", "duration_minutes"],
        "mentorship.ended": ["mentorship_id"],
        "portfolio.project_added": ["project_id", "title"],
        "project.reviewed": ["project_id", "reviewer_role", "score"],
        "position.opened": ["position_id", "organization", "title"],
    ]

    /// Rule-specific rejections: (type, change to the valid example, path, reason).
    /// A change sets members of the example's top level (nil removes one).
    static let invalidCases: [(type: String, change: String, path: String, reason: String)] = [
        // user.registered
        ("user.registered", #"{"email":"ada.example.com"}"#, "data.email", "must be an email address"),
        ("user.registered", #"{"platform":"linkedin"}"#, "data.platform", "must be one of careerforge, talenthub"),
        ("user.registered", #"{"first_name":""}"#, "data.first_name", "must not be empty"),
        ("user.registered", #"{"location":{"country":"XX"}}"#, "data.location.country",
         "is not an ISO 3166-1 alpha-2 country code"),
        ("user.registered", #"{"location":{"country":"gb"}}"#, "data.location.country",
         "must match the pattern ^[A-Z]{2}$"),
        ("user.registered", #"{"location":{"timezone":"Mars/Olympus_Mons"}}"#, "data.location.timezone",
         "is not an IANA time zone name"),
        ("user.registered", #"{"location":{"timezone":"GMT+1"}}"#, "data.location.timezone",
         "is not an IANA time zone name"),
        ("user.registered", #"{"location":{"city":"Paris","zip":"75001"}}"#, "data.location", #"unknown field "zip""#),
        ("user.registered", #"{"phone":"call me maybe"}"#, "data.phone",
         #"must match the pattern ^\+?\(?[0-9][0-9 ()./-]*[0-9]$"#),
        // profile.updated
        ("profile.updated", #"{"salary_expectation":{"min":9000,"max":5000,"currency":"EUR"}}"#,
         "data.salary_expectation", "min 9000 > max 5000"),
        ("profile.updated", #"{"salary_expectation":{"min":1,"max":2,"currency":"XYZ"}}"#,
         "data.salary_expectation.currency", "is not an ISO 4217 currency code"),
        ("profile.updated", #"{"salary_expectation":{"min":1,"max":2,"currency":"HRK"}}"#,
         "data.salary_expectation.currency", "is not an ISO 4217 currency code"),
        ("profile.updated", #"{"salary_expectation":{"min":1,"currency":"EUR"}}"#,
         "data.salary_expectation.max", "required"),
        ("profile.updated", #"{"years_experience":61}"#, "data.years_experience", "61 is greater than the maximum 60"),
        ("profile.updated", #"{"experience_level":"junior"}"#, "data.experience_level",
         "must be one of entry, mid, senior, executive"),
        ("profile.updated", #"{"remote_preference":"office"}"#, "data.remote_preference",
         "must be one of remote, hybrid, onsite"),
        ("profile.updated", #"{"github_url":"ftp://github.com/ada"}"#, "data.github_url",
         #"must match the pattern ^https?://[^\s/?#]+[^\s]*$"#),
        ("profile.updated", #"{"career_goals":"lead a team"}"#, "data.career_goals", "must be an array, got string"),
        // user.erased
        ("user.erased", #"{"reason":""}"#, "data.reason", "must not be empty"),
        ("user.erased", #"{"reason":"\#(String(repeating: "é", count: 501))"}"#, "data.reason",
         "length 501 is greater than the maximum 500"),
        // skill.assessed
        ("skill.assessed", #"{"level":"guru"}"#, "data.level", "must be one of beginner, intermediate, advanced, expert"),
        ("skill.assessed", #"{"score":140}"#, "data.score", "140 is greater than the maximum 100"),
        ("skill.assessed", #"{"score":-0.5}"#, "data.score", "-0.5 is less than the minimum 0"),
        ("skill.assessed", #"{"skill":null}"#, "data.skill", "required"),
        ("skill.assessed", #"{"skill":"\#(String(repeating: "x", count: 151))"}"#, "data.skill",
         "length 151 is greater than the maximum 150"),
        ("skill.assessed", #"{"category":"hard"}"#, "data.category", "must be one of technical, soft, domain"),
        ("skill.assessed", #"{"source":"twitter"}"#, "data.source",
         "must be one of manual, cv, github, linkedin, assessment, mentor"),
        ("skill.assessed", #"{"verified":"yes"}"#, "data.verified", "must be a boolean, got string"),
        ("skill.assessed", #"{"assessor_id":"{2eb8aa08-aa98-11ea-b4aa-73b441d16380}"}"#, "data.assessor_id",
         "must be a UUID (8-4-4-4-12 hex digits)"),
        // cv.parsed
        ("cv.parsed", #"{"skills":["Swift",""]}"#, "data.skills[1]", "must not be empty"),
        ("cv.parsed", #"{"experience":[{"title":"Engineer","months":-1}]}"#, "data.experience[0].months",
         "-1 is less than the minimum 0"),
        ("cv.parsed", #"{"experience":[{"title":"Engineer","employer":"Acme"}]}"#, "data.experience[0]",
         #"unknown field "employer""#),
        ("cv.parsed", #"{"education":[{"degree":"BSc","year":"2015"}]}"#, "data.education[0].year",
         "must be an integer, got string"),
        ("cv.parsed", #"{"cv_id":"2eb8aa08aa9811eab4aa73b441d16380"}"#, "data.cv_id",
         "must be a UUID (8-4-4-4-12 hex digits)"),
        // learning.started
        ("learning.started", #"{"activity_type":"webinar"}"#, "data.activity_type",
         "must be one of course, certification, project, mentoring, reading, practice"),
        ("learning.started", #"{"cost":{"amount":49.99,"currency":"usd"}}"#, "data.cost.currency",
         "must match the pattern ^[A-Z]{3}$"),
        ("learning.started", #"{"cost":{"amount":-5,"currency":"USD"}}"#, "data.cost.amount",
         "-5 is less than the minimum 0"),
        ("learning.started", #"{"cost":{"amount":5}}"#, "data.cost.currency", "required"),
        // learning.progressed
        ("learning.progressed", #"{"hours":0}"#, "data.hours", "0 must be greater than 0"),
        ("learning.progressed", #"{"completion_percentage":100.5}"#, "data.completion_percentage",
         "100.5 is greater than the maximum 100"),
        ("learning.progressed", #"{"hours":1e400}"#, "data.hours", "1e400 is greater than the maximum 100000"),
        // learning.completed
        ("learning.completed", #"{"rating":6}"#, "data.rating", "6 is greater than the maximum 5"),
        ("learning.completed", #"{"rating":4.5}"#, "data.rating", "must be an integer, got number"),
        ("learning.completed", #"{"hours":-1}"#, "data.hours", "-1 is less than the minimum 0"),
        // certification.earned
        ("certification.earned", #"{"issued_on":"2024-03-01","expires_on":"2024-02-29"}"#, "data",
         "expires_on is before issued_on"),
        ("certification.earned", #"{"issued_on":"2023-02-29"}"#, "data.issued_on", "must be a date YYYY-MM-DD, year 0001 to 9999"),
        ("certification.earned", #"{"expires_on":"2027-01-10T00:00:00Z"}"#, "data.expires_on",
         "must be a date YYYY-MM-DD, year 0001 to 9999"),
        // roadmap.created
        ("roadmap.created", #"{"tasks":[]}"#, "data.tasks", "has 0 items, fewer than the minimum 1"),
        ("roadmap.created", #"{"duration_weeks":521}"#, "data.duration_weeks", "521 is greater than the maximum 520"),
        ("roadmap.created", #"{"duration_weeks":12.5}"#, "data.duration_weeks", "must be an integer, got number"),
        ("roadmap.created", #"{"tasks":[{"title":"a"},{"title":"b","type":"video"}]}"#, "data.tasks[1].type",
         "must be one of course, project, reading, practice"),
        ("roadmap.created", #"{"tasks":[{"week":0}]}"#, "data.tasks[0].week", "0 is less than the minimum 1"),
        ("roadmap.created", #"{"tasks":[{"task_id":"t-1"}]}"#, "data.tasks[0].task_id",
         "must be a UUID (8-4-4-4-12 hex digits)"),
        // task.completed
        ("task.completed", #"{"task_id":"123"}"#, "data.task_id", "must be a UUID (8-4-4-4-12 hex digits)"),
        ("task.completed", #"{"actual_hours":"2"}"#, "data.actual_hours", "must be a number, got string"),
        // goal.set
        ("goal.set", #"{"target_date":"2026-13-01"}"#, "data.target_date", "must be a date YYYY-MM-DD, year 0001 to 9999"),
        ("goal.set", #"{"priority":"urgent"}"#, "data.priority", "must be one of low, medium, high"),
        ("goal.set", #"{"kind":"hobby"}"#, "data.kind", "must be one of skill, role, certification, project"),
        // goal.achieved
        ("goal.achieved", #"{"goal_id":"urn:uuid:2eb8aa08-aa98-11ea-b4aa-73b441d16380"}"#, "data.goal_id",
         "must be a UUID (8-4-4-4-12 hex digits)"),
        // program.enrolled
        ("program.enrolled", #"{"cohort":"2024-13"}"#, "data.cohort", "must match the pattern ^[0-9]{4}-(0[1-9]|1[0-2])$"),
        ("program.enrolled", #"{"cohort":"2024-03-01"}"#, "data.cohort", "must match the pattern ^[0-9]{4}-(0[1-9]|1[0-2])$"),
        ("program.enrolled", #"{"baseline_salary":{"amount":0,"currency":"ABC"}}"#, "data.baseline_salary.currency",
         "is not an ISO 4217 currency code"),
        ("program.enrolled", #"{"baseline_salary":{"amount":1000,"currency":"EUR","period":"month"}}"#,
         "data.baseline_salary", #"unknown field "period""#),
        // interview.practiced
        ("interview.practiced", #"{"kind":"panel"}"#, "data.kind", "must be one of technical, behavioral, mock"),
        ("interview.practiced", #"{"score":100.01}"#, "data.score", "100.01 is greater than the maximum 100"),
        // application.sent
        ("application.sent", #"{"channel":"linkedin"}"#, "data.channel",
         "must be one of job_board, referral, recruiter, direct, talenthub"),
        ("application.sent", #"{"company":""}"#, "data.company", "must not be empty"),
        // application.advanced
        ("application.advanced", #"{"stage":"hired"}"#, "data.stage",
         "must be one of screening, interview, offer, rejected, withdrawn"),
        // placement.recorded
        ("placement.recorded", #"{"employment_type":"internship"}"#, "data.employment_type",
         "must be one of full-time, part-time, contract, freelance"),
        ("placement.recorded", #"{"salary":{"amount":"65000","currency":"EUR"}}"#, "data.salary.amount",
         "must be a number, got string"),
        ("placement.recorded", #"{"start_date":"01/09/2024"}"#, "data.start_date", "must be a date YYYY-MM-DD, year 0001 to 9999"),
        // milestone.achieved
        ("milestone.achieved", #"{"milestone_type":"raise"}"#, "data.milestone_type",
         "must be one of promotion, role_change, certification, project_completion"),
        ("milestone.achieved", #"{"salary_increase":{"amount":1,"currency":"EURO"}}"#, "data.salary_increase.currency",
         "must match the pattern ^[A-Z]{3}$"),
        // employer.feedback
        ("employer.feedback", #"{"would_hire_again":"yes"}"#, "data.would_hire_again", "must be a boolean, got string"),
        ("employer.feedback", #"{"rating":0}"#, "data.rating", "0 is less than the minimum 1"),
        ("employer.feedback", #"{"comments":"\#(String(repeating: "a", count: 2001))"}"#, "data.comments",
         "length 2001 is greater than the maximum 2000"),
        // mentor.registered
        ("mentor.registered", #"{"max_mentees":51}"#, "data.max_mentees", "51 is greater than the maximum 50"),
        ("mentor.registered", #"{"years_experience":-1}"#, "data.years_experience", "-1 is less than the minimum 0"),
        // mentorship.started
        ("mentorship.started", #"{"mentor_id":42}"#, "data.mentor_id", "must be a string, got integer"),
        // mentorship.session_held
        ("mentorship.session_held", #"{"duration_minutes":601}"#, "data.duration_minutes",
         "601 is greater than the maximum 600"),
        ("mentorship.session_held", #"{"duration_minutes":0}"#, "data.duration_minutes", "0 is less than the minimum 1"),
        ("mentorship.session_held", #"{"mentee_rating":0}"#, "data.mentee_rating", "0 is less than the minimum 1"),
        // mentorship.ended
        ("mentorship.ended", #"{"outcome":"paused"}"#, "data.outcome", "must be one of completed, cancelled"),
        // portfolio.project_added
        ("portfolio.project_added", #"{"url":"github.com/ada"}"#, "data.url",
         #"must match the pattern ^https?://[^\s/?#]+[^\s]*$"#),
        ("portfolio.project_added", #"{"technologies":["Swift",7]}"#, "data.technologies[1]",
         "must be a string, got integer"),
        // project.reviewed
        ("project.reviewed", #"{"score":6}"#, "data.score", "6 is greater than the maximum 5"),
        ("project.reviewed", #"{"reviewer_role":"manager"}"#, "data.reviewer_role", "must be one of mentor, peer, expert"),
        // position.opened
        ("position.opened", #"{"required_skills":["\#(String(repeating: "s", count: 151))"]}"#,
         "data.required_skills[0]", "length 151 is greater than the maximum 150"),
    ]

    static let piiFields: [String: [String]] = [
        "user.registered": ["email", "first_name", "last_name", "phone"],
        "profile.updated": ["linkedin_url", "github_url"],
        "employer.feedback": ["comments"],
    ]

    var registry: SchemaRegistry!

    override func setUpWithError() throws {
        registry = try SchemaRegistry(directory: try Self.schemaDirectory())
    }

    func testEveryCatalogTypeHasVersionOne() {
        XCTAssertEqual(registry.types, Self.catalogTypes.sorted())
        for type in Self.catalogTypes {
            XCTAssertEqual(registry.versions(of: type), [1], type)
        }
        XCTAssertEqual(Set(Self.validExamples.keys), Set(Self.catalogTypes))
        XCTAssertEqual(Set(Self.requiredFields.keys), Set(Self.catalogTypes))
    }

    func testValidExamplesAreAccepted() throws {
        for type in Self.catalogTypes {
            let data = try Self.object(Self.validExamples[type]!)
            XCTAssertNoThrow(try registry.validate(Self.envelope(type, data)), type)
        }
    }

    /// Required fields only (every optional one removed) is still valid.
    func testMinimalExamplesAreAccepted() throws {
        for type in Self.catalogTypes where type != "profile.updated" {
            var data = try Self.object(Self.validExamples[type]!)
            data.members.removeAll { !Self.requiredFields[type]!.contains($0.key) }
            XCTAssertEqual(data.count, Self.requiredFields[type]!.count, type)
            XCTAssertNoThrow(try registry.validate(Self.envelope(type, data)), type)
        }
    }

    /// Each required field, removed alone: `.schema` at data.<field>.
    func testMissingRequiredFieldsAreRejected() throws {
        var checked = 0
        for type in Self.catalogTypes {
            for field in Self.requiredFields[type]! {
                var data = try Self.object(Self.validExamples[type]!)
                data[field] = nil
                assertRejected(type, data, .schema, "data.\(field)", "required")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 66)
    }

    func testUnknownFieldIsRejectedForEveryType() throws {
        for type in Self.catalogTypes {
            var data = try Self.object(Self.validExamples[type]!)
            data["foo"] = 1
            assertRejected(type, data, .schema, "data", #"unknown field "foo""#)
        }
    }

    /// The first field, with a value of the wrong JSON type.
    func testWrongTypeIsRejectedForEveryType() throws {
        for type in Self.catalogTypes {
            var data = try Self.object(Self.validExamples[type]!)
            let first = data.members[0]
            let wrong: JSONValue = first.value.boolValue == nil ? .bool(true) : .string("true")
            data[first.key] = wrong
            do {
                try registry.validate(Self.envelope(type, data))
                XCTFail("\(type).\(first.key) = \(wrong.compactString) was accepted")
            } catch {
                XCTAssertEqual(error.code, .schema, type)
                XCTAssertEqual(error.path, "data.\(first.key)", type)
            }
        }
    }

    func testRuleViolationsAreRejectedWithExactPathAndReason() throws {
        for c in Self.invalidCases {
            var data = try Self.object(Self.validExamples[c.type]!)
            for member in try Self.object(c.change).members {
                // `null` in a change removes the member (JSONValue is
                // ExpressibleByNilLiteral, so spell out Optional's none).
                data[member.key] = member.value.isNull ? Optional<JSONValue>.none : member.value
            }
            assertRejected(c.type, data, .schema, c.path, c.reason)
        }
        // Every type has at least one rule-specific case.
        XCTAssertEqual(Set(Self.invalidCases.map(\.type)), Set(Self.catalogTypes))
    }

    func testBoundaryValuesAreAccepted() throws {
        let cases: [(String, String)] = [
            ("skill.assessed", #"{"score":100}"#), ("skill.assessed", #"{"score":0}"#),
            ("skill.assessed", #"{"skill":"\#(String(repeating: "é", count: 150))"}"#),
            ("certification.earned", #"{"issued_on":"2024-02-29","expires_on":"2024-02-29"}"#),
            ("profile.updated", #"{"salary_expectation":{"min":5000,"max":5000,"currency":"JPY"}}"#),
            ("profile.updated", #"{"salary_expectation":{"min":5000.5,"max":5000.75,"currency":"XCG"}}"#),
            ("user.registered", #"{"location":{"timezone":"Asia/Calcutta","country":"IN"}}"#),
            ("user.registered", #"{"location":{"timezone":"Etc/GMT+1"}}"#),
            ("user.registered", #"{"location":{}}"#),
            ("learning.progressed", #"{"hours":0.01,"completion_percentage":100}"#),
            ("learning.completed", #"{"rating":1.0}"#),
            ("roadmap.created", #"{"duration_weeks":520}"#),
            ("mentorship.session_held", #"{"duration_minutes":600}"#),
            ("mentor.registered", #"{"max_mentees":1,"years_experience":60}"#),
        ]
        for (type, change) in cases {
            var data = try Self.object(Self.validExamples[type]!)
            for member in try Self.object(change).members { data[member.key] = member.value }
            XCTAssertNoThrow(try registry.validate(Self.envelope(type, data)), "\(type) \(change)")
        }
        var tasks: [JSONValue] = []
        for _ in 0..<1000 { tasks.append(["title": "t"]) }
        var data = try Self.object(Self.validExamples["roadmap.created"]!)
        data["tasks"] = .array(tasks)
        XCTAssertNoThrow(try registry.validate(Self.envelope("roadmap.created", data)))
        tasks.append(["title": "t"])
        data["tasks"] = .array(tasks)
        assertRejected("roadmap.created", data, .schema, "data.tasks", "has 1001 items, more than the maximum 1000")
    }

    func testEmptyProfileUpdateIsRejected() {
        assertRejected("profile.updated", JSONObject(), .schema, "data", "has 0 fields, fewer than the minimum 1")
    }

    func testUnknownTypeAndVersion() throws {
        let data = try Self.object(Self.validExamples["goal.achieved"]!)
        assertRejected("goal.lost", data, .unknownType, "type",
                       "unknown event type (the 27 known types are in EventSchemas/README.md)")
        assertRejected("goal.achieved", data, .schema, "dataversion", "goal.achieved has no dataversion 2 (known: 1)",
                       version: 2)
        assertRejected("goal.achieved", data, .schema, "dataversion", "goal.achieved has no dataversion 0 (known: 1)",
                       version: 0)
    }

    func testErrorsCarryTheEventID() throws {
        let envelope = Self.envelope("goal.achieved", JSONObject())
        XCTAssertThrowsError(try registry.validate(envelope)) { error in
            XCTAssertEqual((error as? EventError)?.id, UUIDText.string(envelope.id))
            XCTAssertEqual((error as? EventError)?.description, "data.goal_id: required")
        }
    }

    func testPIIFields() {
        for type in Self.catalogTypes {
            XCTAssertEqual(registry.piiFields(type: type, version: 1), Self.piiFields[type] ?? [], type)
        }
        XCTAssertEqual(registry.piiFields(type: "user.registered", version: 2), [])
        XCTAssertEqual(registry.piiFields(type: "nope", version: 1), [])
    }

    /// Messages never echo string values, which may be personal data.
    func testMessagesDoNotEchoStrings() throws {
        var data = try Self.object(Self.validExamples["user.registered"]!)
        data["email"] = "secret-person@@example.com"
        do {
            try registry.validate(Self.envelope("user.registered", data))
            XCTFail("accepted")
        } catch {
            XCTAssertFalse(error.description.contains("secret-person"), error.description)
        }
    }

    // MARK: Helpers

    func assertRejected(
        _ type: String, _ data: JSONObject, _ code: EventError.Code, _ path: String, _ reason: String,
        version: Int = 1, file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            try registry.validate(Self.envelope(type, data, version: version))
            XCTFail("\(type) \(JSONValue.object(data).compactString.prefix(200)) was accepted", file: file, line: line)
        } catch {
            XCTAssertEqual(error.code, code, "\(type) \(path)", file: file, line: line)
            XCTAssertEqual(error.path, path, "\(type): \(error)", file: file, line: line)
            XCTAssertEqual(error.reason, reason, "\(type) \(path)", file: file, line: line)
        }
    }

    static func envelope(_ type: String, _ data: JSONObject, version: Int = 1) -> Envelope {
        Envelope(id: UUID(), source: "catalog-tests", type: type, dataVersion: version, subject: UUID(),
                 time: Timestamp(seconds: 1_714_564_800), data: data)
    }

    static func object(_ json: String) throws -> JSONObject {
        guard case .object(let object) = try JSONParser.parse(json) else { throw CatalogFixtureError("not a JSON object: \(json)") }
        return object
    }

    /// `EventSchemas/` of this package: from this file's path (three levels
    /// up is the package root), else the registry's own search.
    static func schemaDirectory(file: String = #filePath) throws -> String {
        let root = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidate = root.appendingPathComponent("EventSchemas").path
        if FileManager.default.fileExists(atPath: candidate + "/defs.json") { return candidate }
        if let found = SchemaRegistry.bundledDirectory() { return found }
        throw CatalogFixtureError("EventSchemas/ not found from \(file) or next to the executable")
    }
}

/// Values JSON allows but the read models' PostgreSQL cannot hold are
/// refused at the door, not discovered by the projector.
final class PostgresSafetyTests: XCTestCase {
    private func registry() throws -> SchemaRegistry {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try SchemaRegistry(directory: root.appendingPathComponent("EventSchemas").path)
    }

    private func line(_ data: String, time: String = "2024-03-01T10:00:00Z", source: String = "careerforge-api") -> String {
        #"{"id":"4b0d2c3e-8f1a-4c5b-9d6e-7f8091a2b3c4","source":"\#(source)","type":"certification.earned","subject":"0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b","time":"\#(time)","data":\#(data)}"#
    }

    func testNULCharactersAndYearZeroAreRejectedWithTheirPath() throws {
        let registry = try registry()
        func check(_ text: String) -> EventError? {
            do {
                try registry.validate(try Envelope.decode(line: Array(text.utf8)))
                return nil
            } catch { return error }
        }
        XCTAssertNil(check(line(#"{"name":"AWS SA","issuer":"Amazon","issued_on":"2024-01-05"}"#)))
        let nul = check(line(#"{"name":"AWS\u0000SA","issuer":"Amazon","issued_on":"2024-01-05"}"#))
        XCTAssertEqual(nul?.code, .schema)
        XCTAssertEqual(nul?.path, "data.name")
        let yearZero = check(line(#"{"name":"AWS SA","issuer":"Amazon","issued_on":"0000-01-05"}"#))
        XCTAssertEqual(yearZero?.path, "data.issued_on")
        XCTAssertEqual(check(line(#"{"name":"A","issuer":"B","issued_on":"2024-01-05"}"#, time: "0000-03-01T10:00:00Z"))?.path, "time")
        XCTAssertEqual(check(line(#"{"name":"A","issuer":"B","issued_on":"2024-01-05"}"#, source: #"a\u0000b"#))?.path, "source")
        let nested = line(#"{"cv_id":"5bd8a5ec-a996-4704-bf75-92a69f41bb99","skills":["Swift","Go\u0000"]}"#)
            .replacingOccurrences(of: "certification.earned", with: "cv.parsed")
        XCTAssertEqual(check(nested)?.path, "data.skills[1]")
    }
}

/// A fixture the test itself relies on is missing or malformed: a failure,
/// never a skip (a test that cannot check anything must not pass).
struct CatalogFixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
