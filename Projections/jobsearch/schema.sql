-- jobsearch: applications with their current stage and stage history,
-- placements, milestones, employer feedback, open positions.
-- Fed by application.sent, application.advanced, placement.recorded,
-- milestone.achieved, employer.feedback, position.opened, user.erased.
-- See Projections/README.md.

-- One row per SENT application: company/position/channel/applied_at from its
-- FIRST application.sent (earliest time, ties by seq), as the catalog's
-- funnel defines it; current_stage from its latest application.advanced (by
-- seq), whenever that arrived. Applications never sent have no row (their
-- advances stay in application_stages).
CREATE TABLE {{schema}}.applications (
    application_id    uuid PRIMARY KEY,
    user_id           uuid NOT NULL,
    company           text NOT NULL,
    position          text NOT NULL,
    channel           text,            -- job_board | referral | recruiter | direct | talenthub
    applied_at        timestamptz NOT NULL,
    current_stage     text NOT NULL,   -- applied (no advance yet) | screening | interview | offer | rejected | withdrawn
    stage_updated_at  timestamptz,     -- time of the latest application.advanced
    seq               bigint NOT NULL
) WITH (fillfactor = 80);  -- room for HOT updates: rows change as later events arrive
CREATE INDEX applications_user ON {{schema}}.applications (user_id);

-- Every application.advanced (also of applications not, or not yet, sent).
CREATE TABLE {{schema}}.application_stages (
    seq             bigint PRIMARY KEY,
    application_id  uuid NOT NULL,
    user_id         uuid NOT NULL,
    stage           text NOT NULL,
    advanced_at     timestamptz NOT NULL
);
CREATE INDEX application_stages_application ON {{schema}}.application_stages (application_id, seq);

-- Every placement.recorded.
CREATE TABLE {{schema}}.placements (
    seq              bigint PRIMARY KEY,
    user_id          uuid NOT NULL,
    application_id   uuid,
    company          text NOT NULL,
    role             text NOT NULL,
    salary_amount    numeric NOT NULL,
    salary_currency  text NOT NULL,
    employment_type  text NOT NULL,   -- full-time | part-time | contract | freelance
    start_date       date NOT NULL,
    placed_at        timestamptz NOT NULL
);
CREATE INDEX placements_user ON {{schema}}.placements (user_id, placed_at);
CREATE INDEX placements_application ON {{schema}}.placements (application_id) WHERE application_id IS NOT NULL;

-- Every milestone.achieved.
CREATE TABLE {{schema}}.milestones (
    seq                       bigint PRIMARY KEY,
    user_id                   uuid NOT NULL,
    milestone_type            text NOT NULL,   -- promotion | role_change | certification | project_completion
    title                     text NOT NULL,
    salary_increase_amount    numeric,
    salary_increase_currency  text,
    achieved_at               timestamptz NOT NULL
);
CREATE INDEX milestones_user ON {{schema}}.milestones (user_id);

-- Every employer.feedback, about the subject. Keyed by the event id, not by
-- seq, because an erasure of the subject changes the row (comments -> NULL)
-- and so moves its seq.
CREATE TABLE {{schema}}.employer_feedback (
    feedback_id       uuid PRIMARY KEY,  -- the event's id
    user_id           uuid NOT NULL,
    employer          text NOT NULL,
    rating            integer NOT NULL,  -- 1..5
    would_hire_again  boolean NOT NULL,
    comments          text,              -- PII
    given_at          timestamptz NOT NULL,
    seq               bigint NOT NULL
);
COMMENT ON COLUMN {{schema}}.employer_feedback.comments IS 'pii';
CREATE INDEX employer_feedback_user ON {{schema}}.employer_feedback (user_id);

-- One row per position_id: the latest position.opened of it.
CREATE TABLE {{schema}}.positions (
    position_id      uuid PRIMARY KEY,
    recruiter_id     uuid NOT NULL,   -- the subject
    organization     text NOT NULL,
    title            text NOT NULL,
    required_skills  text[],
    opened_at        timestamptz NOT NULL,
    seq              bigint NOT NULL
);

-- Subjects erased (first user.erased by seq); consulted so that PII arriving
-- after an erasure is never written.
CREATE TABLE {{schema}}.erasures (
    user_id    uuid PRIMARY KEY,
    erased_at  timestamptz NOT NULL,
    seq        bigint NOT NULL
);
