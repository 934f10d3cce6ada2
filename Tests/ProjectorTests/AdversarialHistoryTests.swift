import CareerEvents
import EventLog
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Projector

/// A hand-written history that is hard on the read models (events out of
/// order, repeated keys, erasure before and after PII) with the rows every
/// projection must hold for it, checked on builds through the real
/// `BatchApplier` cut into different batches: all in one, one event per
/// batch, and two random splits with every batch applied twice.
final class AdversarialHistoryTests: XCTestCase {
    /// `hours` after 2023-11-14T22:13:20Z.
    private static func at(_ hours: Double) -> String {
        Timestamp(seconds: 1_700_000_000 + Int64(hours * 3600)).rfc3339
    }

    static func history() -> EventScript {
        var s = EventScript()
        func a(_ type: String, _ subject: String, _ hours: Double, _ data: String) { s.add(type, subject, at(hours), data) }
        // people: profile before registration, partial updates, re-registration
        a("profile.updated", "u1", 1, #""current_role":"Analyst","linkedin_url":"https://l.example/u1""#)
        a("profile.updated", "u1", 2, #""industry":"Finance","career_goals":["a","b"]"#)
        a("user.registered", "u1", 3, #""email":"u1@example.com","first_name":"Ann","last_name":"One","platform":"careerforge","location":{"city":"Oslo","country":"NO"}"#)
        a("profile.updated", "u1", 4, #""current_role":"Engineer","salary_expectation":{"min":1,"max":2,"currency":"EUR"}"#)
        a("user.registered", "u1", 0.5, #""email":"u1b@example.com","first_name":"Anne","last_name":"One","platform":"talenthub""#)
        // erasure: PII before, erasure, PII after, second erasure
        a("user.registered", "u2", 1, #""email":"u2@example.com","first_name":"Bo","last_name":"Two","phone":"+4712345678","platform":"careerforge""#)
        a("profile.updated", "u2", 2, #""linkedin_url":"https://l.example/u2","target_role":"CTO""#)
        a("employer.feedback", "u2", 2.5, #""employer":"Acme","rating":4,"would_hire_again":true,"comments":"great before""#)
        a("user.erased", "u2", 3, #""reason":"request""#)
        a("profile.updated", "u2", 4, #""github_url":"https://g.example/u2","current_company":"X""#)
        a("user.registered", "u2", 5, #""email":"u2-again@example.com","first_name":"Bo","last_name":"Two","platform":"careerforge""#)
        a("employer.feedback", "u2", 6, #""employer":"Acme","rating":5,"would_hire_again":true,"comments":"great after""#)
        a("user.erased", "u2", 7, #""reason":"again""#)
        // erased before ever registering
        a("user.erased", "u3", 1, #""reason":"pre""#)
        a("user.registered", "u3", 2, #""email":"u3@example.com","first_name":"Cy","last_name":"Three","platform":"talenthub""#)
        a("profile.updated", "u3", 3, #""linkedin_url":"https://l.example/u3""#)
        // skills: CV first, assessment overrides, later CV only adds new skills
        a("cv.parsed", "u1", 5, #""cv_id":@cv1,"skills":["Python","SQL","Python"]"#)
        a("skill.assessed", "u1", 6, #""skill":"Python","category":"technical","level":"advanced","score":80,"source":"assessment","verified":true,"assessor_id":@m1"#)
        a("cv.parsed", "u1", 7, #""cv_id":@cv2,"skills":["Python","Go"]"#)
        a("skill.assessed", "u4", 1, #""skill":"Rust","category":"technical","level":"expert","source":"manual""#)
        a("cv.parsed", "u4", 2, #""cv_id":@cv3,"skills":["Rust","Java"]"#)
        a("cv.parsed", "u4", 3, #""cv_id":@cv3,"skills":["Java","Kotlin"],"experience":[{"title":"Dev","company":"Y","months":12}]"#)
        a("skill.assessed", "u4", 4, #""skill":"Java","category":"soft","level":"intermediate","source":"mentor""#)
        a("skill.assessed", "u4", 5, #""skill":"Kotlin","category":"technical","level":"advanced","score":70,"source":"github""#)
        // learning: progress and completion before start, progress after completion
        a("learning.progressed", "u1", 1, #""activity_id":@act1,"completion_percentage":30,"hours":2"#)
        a("learning.completed", "u1", 2, #""activity_id":@act1,"hours":1.5,"rating":4"#)
        a("learning.started", "u1", 0.5, #""activity_id":@act1,"activity_type":"course","title":"SQL 101","skills_targeted":["SQL"],"cost":{"amount":99.5,"currency":"USD"}"#)
        a("learning.progressed", "u1", 3, #""activity_id":@act1,"completion_percentage":50,"hours":1"#)
        a("learning.started", "u4", 1, #""activity_id":@act2,"activity_type":"reading","title":"Old""#)
        a("learning.progressed", "u4", 2, #""activity_id":@act2,"completion_percentage":40,"hours":3"#)
        a("learning.started", "u4", 3, #""activity_id":@act2,"activity_type":"reading","title":"New""#)
        a("learning.progressed", "u4", 4, #""activity_id":@act2,"completion_percentage":60.5,"hours":0.5"#)
        a("learning.progressed", "u4", 4.5, #""activity_id":@act3,"completion_percentage":25,"hours":1"#)
        a("certification.earned", "u4", 5, #""name":"CKA","issuer":"CNCF","issued_on":"2024-01-02","expires_on":"2027-01-02""#)
        // roadmaps: completion before creation, re-creation with fewer tasks
        a("task.completed", "u1", 1, #""roadmap_id":@rm1,"task_id":@t2,"actual_hours":5"#)
        a("roadmap.created", "u1", 2, #""roadmap_id":@rm1,"title":"Data","duration_weeks":10,"tasks":[{"task_id":@t1,"phase":1,"week":1,"title":"A","type":"course","estimated_hours":3},{"task_id":@t2,"phase":1,"week":2,"title":"B","type":"project","estimated_hours":4},{"task_id":@t3,"phase":2,"week":3,"title":"C","type":"reading"},{"phase":2,"week":4,"title":"no id"}]"#)
        a("task.completed", "u1", 3, #""roadmap_id":@rm1,"task_id":@t1"#)
        a("task.completed", "u1", 4, #""roadmap_id":@rm1,"task_id":@t1,"actual_hours":2"#)
        a("roadmap.created", "u1", 5, #""roadmap_id":@rm1,"title":"Data v2","duration_weeks":8,"tasks":[{"task_id":@t2,"phase":1,"week":1,"title":"B","type":"project"},{"task_id":@t1,"phase":1,"week":2,"title":"A","type":"course"}]"#)
        a("goal.achieved", "u1", 1, #""goal_id":@g1"#)
        a("goal.set", "u1", 0.5, #""goal_id":@g1,"title":"Get a job","kind":"role","priority":"high","target_date":"2025-01-01""#)
        a("goal.set", "u1", 2, #""goal_id":@g2,"title":"Learn Go""#)
        // programs: a later event with an earlier time is the first enrollment; a tie keeps the lower seq
        a("program.enrolled", "u1", 10, #""program":"P-late","cohort":"2024-02","target_industry":"Tech","target_role":"Dev","baseline_salary":{"amount":1000,"currency":"EUR"}"#)
        a("program.enrolled", "u1", 5, #""program":"P-first","cohort":"2024-01","target_industry":"Tech","target_role":"Dev","baseline_salary":{"amount":0,"currency":"EUR"}"#)
        a("program.enrolled", "u1", 5, #""program":"P-tie","cohort":"2024-01","target_industry":"Tech","target_role":"Dev","baseline_salary":{"amount":0,"currency":"EUR"}"#)
        a("interview.practiced", "u1", 6, #""kind":"mock","score":77.5"#)
        // jobsearch: advance before sent, sent twice, advance of a never-sent application
        a("application.advanced", "u1", 1, #""application_id":@app1,"stage":"screening""#)
        a("application.sent", "u1", 2, #""application_id":@app1,"company":"Late Co","position":"Dev""#)
        a("application.sent", "u1", 0.5, #""application_id":@app1,"company":"Early Co","position":"Dev","channel":"referral""#)
        a("application.advanced", "u1", 3, #""application_id":@app1,"stage":"offer""#)
        a("application.advanced", "u1", 4, #""application_id":@app-never,"stage":"interview""#)
        a("application.sent", "u4", 1, #""application_id":@app2,"company":"Z","position":"QA""#)
        a("placement.recorded", "u1", 5, #""application_id":@app1,"company":"Early Co","role":"Dev","salary":{"amount":50000,"currency":"EUR"},"employment_type":"full-time","start_date":"2024-05-01""#)
        a("milestone.achieved", "u1", 6, #""milestone_type":"promotion","title":"Lead","salary_increase":{"amount":5000,"currency":"EUR"}"#)
        a("position.opened", "r1", 1, #""position_id":@pos1,"organization":"Org","title":"Old","required_skills":["SQL"]"#)
        a("position.opened", "r1", 2, #""position_id":@pos1,"organization":"Org","title":"New""#)
        // mentorship: session and ending before the start; two starts, the later-logged one earlier in time
        a("mentor.registered", "m1", 0, #""expertise":["Go"],"industry":"Tech","years_experience":10,"max_mentees":3"#)
        a("mentorship.session_held", "u1", 2, #""mentorship_id":@ms1,"duration_minutes":60,"mentee_rating":5"#)
        a("mentorship.ended", "u1", 9, #""mentorship_id":@ms1,"outcome":"cancelled""#)
        a("mentorship.started", "u1", 1, #""mentorship_id":@ms1,"mentor_id":@m2,"goals":["x"]"#)
        a("mentorship.started", "u1", 0.5, #""mentorship_id":@ms1,"mentor_id":@m1"#)
        a("mentorship.session_held", "u1", 3, #""mentorship_id":@ms1,"duration_minutes":30,"topic":"t""#)
        a("mentorship.ended", "u1", 10, #""mentorship_id":@ms1,"outcome":"completed""#)
        a("mentorship.session_held", "u4", 3, #""mentorship_id":@ms-never,"duration_minutes":45"#)
        a("mentorship.started", "u4", 4, #""mentorship_id":@ms2,"mentor_id":@m1"#)
        // portfolio: review before the project, project added twice
        a("project.reviewed", "u1", 1, #""project_id":@p1,"reviewer_role":"peer","score":3,"showcase_ready":false"#)
        a("portfolio.project_added", "u1", 2, #""project_id":@p1,"title":"Old","technologies":["Go"]"#)
        a("portfolio.project_added", "u1", 3, #""project_id":@p1,"title":"New","url":"https://example.com/p1""#)
        a("project.reviewed", "u1", 4, #""project_id":@p1,"reviewer_role":"mentor","score":5,"reviewer_id":@m1"#)
        return s
    }

    /// (projection, what, SQL giving one boolean; `{s}` = the schema).
    static func expectations(_ s: inout EventScript) -> [(String, String, String)] {
        func u(_ name: String) -> String { s.text(name) }
        let u2 = s.id("u2")
        let lastErasureOfU2 = s.events.lastIndex { $0.type == "user.erased" && $0.subject == u2 }! + 1
        return [
            ("people", "profile merges partial updates in seq order",
             "SELECT current_job_title = 'Engineer' AND industry = 'Finance' AND career_goals = '{a,b}' AND linkedin_url = 'https://l.example/u1' AND salary_expectation_currency = 'EUR' FROM {s}.profiles WHERE user_id = '\(u("u1"))'"),
            ("people", "latest user.registered by seq wins",
             "SELECT email = 'u1b@example.com' AND platform = 'talenthub' AND city IS NULL FROM {s}.users WHERE user_id = '\(u("u1"))'"),
            ("people", "erased user has no PII, non-PII kept",
             "SELECT email IS NULL AND first_name IS NULL AND last_name IS NULL AND phone IS NULL AND platform = 'careerforge' FROM {s}.users WHERE user_id = '\(u("u2"))'"),
            ("people", "erased profile has no PII, later non-PII kept",
             "SELECT linkedin_url IS NULL AND github_url IS NULL AND current_company = 'X' AND target_role = 'CTO' FROM {s}.profiles WHERE user_id = '\(u("u2"))'"),
            ("people", "erasure before registration: PII never written",
             "SELECT (SELECT email IS NULL AND first_name IS NULL FROM {s}.users WHERE user_id = '\(u("u3"))') AND (SELECT linkedin_url IS NULL FROM {s}.profiles WHERE user_id = '\(u("u3"))')"),
            ("people", "erasures keeps the first erasure; the rows' seq is the last erasure",
             "SELECT (SELECT reason = 'request' FROM {s}.erasures WHERE user_id = '\(u("u2"))') AND (SELECT seq = \(lastErasureOfU2) FROM {s}.users WHERE user_id = '\(u("u2"))') AND (SELECT seq = \(lastErasureOfU2) FROM {s}.profiles WHERE user_id = '\(u("u2"))')"),
            ("jobsearch", "feedback comments erased, before and after erasure",
             "SELECT count(*) = 2 AND bool_and(comments IS NULL) FROM {s}.employer_feedback WHERE user_id = '\(u("u2"))'"),
            ("skills", "CV skill counts once, assessment overrides, later CV adds only new skills",
             "SELECT string_agg(skill || ':' || source || ':' || level, ',' ORDER BY skill) = 'Go:cv:beginner,Python:assessment:advanced,SQL:cv:beginner' FROM {s}.user_skills WHERE user_id = '\(u("u1"))'"),
            ("skills", "history: CV rows only for skills the user lacked",
             "SELECT string_agg(skill || ':' || source, ',' ORDER BY seq, skill) = 'Python:cv,SQL:cv,Python:assessment,Go:cv' FROM {s}.skill_assessments WHERE user_id = '\(u("u1"))'"),
            ("skills", "CV does not count a skill already assessed; first CV wins",
             "SELECT string_agg(skill || ':' || source || ':' || level, ',' ORDER BY skill) = 'Java:mentor:intermediate,Kotlin:github:advanced,Rust:manual:expert' FROM {s}.user_skills WHERE user_id = '\(u("u4"))'"),
            ("skills", "u4 history has Java and Kotlin from CVs once each",
             "SELECT count(*) FILTER (WHERE source = 'cv') = 2 AND count(*) = 5 FROM {s}.skill_assessments WHERE user_id = '\(u("u4"))'"),
            ("skills", "catalog category from the latest assessment; CV-only skills have none",
             "SELECT (SELECT category FROM {s}.skills WHERE name = 'Java') = 'soft' AND (SELECT category FROM {s}.skills WHERE name = 'SQL') IS NULL AND (SELECT count(*) FROM {s}.skills) = 6"),
            ("skills", "cv_parses: latest parse of a cv_id",
             "SELECT skills = '{Java,Kotlin}' AND experience = '[{\"title\":\"Dev\",\"company\":\"Y\",\"months\":12}]'::jsonb FROM {s}.cv_parses WHERE cv_id = '\(u("cv3"))'"),
            ("learning", "activity started after its progress and completion is completed",
             "SELECT status = 'completed' AND completion_percentage = 100 AND rating = 4 AND title = 'SQL 101' AND cost_amount = 99.5 FROM {s}.learning_activities WHERE activity_id = '\(u("act1"))'"),
            ("learning", "hours_logged sums progress and completion hours, in any order",
             "SELECT hours_logged = 4.5 FROM {s}.learning_activities WHERE activity_id = '\(u("act1"))'"),
            ("learning", "an activity only progressed so far has a row without its start",
             "SELECT started_at IS NULL AND title IS NULL AND completion_percentage = 25 AND hours_logged = 1 FROM {s}.learning_activities WHERE activity_id = '\(u("act3"))'"),
            ("learning", "re-started activity keeps latest start and latest progress",
             "SELECT title = 'New' AND status = 'in_progress' AND completion_percentage = 60.5 FROM {s}.learning_activities WHERE activity_id = '\(u("act2"))'"),
            ("roadmaps", "re-created roadmap has the new tasks, completions from any time",
             "SELECT string_agg(ordinal || ':' || title || ':' || COALESCE(actual_hours::text, '-'), ',' ORDER BY ordinal) = '1:B:5,2:A:2' FROM {s}.roadmap_tasks WHERE roadmap_id = '\(u("rm1"))'"),
            ("roadmaps", "roadmap_progress view",
             "SELECT tasks_total = 2 AND tasks_completed = 2 FROM {s}.roadmap_progress WHERE roadmap_id = '\(u("rm1"))'"),
            ("roadmaps", "goal achieved before set",
             "SELECT status = 'achieved' AND achieved_at IS NOT NULL AND priority = 'high' FROM {s}.goals WHERE goal_id = '\(u("g1"))'"),
            ("programs", "first enrollment by time, ties by seq",
             "SELECT program = 'P-first' AND cohort = '2024-01' FROM {s}.enrollments WHERE user_id = '\(u("u1"))'"),
            ("jobsearch", "application: first sent by time, stage from the latest advance in any order",
             "SELECT company = 'Early Co' AND channel = 'referral' AND current_stage = 'offer' FROM {s}.applications WHERE application_id = '\(u("app1"))'"),
            ("jobsearch", "never-sent application has no row; its advance is kept",
             "SELECT NOT EXISTS (SELECT 1 FROM {s}.applications WHERE application_id = '\(u("app-never"))') AND EXISTS (SELECT 1 FROM {s}.application_stages WHERE application_id = '\(u("app-never"))')"),
            ("jobsearch", "application without advances is 'applied'",
             "SELECT current_stage = 'applied' FROM {s}.applications WHERE application_id = '\(u("app2"))'"),
            ("jobsearch", "position: latest opening",
             "SELECT title = 'New' AND required_skills IS NULL FROM {s}.positions WHERE position_id = '\(u("pos1"))'"),
            ("mentorship", "mentorship belongs to the mentor of its first start by time; latest ending",
             "SELECT mentor_id = '\(u("m1"))' AND goals IS NULL AND status = 'ended' AND outcome = 'completed' FROM {s}.mentorships WHERE mentorship_id = '\(u("ms1"))'"),
            ("mentorship", "sessions attach by mentorship_id, also those held before the start",
             "SELECT sessions = 2 AND hours = 1.5 FROM {s}.mentorship_stats WHERE mentorship_id = '\(u("ms1"))'"),
            ("mentorship", "mentor stats ignore sessions of never-started mentorships",
             "SELECT mentees = 2 AND mentorships = 2 AND sessions = 2 FROM {s}.mentor_stats WHERE mentor_id = '\(u("m1"))'"),
            ("mentorship", "mentor named only by a later start is not listed",
             "SELECT NOT EXISTS (SELECT 1 FROM {s}.mentor_stats WHERE mentor_id = '\(u("m2"))')"),
            ("portfolio", "project: latest addition; reviews in any order",
             "SELECT p.title = 'New' AND s.reviews = 2 AND s.average_score = 4 AND s.showcase_ready = false FROM {s}.portfolio_projects p JOIN {s}.project_review_stats s USING (project_id) WHERE project_id = '\(u("p1"))'"),
        ]
    }

    func testEveryProjectionHoldsTheExpectedRowsWhateverTheBatches() throws {
        var script = Self.history()
        let expectations = Self.expectations(&script)
        let records = try BatchSplitTests.records(script.events)
        var random = SplitMix(seed: 3)
        let splits: [(String, [Int], Bool)] = [
            ("one batch", [records.count], false),
            ("one event per batch", Array(repeating: 1, count: records.count), false),
            ("random, twice", Self.randomSizes(records.count, &random), true),
            ("random, twice", Self.randomSizes(records.count, &random), true),
        ]
        var reference: [String: [String: String]]?
        for (label, sizes, twice) in splits {
            let (digests, connection) = try BatchSplitTests.buildKeepingDatabase(records, sizes: sizes, twice: twice)
            for (projection, what, sql) in expectations {
                let holds = try connection.query(sql.replacingOccurrences(of: "{s}", with: projection)).first?[0]
                XCTAssertEqual(holds, "t", "\(projection): \(what) (\(label))")
            }
            if let reference { XCTAssertEqual(digests, reference, label) } else { reference = digests }
        }
    }

    private static func randomSizes(_ count: Int, _ random: inout SplitMix) -> [Int] {
        var sizes: [Int] = []
        var left = count
        while left > 0 {
            let size = min(left, 1 + Int(random.next() % 12))
            sizes.append(size)
            left -= size
        }
        return sizes
    }
}
