-- learning: learning activities with status and progress, their progress
-- reports and completions, and certifications. Fed by learning.started,
-- learning.progressed, learning.completed, certification.earned.
-- See Projections/README.md.

-- One row per activity any learning.started, learning.progressed or
-- learning.completed named, whatever order they came in: the started columns
-- from its latest learning.started (NULL until one arrives), the state from
-- its latest progress report and latest completion, hours_logged the sum over
-- all of them. user_id is the subject of the latest event naming the activity.
CREATE TABLE {{schema}}.learning_activities (
    activity_id            uuid PRIMARY KEY,
    user_id                uuid NOT NULL,
    activity_type          text,           -- course | certification | project | mentoring | reading | practice
    title                  text,
    provider               text,
    skills_targeted        text[],
    cost_amount            numeric,
    cost_currency          text,
    started_at             timestamptz,    -- NULL: no learning.started seen yet
    status                 text NOT NULL,  -- in_progress | completed (any learning.completed)
    completion_percentage  numeric NOT NULL, -- 100 once completed, else the latest reported (0 if none)
    hours_logged           numeric NOT NULL, -- sum of learning.progressed hours + learning.completed hours
    last_progress_at       timestamptz,    -- time of the latest learning.progressed
    completed_at           timestamptz,    -- time of the latest learning.completed
    rating                 integer,        -- 1..5, from the latest learning.completed
    seq                    bigint NOT NULL
) WITH (fillfactor = 70);  -- room for HOT updates: rows change as later events arrive
CREATE INDEX learning_activities_user ON {{schema}}.learning_activities (user_id);

-- Every certification.earned.
CREATE TABLE {{schema}}.certifications (
    seq            bigint PRIMARY KEY,
    user_id        uuid NOT NULL,
    name           text NOT NULL,
    issuer         text NOT NULL,
    credential_id  text,
    issued_on      date NOT NULL,
    expires_on     date,
    earned_at      timestamptz NOT NULL
);
CREATE INDEX certifications_user ON {{schema}}.certifications (user_id);
