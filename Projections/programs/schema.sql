-- programs: career transformation program enrollments and interview
-- practice. Fed by program.enrolled and interview.practiced.
-- See Projections/README.md.

-- One row per enrolled subject: the subject's FIRST program.enrolled (earliest
-- time, ties by seq), as the catalog's analytics define the enrollment; later
-- enrollments of the same subject are ignored.
CREATE TABLE {{schema}}.enrollments (
    user_id                   uuid PRIMARY KEY,
    program                   text NOT NULL,
    cohort                    text NOT NULL,     -- YYYY-MM
    target_industry           text NOT NULL,
    target_role               text NOT NULL,
    baseline_salary_amount    numeric NOT NULL,  -- 0 = not employed before
    baseline_salary_currency  text NOT NULL,
    enrolled_at               timestamptz NOT NULL,
    seq                       bigint NOT NULL
);
CREATE INDEX enrollments_cohort ON {{schema}}.enrollments (cohort);

-- Every interview.practiced.
CREATE TABLE {{schema}}.interview_practice (
    seq           bigint PRIMARY KEY,
    user_id       uuid NOT NULL,
    kind          text,              -- technical | behavioral | mock
    score         numeric NOT NULL,  -- 0..100
    practiced_at  timestamptz NOT NULL
);
CREATE INDEX interview_practice_user ON {{schema}}.interview_practice (user_id, practiced_at);
