#!/usr/bin/env python3
"""Batch-boundary invariance check for the read models in Projections/.

Loads events into a scratch PostgreSQL database, builds every projection
several times from the same events, each time cutting the event sequence
into different consecutive batches (one batch for everything, random sizes
including 1, one event per batch, every batch applied twice), and compares an
md5 digest of every table and view of each projection. It drives `psql`
(no Python driver needed) the way the projector does: per batch the events
go into a temp table `batch_events_all`, then each projection runs its
`apply.sql` in one transaction against the temp view `batch_events`.

Usage:
  Tools/projection-sql-check.py --db URL_OR_CONNINFO [options] [EVENTS.ndjson]

  EVENTS.ndjson  `careerlog log dump` output (seq and recorded used as they
                 are) or plain envelopes (seq assigned in line order).
  --adversarial  use the built-in adversarial sequence (out-of-order events,
                 repeated keys, erasure then PII) and also check expected rows.
  --only a,b     only these projections (default: every folder with apply.sql)
  --runs N       random splits to compare (default 3)
  --singles N    also apply the first N events one per batch (default 1500;
                 0 = off; the adversarial sequence always goes one by one)
  --seed S       random seed (default 1)
  --scramble     make the events harder first: shuffled within windows of
                 300, 3% re-sent later under a new id, 2% of the subjects
                 erased at random places (seq renumbered)
  --timing B     also time apply.sql per projection over a rebuild in
                 batches of B events (e.g. 20000), printed as ms per batch
                 (each batch's transaction, COMMIT included)
  --repeat R     time R rebuilds and report each projection's fastest
  --timing-only  skip the comparisons
  --sync-commit on|off  synchronous_commit of the applying session
  --keep         keep the scratch database (its name is printed)
  --emit-adversarial  print the adversarial sequence as NDJSON envelopes
                 (e.g. for `careerlog log import`) and exit

The database given by --db (or $DATABASE_URL, else libpq's PG* variables)
is only used to create and drop a scratch database `projcheck_<pid>`.
Exit status: 0 when every digest matches (and every expectation holds),
1 on a mismatch, 2 on a usage or SQL error.
"""

import argparse
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CheckError(Exception):
    pass


def with_dbname(conn, dbname):
    """The connection string `conn` pointed at database `dbname`."""
    if conn.startswith(("postgres://", "postgresql://")):
        parts = urllib.parse.urlsplit(conn)
        return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))
    return (conn + " " if conn else "") + "dbname=" + dbname


def psql(conn, sql=None, file=None, quiet=True):
    """Runs psql; returns stdout lines (tuples only, unaligned)."""
    cmd = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t"]
    if quiet:
        cmd.append("-q")
    if conn:
        cmd += ["-d", conn]
    if file is not None:
        cmd += ["-f", str(file)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    else:
        proc = subprocess.run(cmd, input=sql, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CheckError("psql failed:\n" + proc.stderr.strip()[-4000:])
    return [line for line in proc.stdout.splitlines()]


def load_projections(directory, only):
    projections = []
    for folder in sorted(Path(directory).iterdir()):
        if not (folder / "apply.sql").is_file():
            continue
        if only and folder.name not in only:
            continue
        version = (folder / "version").read_text().strip()
        if not version.isdigit() or int(version) < 1:
            raise CheckError(f"{folder}/version: must be a positive integer, found {version!r}")
        projections.append({
            "name": folder.name,
            "schema_sql": (folder / "schema.sql").read_text(),
            "apply_sql": (folder / "apply.sql").read_text(),
        })
    if only:
        missing = set(only) - {p["name"] for p in projections}
        if missing:
            raise CheckError("no such projection: " + ", ".join(sorted(missing)))
    if not projections:
        raise CheckError(f"no projections in {directory}")
    return projections


def render(sql, schema):
    return sql.replace("{{schema}}", '"' + schema.replace('"', '""') + '"')


# --------------------------------------------------------------------------
# Events


def read_events(path):
    """NDJSON lines as dicts with seq and recorded."""
    events = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            events.append(json.loads(line))
    if events and "seq" not in events[0]:
        for i, e in enumerate(events, 1):
            e["seq"] = i
            e.setdefault("recorded", "2026-01-01T00:00:00Z")
    return events


def scramble(events, rng):
    """A harder sequence from a realistic one: events shuffled within windows
    of 300 (so updates arrive before what they update), 3% re-sent later
    with a new id, half of them with another time (repeated keys, "first by
    time" that is not first by seq), and erasures of 2% of the subjects at
    random places (PII before and after them). seq renumbered."""
    out = []
    window = 300
    for i in range(0, len(events), window):
        chunk = events[i:i + window]
        rng.shuffle(chunk)
        out.extend(chunk)
    for e in rng.sample(events, len(events) * 3 // 100):
        copy = dict(e, id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        if rng.random() < 0.5:  # re-sent with another time: earlier or later, sometimes equal
            t = datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
            t += datetime.timedelta(seconds=rng.choice([0, -1, 1]) * rng.randint(0, 5 * 86400))
            copy["time"] = t.isoformat()
        out.insert(rng.randrange(len(out) + 1), copy)
    subjects = sorted({e["subject"] for e in events})
    for subject in rng.sample(subjects, max(1, len(subjects) // 50)):
        erase = {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "source": "check",
                 "type": "user.erased", "subject": subject, "time": events[0]["time"], "data": {"reason": "check"}}
        out.insert(rng.randrange(len(out) + 1), erase)
    for i, e in enumerate(out, 1):
        e["seq"] = i
        e.setdefault("recorded", "2026-01-01T00:00:00Z")
    return out


def write_copy_file(events, path):
    """One NDJSON line per event, loaded as jsonb with a CSV trick (no quote
    or delimiter character can appear raw in JSON text)."""
    with open(path, "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")


class Adversarial:
    """Hand-written sequences that arrive in surprising orders, with the rows
    they must produce (checked against every split)."""

    def __init__(self):
        self.events = []
        self.t0 = 1_700_000_000

    @staticmethod
    def uid(name):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "careerlog-check/" + name))

    def ts(self, hours):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.t0 + int(hours * 3600)))

    def add(self, type_, subject, hours, data, event_id=None):
        self.events.append({
            "id": event_id or str(uuid.uuid4()), "source": "check", "type": type_,
            "subject": self.uid(subject), "time": self.ts(hours), "data": data,
        })

    def build(self):
        u, a = self.uid, self.add
        # people: profile before registration, partial updates, re-registration
        a("profile.updated", "u1", 1, {"current_role": "Analyst", "linkedin_url": "https://l.example/u1"})
        a("profile.updated", "u1", 2, {"industry": "Finance", "career_goals": ["a", "b"]})
        a("user.registered", "u1", 3, {"email": "u1@example.com", "first_name": "Ann", "last_name": "One",
                                       "platform": "careerforge", "location": {"city": "Oslo", "country": "NO"}})
        a("profile.updated", "u1", 4, {"current_role": "Engineer",
                                       "salary_expectation": {"min": 1, "max": 2, "currency": "EUR"}})
        a("user.registered", "u1", 0.5, {"email": "u1b@example.com", "first_name": "Anne", "last_name": "One",
                                         "platform": "talenthub"})
        # erasure: PII before, erasure, PII after, second erasure
        a("user.registered", "u2", 1, {"email": "u2@example.com", "first_name": "Bo", "last_name": "Two",
                                       "phone": "+4712345678", "platform": "careerforge"})
        a("profile.updated", "u2", 2, {"linkedin_url": "https://l.example/u2", "target_role": "CTO"})
        a("employer.feedback", "u2", 2.5, {"employer": "Acme", "rating": 4, "would_hire_again": True,
                                           "comments": "great before"})
        a("user.erased", "u2", 3, {"reason": "request"})
        a("profile.updated", "u2", 4, {"github_url": "https://g.example/u2", "current_company": "X"})
        a("user.registered", "u2", 5, {"email": "u2-again@example.com", "first_name": "Bo", "last_name": "Two",
                                       "platform": "careerforge"})
        a("employer.feedback", "u2", 6, {"employer": "Acme", "rating": 5, "would_hire_again": True,
                                         "comments": "great after"})
        a("user.erased", "u2", 7, {"reason": "again"})
        # erased before ever registering
        a("user.erased", "u3", 1, {"reason": "pre"})
        a("user.registered", "u3", 2, {"email": "u3@example.com", "first_name": "Cy", "last_name": "Three",
                                       "platform": "talenthub"})
        a("profile.updated", "u3", 3, {"linkedin_url": "https://l.example/u3"})
        # skills: CV first, assessment overrides, later CV only adds new skills
        a("cv.parsed", "u1", 5, {"cv_id": u("cv1"), "skills": ["Python", "SQL", "Python"]})
        a("skill.assessed", "u1", 6, {"skill": "Python", "category": "technical", "level": "advanced",
                                      "score": 80, "source": "assessment", "verified": True,
                                      "assessor_id": u("m1")})
        a("cv.parsed", "u1", 7, {"cv_id": u("cv2"), "skills": ["Python", "Go"]})
        a("skill.assessed", "u4", 1, {"skill": "Rust", "category": "technical", "level": "expert", "source": "manual"})
        a("cv.parsed", "u4", 2, {"cv_id": u("cv3"), "skills": ["Rust", "Java"]})
        a("cv.parsed", "u4", 3, {"cv_id": u("cv3"), "skills": ["Java", "Kotlin"],
                                 "experience": [{"title": "Dev", "company": "Y", "months": 12}]})
        a("skill.assessed", "u4", 4, {"skill": "Java", "category": "soft", "level": "intermediate", "source": "mentor"})
        a("skill.assessed", "u4", 5, {"skill": "Kotlin", "category": "technical", "level": "advanced",
                                      "score": 70, "source": "github"})
        # learning: progress and completion before start, progress after completion
        a("learning.progressed", "u1", 1, {"activity_id": u("act1"), "completion_percentage": 30, "hours": 2})
        a("learning.completed", "u1", 2, {"activity_id": u("act1"), "hours": 1.5, "rating": 4})
        a("learning.started", "u1", 0.5, {"activity_id": u("act1"), "activity_type": "course", "title": "SQL 101",
                                          "skills_targeted": ["SQL"], "cost": {"amount": 99.5, "currency": "USD"}})
        a("learning.progressed", "u1", 3, {"activity_id": u("act1"), "completion_percentage": 50, "hours": 1})
        a("learning.started", "u4", 1, {"activity_id": u("act2"), "activity_type": "reading", "title": "Old"})
        a("learning.progressed", "u4", 2, {"activity_id": u("act2"), "completion_percentage": 40, "hours": 3})
        a("learning.started", "u4", 3, {"activity_id": u("act2"), "activity_type": "reading", "title": "New"})
        a("learning.progressed", "u4", 4, {"activity_id": u("act2"), "completion_percentage": 60.5, "hours": 0.5})
        a("learning.progressed", "u4", 4.5, {"activity_id": u("act3"), "completion_percentage": 25, "hours": 1})
        a("certification.earned", "u4", 5, {"name": "CKA", "issuer": "CNCF", "issued_on": "2024-01-02",
                                            "expires_on": "2027-01-02"})
        # roadmaps: completion before creation, re-creation with fewer tasks
        a("task.completed", "u1", 1, {"roadmap_id": u("rm1"), "task_id": u("t2"), "actual_hours": 5})
        a("roadmap.created", "u1", 2, {"roadmap_id": u("rm1"), "title": "Data", "duration_weeks": 10, "tasks": [
            {"task_id": u("t1"), "phase": 1, "week": 1, "title": "A", "type": "course", "estimated_hours": 3},
            {"task_id": u("t2"), "phase": 1, "week": 2, "title": "B", "type": "project", "estimated_hours": 4},
            {"task_id": u("t3"), "phase": 2, "week": 3, "title": "C", "type": "reading"},
            {"phase": 2, "week": 4, "title": "no id"}]})
        a("task.completed", "u1", 3, {"roadmap_id": u("rm1"), "task_id": u("t1")})
        a("task.completed", "u1", 4, {"roadmap_id": u("rm1"), "task_id": u("t1"), "actual_hours": 2})
        a("roadmap.created", "u1", 5, {"roadmap_id": u("rm1"), "title": "Data v2", "duration_weeks": 8, "tasks": [
            {"task_id": u("t2"), "phase": 1, "week": 1, "title": "B", "type": "project"},
            {"task_id": u("t1"), "phase": 1, "week": 2, "title": "A", "type": "course"}]})
        a("goal.achieved", "u1", 1, {"goal_id": u("g1")})
        a("goal.set", "u1", 0.5, {"goal_id": u("g1"), "title": "Get a job", "kind": "role", "priority": "high",
                                  "target_date": "2025-01-01"})
        a("goal.set", "u1", 2, {"goal_id": u("g2"), "title": "Learn Go"})
        # programs: a later event with an earlier time is the first enrollment; a tie keeps the lower seq
        a("program.enrolled", "u1", 10, {"program": "P-late", "cohort": "2024-02", "target_industry": "Tech",
                                          "target_role": "Dev", "baseline_salary": {"amount": 1000, "currency": "EUR"}})
        a("program.enrolled", "u1", 5, {"program": "P-first", "cohort": "2024-01", "target_industry": "Tech",
                                         "target_role": "Dev", "baseline_salary": {"amount": 0, "currency": "EUR"}})
        a("program.enrolled", "u1", 5, {"program": "P-tie", "cohort": "2024-01", "target_industry": "Tech",
                                         "target_role": "Dev", "baseline_salary": {"amount": 0, "currency": "EUR"}})
        a("interview.practiced", "u1", 6, {"kind": "mock", "score": 77.5})
        # jobsearch: advance before sent, sent twice, advance of a never-sent application
        a("application.advanced", "u1", 1, {"application_id": u("app1"), "stage": "screening"})
        a("application.sent", "u1", 2, {"application_id": u("app1"), "company": "Late Co", "position": "Dev"})
        a("application.sent", "u1", 0.5, {"application_id": u("app1"), "company": "Early Co", "position": "Dev",
                                          "channel": "referral"})
        a("application.advanced", "u1", 3, {"application_id": u("app1"), "stage": "offer"})
        a("application.advanced", "u1", 4, {"application_id": u("app-never"), "stage": "interview"})
        a("application.sent", "u4", 1, {"application_id": u("app2"), "company": "Z", "position": "QA"})
        a("placement.recorded", "u1", 5, {"application_id": u("app1"), "company": "Early Co", "role": "Dev",
                                          "salary": {"amount": 50000, "currency": "EUR"},
                                          "employment_type": "full-time", "start_date": "2024-05-01"})
        a("milestone.achieved", "u1", 6, {"milestone_type": "promotion", "title": "Lead",
                                          "salary_increase": {"amount": 5000, "currency": "EUR"}})
        a("position.opened", "r1", 1, {"position_id": u("pos1"), "organization": "Org", "title": "Old",
                                       "required_skills": ["SQL"]})
        a("position.opened", "r1", 2, {"position_id": u("pos1"), "organization": "Org", "title": "New"})
        # mentorship: session and ending before the start; two starts, the later-logged one earlier in time
        a("mentor.registered", "m1", 0, {"expertise": ["Go"], "industry": "Tech", "years_experience": 10,
                                         "max_mentees": 3})
        a("mentorship.session_held", "u1", 2, {"mentorship_id": u("ms1"), "duration_minutes": 60, "mentee_rating": 5})
        a("mentorship.ended", "u1", 9, {"mentorship_id": u("ms1"), "outcome": "cancelled"})
        a("mentorship.started", "u1", 1, {"mentorship_id": u("ms1"), "mentor_id": u("m2"), "goals": ["x"]})
        a("mentorship.started", "u1", 0.5, {"mentorship_id": u("ms1"), "mentor_id": u("m1")})
        a("mentorship.session_held", "u1", 3, {"mentorship_id": u("ms1"), "duration_minutes": 30, "topic": "t"})
        a("mentorship.ended", "u1", 10, {"mentorship_id": u("ms1"), "outcome": "completed"})
        a("mentorship.session_held", "u4", 3, {"mentorship_id": u("ms-never"), "duration_minutes": 45})
        a("mentorship.started", "u4", 4, {"mentorship_id": u("ms2"), "mentor_id": u("m1")})
        # portfolio: review before the project, project added twice
        a("project.reviewed", "u1", 1, {"project_id": u("p1"), "reviewer_role": "peer", "score": 3,
                                        "showcase_ready": False})
        a("portfolio.project_added", "u1", 2, {"project_id": u("p1"), "title": "Old", "technologies": ["Go"]})
        a("portfolio.project_added", "u1", 3, {"project_id": u("p1"), "title": "New",
                                               "url": "https://example.com/p1"})
        a("project.reviewed", "u1", 4, {"project_id": u("p1"), "reviewer_role": "mentor", "score": 5,
                                        "reviewer_id": u("m1")})
        for i, e in enumerate(self.events, 1):
            e["seq"] = i
            e["recorded"] = "2026-01-01T00:00:00Z"
        return self.events

    def seq_of(self, type_, subject, index):
        """seq of the index-th event of this type and subject."""
        return [e["seq"] for e in self.events if e["type"] == type_ and e["subject"] == self.uid(subject)][index]

    def expectations(self):
        """(projection, description, SQL yielding one boolean; {s} = schema)."""
        u = self.uid
        return [
            ("people", "profile merges partial updates in seq order",
             f"SELECT current_job_title = 'Engineer' AND industry = 'Finance' AND career_goals = '{{a,b}}' "
             f"AND linkedin_url = 'https://l.example/u1' AND salary_expectation_currency = 'EUR' "
             f"FROM {{s}}.profiles WHERE user_id = '{u('u1')}'"),
            ("people", "latest user.registered by seq wins",
             f"SELECT email = 'u1b@example.com' AND platform = 'talenthub' AND city IS NULL "
             f"FROM {{s}}.users WHERE user_id = '{u('u1')}'"),
            ("people", "erased user has no PII, non-PII kept",
             f"SELECT email IS NULL AND first_name IS NULL AND last_name IS NULL AND phone IS NULL "
             f"AND platform = 'careerforge' FROM {{s}}.users WHERE user_id = '{u('u2')}'"),
            ("people", "erased profile has no PII, later non-PII kept",
             f"SELECT linkedin_url IS NULL AND github_url IS NULL AND current_company = 'X' AND target_role = 'CTO' "
             f"FROM {{s}}.profiles WHERE user_id = '{u('u2')}'"),
            ("people", "erasure before registration: PII never written",
             f"SELECT (SELECT email IS NULL AND first_name IS NULL FROM {{s}}.users WHERE user_id = '{u('u3')}') "
             f"AND (SELECT linkedin_url IS NULL FROM {{s}}.profiles WHERE user_id = '{u('u3')}')"),
            ("people", "erasures keeps the first erasure; the rows' seq is the last erasure",
             f"SELECT (SELECT reason = 'request' FROM {{s}}.erasures WHERE user_id = '{u('u2')}') "
             f"AND (SELECT seq = {self.seq_of('user.erased', 'u2', -1)} FROM {{s}}.users WHERE user_id = '{u('u2')}') "
             f"AND (SELECT seq = {self.seq_of('user.erased', 'u2', -1)} FROM {{s}}.profiles WHERE user_id = '{u('u2')}')"),
            ("jobsearch", "feedback comments erased, before and after erasure",
             f"SELECT count(*) = 2 AND bool_and(comments IS NULL) FROM {{s}}.employer_feedback "
             f"WHERE user_id = '{u('u2')}'"),
            ("skills", "CV skill counts once, assessment overrides, later CV adds only new skills",
             f"SELECT string_agg(skill || ':' || source || ':' || level, ',' ORDER BY skill) = "
             f"'Go:cv:beginner,Python:assessment:advanced,SQL:cv:beginner' "
             f"FROM {{s}}.user_skills WHERE user_id = '{u('u1')}'"),
            ("skills", "history: CV rows only for skills the user lacked",
             f"SELECT string_agg(skill || ':' || source, ',' ORDER BY seq, skill) = "
             f"'Python:cv,SQL:cv,Python:assessment,Go:cv' FROM {{s}}.skill_assessments WHERE user_id = '{u('u1')}'"),
            ("skills", "CV does not count a skill already assessed; first CV wins",
             f"SELECT string_agg(skill || ':' || source || ':' || level, ',' ORDER BY skill) = "
             f"'Java:mentor:intermediate,Kotlin:github:advanced,Rust:manual:expert' "
             f"FROM {{s}}.user_skills WHERE user_id = '{u('u4')}'"),
            ("skills", "u4 history has Java and Kotlin from CVs once each",
             f"SELECT count(*) FILTER (WHERE source = 'cv') = 2 AND count(*) = 5 "
             f"FROM {{s}}.skill_assessments WHERE user_id = '{u('u4')}'"),
            ("skills", "catalog category from the latest assessment; CV-only skills have none",
             "SELECT (SELECT category FROM {s}.skills WHERE name = 'Java') = 'soft' "
             "AND (SELECT category FROM {s}.skills WHERE name = 'SQL') IS NULL "
             "AND (SELECT count(*) FROM {s}.skills) = 6"),
            ("skills", "cv_parses: latest parse of a cv_id",
             f"SELECT skills = '{{Java,Kotlin}}' AND experience IS NOT NULL FROM {{s}}.cv_parses WHERE cv_id = '{u('cv3')}'"),
            ("learning", "activity started after its progress and completion is completed",
             f"SELECT status = 'completed' AND completion_percentage = 100 AND rating = 4 AND title = 'SQL 101' "
             f"AND cost_amount = 99.5 FROM {{s}}.learning_activities WHERE activity_id = '{u('act1')}'"),
            ("learning", "hours_logged sums progress and completion hours, in any order",
             f"SELECT hours_logged = 4.5 FROM {{s}}.learning_activities WHERE activity_id = '{u('act1')}'"),
            ("learning", "an activity only progressed so far has a row without its start",
             f"SELECT started_at IS NULL AND title IS NULL AND completion_percentage = 25 AND hours_logged = 1 "
             f"FROM {{s}}.learning_activities WHERE activity_id = '{u('act3')}'"),
            ("learning", "re-started activity keeps latest start and latest progress",
             f"SELECT title = 'New' AND status = 'in_progress' AND completion_percentage = 60.5 "
             f"FROM {{s}}.learning_activities WHERE activity_id = '{u('act2')}'"),
            ("roadmaps", "re-created roadmap has the new tasks, completions from any time",
             f"SELECT string_agg(ordinal || ':' || title || ':' || COALESCE(actual_hours::text, '-'), ',' ORDER BY ordinal) "
             f"= '1:B:5,2:A:2' FROM {{s}}.roadmap_tasks WHERE roadmap_id = '{u('rm1')}'"),
            ("roadmaps", "roadmap_progress view",
             f"SELECT tasks_total = 2 AND tasks_completed = 2 FROM {{s}}.roadmap_progress WHERE roadmap_id = '{u('rm1')}'"),
            ("roadmaps", "goal achieved before set",
             f"SELECT status = 'achieved' AND achieved_at IS NOT NULL AND priority = 'high' "
             f"FROM {{s}}.goals WHERE goal_id = '{u('g1')}'"),
            ("programs", "first enrollment by time, ties by seq",
             f"SELECT program = 'P-first' AND cohort = '2024-01' FROM {{s}}.enrollments WHERE user_id = '{u('u1')}'"),
            ("jobsearch", "application: first sent by time, stage from the latest advance in any order",
             f"SELECT company = 'Early Co' AND channel = 'referral' AND current_stage = 'offer' "
             f"FROM {{s}}.applications WHERE application_id = '{u('app1')}'"),
            ("jobsearch", "never-sent application has no row; its advance is kept",
             f"SELECT NOT EXISTS (SELECT 1 FROM {{s}}.applications WHERE application_id = '{u('app-never')}') "
             f"AND EXISTS (SELECT 1 FROM {{s}}.application_stages WHERE application_id = '{u('app-never')}')"),
            ("jobsearch", "application without advances is 'applied'",
             f"SELECT current_stage = 'applied' FROM {{s}}.applications WHERE application_id = '{u('app2')}'"),
            ("jobsearch", "position: latest opening",
             f"SELECT title = 'New' AND required_skills IS NULL FROM {{s}}.positions WHERE position_id = '{u('pos1')}'"),
            ("mentorship", "mentorship belongs to the mentor of its first start by time; latest ending",
             f"SELECT mentor_id = '{u('m1')}' AND goals IS NULL AND status = 'ended' AND outcome = 'completed' "
             f"FROM {{s}}.mentorships WHERE mentorship_id = '{u('ms1')}'"),
            ("mentorship", "sessions attach by mentorship_id, also those held before the start",
             f"SELECT sessions = 2 AND hours = 1.5 FROM {{s}}.mentorship_stats WHERE mentorship_id = '{u('ms1')}'"),
            ("mentorship", "mentor stats ignore sessions of never-started mentorships",
             f"SELECT mentees = 2 AND mentorships = 2 AND sessions = 2 FROM {{s}}.mentor_stats WHERE mentor_id = '{u('m1')}'"),
            ("mentorship", "mentor named only by a later start is not listed",
             f"SELECT NOT EXISTS (SELECT 1 FROM {{s}}.mentor_stats WHERE mentor_id = '{u('m2')}')"),
            ("portfolio", "project: latest addition; reviews in any order",
             f"SELECT p.title = 'New' AND s.reviews = 2 AND s.average_score = 4 AND s.showcase_ready = false "
             f"FROM {{s}}.portfolio_projects p JOIN {{s}}.project_review_stats s USING (project_id) "
             f"WHERE project_id = '{u('p1')}'"),
        ]


# --------------------------------------------------------------------------
# Splits


def random_split(n, rng, big):
    """Consecutive batch sizes summing to n: many 1s, small, medium and big."""
    sizes = []
    left = n
    while left > 0:
        r = rng.random()
        if r < 0.3:
            s = 1
        elif r < 0.6:
            s = rng.randint(2, max(2, min(20, big)))
        elif r < 0.85:
            s = rng.randint(1, max(1, big // 10))
        else:
            s = rng.randint(1, big)
        s = min(s, left)
        sizes.append(s)
        left -= s
    return sizes


def boundaries(seqs, sizes):
    """(after_seq, up_to_seq) pairs for consecutive batches of these sizes."""
    out = []
    i = 0
    prev = seqs[0] - 1
    for s in sizes:
        last = seqs[i + s - 1]
        out.append((prev, last))
        prev = last
        i += s
    return out


# --------------------------------------------------------------------------
# Runs


class Checker:
    def __init__(self, conn, projections, workdir, timing=False, sync_commit=""):
        self.sync_commit = sync_commit
        self.conn = conn
        self.projections = projections
        self.workdir = Path(workdir)
        self.timing = timing

    def create_run(self, run):
        """Creates the run's schemas and returns the rendered apply files."""
        sql = []
        files = {}
        for p in self.projections:
            schema = f"{run}_{p['name']}"
            sql.append(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}";')
            sql.append(render(p["schema_sql"], schema))
            f = self.workdir / f"{schema}.apply.sql"
            f.write_text(render(p["apply_sql"], schema))
            files[p["name"]] = f
        psql(self.conn, "\n".join(sql))
        return files

    def apply(self, run, batches, twice=False):
        """Applies the batches (after_seq, up_to_seq) to every projection of `run`."""
        files = self.create_run(run)
        script = self.workdir / f"{run}.driver.sql"
        with open(script, "w") as f:
            f.write("SET client_min_messages = warning;\n")
            if self.sync_commit:
                f.write(f"SET synchronous_commit = {self.sync_commit};\n")
            f.write("CREATE TEMP TABLE batch_events_all (LIKE events_all INCLUDING INDEXES);\n")
            f.write("CREATE INDEX ON batch_events_all (type, seq);\n")
            for n, (after, last) in enumerate(batches):
                f.write("TRUNCATE batch_events_all;\n")
                f.write(f"INSERT INTO batch_events_all SELECT * FROM events_all WHERE seq > {after} AND seq <= {last};\n")
                f.write("ANALYZE batch_events_all;\n")
                for p in self.projections:
                    for _ in range(2 if twice else 1):
                        if self.timing:
                            f.write(f"INSERT INTO chk_timing VALUES ('{run}', '{p['name']}', {n}, {last - after}, clock_timestamp(), NULL);\n")
                        f.write("BEGIN;\n")
                        f.write(f"CREATE OR REPLACE TEMP VIEW batch_events AS SELECT * FROM batch_events_all "
                                f"WHERE seq > {after} AND seq <= {last};\n")
                        f.write(f"\\i {files[p['name']]}\n")
                        f.write("COMMIT;\n")
                        if self.timing:
                            f.write(f"UPDATE chk_timing SET finished = clock_timestamp() WHERE run = '{run}' "
                                    f"AND projection = '{p['name']}' AND batch = {n};\n")
        psql(self.conn, file=script)

    def digests(self, run):
        """{projection: {relation: md5}} over every table and view."""
        out = {}
        for p in self.projections:
            schema = f"{run}_{p['name']}"
            rels = psql(self.conn, f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}' "
                                   f"ORDER BY table_name")
            if not rels:
                out[p["name"]] = {}
                continue
            parts = [f"SELECT '{r}', count(*), md5(COALESCE(string_agg(t::text, ',' ORDER BY t::text), '')) "
                     f'FROM "{schema}"."{r}" t' for r in rels]
            rows = psql(self.conn, " UNION ALL ".join(parts) + ";")
            out[p["name"]] = {r.split("\t")[0]: tuple(r.split("\t")[1:]) for r in rows}
        return out

    def diff_rows(self, run_a, run_b, projection, relation, limit=5):
        a, b = f'"{run_a}_{projection}"."{relation}"', f'"{run_b}_{projection}"."{relation}"'
        only_a = psql(self.conn, f"SELECT t::text FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}) t LIMIT {limit};")
        only_b = psql(self.conn, f"SELECT t::text FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}) t LIMIT {limit};")
        return only_a, only_b


def compare(checker, reference, digests, others, report):
    """Compares each run in `others` with `reference`; returns mismatch count."""
    failures = 0
    for run in others:
        bad = []
        for proj, rels in digests[reference].items():
            for rel, value in rels.items():
                if digests[run].get(proj, {}).get(rel) != value:
                    bad.append((proj, rel))
        if not bad:
            report(f"  ok        {run} == {reference}")
            continue
        failures += len(bad)
        for proj, rel in bad:
            report(f"  MISMATCH  {run} vs {reference}: {proj}.{rel} "
                   f"(rows {digests[run].get(proj, {}).get(rel, ('?',))[0]} vs {digests[reference][proj][rel][0]})")
            only_a, only_b = checker.diff_rows(run, reference, proj, rel)
            for row in only_a:
                report(f"      only in {run}: {row}")
            for row in only_b:
                report(f"      only in {reference}: {row}")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("events", nargs="?", help="NDJSON events (careerlog log dump output or envelopes)")
    ap.add_argument("--db", default=os.environ.get("DATABASE_URL", ""), help="server connection (URL or conninfo)")
    ap.add_argument("--projections", default=str(ROOT / "Projections"))
    ap.add_argument("--adversarial", action="store_true")
    ap.add_argument("--scramble", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--singles", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timing", type=int, default=0, metavar="BATCH")
    ap.add_argument("--repeat", type=int, default=1, help="timing rebuilds (the fastest of each projection is reported)")
    ap.add_argument("--timing-only", action="store_true", help="skip the comparisons, only time")
    ap.add_argument("--sync-commit", default="", choices=["", "on", "off"],
                    help="synchronous_commit for the applying session (default: the server's)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--emit-adversarial", action="store_true",
                    help="print the adversarial sequence as NDJSON envelopes and exit")
    args = ap.parse_args()
    if args.emit_adversarial:
        for e in Adversarial().build():
            e = {k: v for k, v in e.items() if k not in ("seq", "recorded")}
            print(json.dumps(e, separators=(",", ":")))
        return 0
    if bool(args.events) == bool(args.adversarial):
        ap.error("give an events file or --adversarial (one of them)")

    def report(msg):
        print(msg, flush=True)

    only = [s for s in args.only.split(",") if s]
    rng = random.Random(args.seed)
    dbname = f"projcheck_{os.getpid()}"
    db = with_dbname(args.db, dbname)
    created = False
    try:
        projections = load_projections(args.projections, only)
        adversarial = None
        if args.adversarial:
            adversarial = Adversarial()
            events = adversarial.build()
        else:
            events = read_events(args.events)
            if args.scramble:
                events = scramble(events, random.Random(args.seed))
        if not events:
            raise CheckError("no events")
        events.sort(key=lambda e: e["seq"])
        seqs = [e["seq"] for e in events]
        types = sorted({e["type"] for e in events})
        report(f"projections: {', '.join(p['name'] for p in projections)}")
        report(f"events: {len(events)} (seq {seqs[0]}..{seqs[-1]}), {len(types)} types")

        psql(args.db, f'DROP DATABASE IF EXISTS "{dbname}"; CREATE DATABASE "{dbname}";')
        created = True
        with tempfile.TemporaryDirectory(prefix="projcheck-") as tmp:
            copy_file = Path(tmp) / "events.ndjson"
            write_copy_file(events, copy_file)
            psql(db, f"""
                CREATE TABLE raw_events (line jsonb);
                \\copy raw_events (line) FROM '{copy_file}' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
                CREATE TABLE events_all AS
                SELECT (line->>'seq')::bigint AS seq, (line->>'recorded')::timestamptz AS recorded,
                       (line->>'id')::uuid AS id, line->>'type' AS type, (line->>'subject')::uuid AS subject,
                       (line->>'time')::timestamptz AS time, COALESCE((line->>'dataversion')::int, 1) AS dataversion,
                       line->'data' AS data
                FROM raw_events;
                ALTER TABLE events_all ADD PRIMARY KEY (seq);
                CREATE TABLE chk_timing (run text, projection text, batch int, events int,
                                         started timestamptz, finished timestamptz);
                ANALYZE events_all;
            """)
            checker = Checker(db, projections, tmp, timing=False, sync_commit=args.sync_commit)
            n = len(events)
            big = max(1, min(n, 20000))
            digests = {}

            def run(name, batches, twice=False):
                t = time.time()
                checker.apply(name, batches, twice=twice)
                digests[name] = checker.digests(name)
                sizes = [b - a for a, b in batches]
                report(f"  built     {name}: {len(batches)} batches (sizes {min(sizes)}..{max(sizes)})"
                       f"{' each applied twice' if twice else ''} in {time.time() - t:.1f}s")

            failures = 0
            if args.timing_only:
                args.runs = 0
                args.singles = 0
            else:
                report("full sequence:")
                run("one", [(seqs[0] - 1, seqs[-1])])
            others = []
            caps = [big, min(big, 200), max(1, big // 4)]
            for i in range(1, args.runs + 1):
                run(f"rand{i}", boundaries(seqs, random_split(n, rng, caps[(i - 1) % len(caps)])))
                others.append(f"rand{i}")
            if not args.timing_only:
                run("twice", boundaries(seqs, random_split(n, rng, big)), twice=True)
                others.append("twice")
            if adversarial:
                run("singles", boundaries(seqs, [1] * n))
                others.append("singles")
                run("halves", boundaries(seqs, [n // 2, n - n // 2]) if n > 1 else [(seqs[0] - 1, seqs[-1])])
                others.append("halves")
            if not args.timing_only:
                failures += compare(checker, "one", digests, others, report)

            if not adversarial and args.singles > 0:
                k = min(args.singles, n)
                report(f"first {k} events:")
                prefix = seqs[:k]
                run("pone", [(prefix[0] - 1, prefix[-1])])
                run("psingles", boundaries(prefix, [1] * k))
                failures += compare(checker, "pone", digests, ["psingles"], report)

            if adversarial:
                report("expected rows (adversarial sequence):")
                names = {p["name"] for p in projections}
                for proj, desc, sql in adversarial.expectations():
                    if proj not in names:
                        continue
                    for r in ["one", "singles"]:
                        got = psql(db, sql.replace("{s}", f'"{r}_{proj}"') + ";")
                        if got != ["t"]:
                            failures += 1
                            report(f"  FAILED    {proj} [{r}]: {desc} (got {got})")
                            break
                    else:
                        report(f"  ok        {proj}: {desc}")

            if args.timing:
                report(f"timing: rebuild in batches of {args.timing} events, fastest of {args.repeat}"
                       f"{', synchronous_commit ' + args.sync_commit if args.sync_commit else ''}")
                checker.timing = True
                sizes = []
                left = n
                while left > 0:
                    sizes.append(min(args.timing, left))
                    left -= sizes[-1]
                walls = []
                for r in range(args.repeat):
                    t = time.time()
                    checker.apply(f"timed{r}", boundaries(seqs, sizes))
                    walls.append(time.time() - t)
                    psql(db, "".join(f'DROP SCHEMA "timed{r}_{p["name"]}" CASCADE;' for p in projections))
                rows = psql(db, """
                    SELECT projection, min(batches), min(avg_ms), min(max_ms), min(total_s) FROM (
                        SELECT run, projection, count(*) AS batches,
                               round(avg(extract(epoch FROM finished - started) * 1000)::numeric, 1) AS avg_ms,
                               round(max(extract(epoch FROM finished - started) * 1000)::numeric, 1) AS max_ms,
                               round(sum(extract(epoch FROM finished - started))::numeric, 3) AS total_s
                        FROM chk_timing GROUP BY run, projection) x
                    GROUP BY projection ORDER BY projection;""")
                total = 0.0
                report(f"  {'projection':<12} {'batches':>7} {'avg ms/batch':>13} {'max ms':>8} {'total s':>8}")
                for r in rows:
                    proj, cnt, avg, mx, tot = r.split("\t")
                    total += float(tot)
                    report(f"  {proj:<12} {cnt:>7} {avg:>13} {mx:>8} {tot:>8}")
                report(f"  all projections: {total:.2f}s of apply for {n} events = {n / total:,.0f} events/s "
                       f"(driver wall, batch loading included: {min(walls):.1f}s)")

        if failures:
            report(f"FAIL: {failures} mismatch(es)")
            return 1
        if args.timing_only:
            report("done (timing only, nothing compared)")
        else:
            report("PASS: every table and view is identical whatever the batch boundaries")
        return 0
    except CheckError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if created and not args.keep:
            try:
                psql(args.db, f'DROP DATABASE IF EXISTS "{dbname}";')
            except CheckError as e:
                print(f"warning: could not drop {dbname}: {e}", file=sys.stderr)
        elif created:
            print(f"kept database {dbname}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
