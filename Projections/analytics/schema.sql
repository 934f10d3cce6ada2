-- analytics: the figures of EventSchemas/README.md "Analytics definitions",
-- computed from fact tables this projection feeds itself (it reads no other
-- projection). See Projections/analytics/README.md for the design, the
-- interpretations and the measurements behind "plain views, no refresh".
--
-- Facts (apply.sql fills them; each kind of row is batch-invariant):
--   keyed by seq ........ enrollments, placements, mentorship_starts,
--                         mentorship_sessions (every event kept)
--   first by time ...... mentor_registrations (first by (time, seq)),
--                         applications (earliest time of each milestone):
--                         min is order-independent
--   exact sums .......... learning_months (numeric, so the sum is the same
--                         whatever the batch split; days as an OR-ed bit
--                         mask), learning_watermark making a re-applied
--                         batch a no-op
--   newest .............. as_of (max time of every event applied; in an
--                         as-of build by time, the moment asked for)
--
-- Analytics (views, computed when read):
--   enrollees                       one row per enrolled subject, everything
--                                   the figures need (the per-subject base)
--   placement_rate_by_cohort        } enrolled, placed_within_12_months,
--   placement_rate_by_program       } placement_rate, window_state
--   placement_rate_by_industry      }
--   time_to_placement               per cohort: placed, median_days, p90_days
--   salary_uplift                   per cohort: uplift_count, mean_uplift
--   placement_rate_by_program_cohort} the three above per (program, cohort),
--   time_to_placement_by_program    } for the dashboard's and the CLI's
--   salary_uplift_by_program        } --program filter
--   mentorships                     each mentorship's first start
--   mentorship_roi                  per mentor (gains as jsonb per currency)
--   mentorship_roi_by_currency      per mentor and currency (the same gains as rows)
--   mentorship_effect               program-wide mentored vs not mentored
--   mentorship_effect_by_program    the same per program (the --program filter)
--   application_funnel              per UTC month of the first send
--   learning_velocity               per subject and UTC month
--   learning_streaks                per subject, as of the as-of day
--
-- Times compare as instants; calendar buckets use `AT TIME ZONE 'UTC'`, so
-- the figures do not depend on the reading session's TimeZone. 365 days is
-- 31,536,000 s (interval '8760 hours': no day component, no DST).

-- ---------------------------------------------------------------------------
-- Facts

-- The definitions' "as of": the newest event `time` among ALL events applied
-- (every type counts), or in an as-of build by time the moment asked for
-- (careerlog.as_of_time, see Projections/README.md). One row once any event
-- is applied (or the build by time has started).
CREATE TABLE {{schema}}.as_of (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    newest_event_time  timestamptz NOT NULL
);

-- Every program.enrolled; the first per subject (time, seq) is the enrollment.
CREATE TABLE {{schema}}.enrollments (
    seq                bigint PRIMARY KEY,
    subject            uuid NOT NULL,
    enrolled_at        timestamptz NOT NULL,
    program            text NOT NULL,
    cohort             text NOT NULL,     -- YYYY-MM
    target_industry    text NOT NULL,
    baseline_amount    numeric NOT NULL,  -- 0 = not employed before
    baseline_currency  text NOT NULL
);
CREATE INDEX enrollments_subject ON {{schema}}.enrollments (subject, enrolled_at, seq);

-- Every placement.recorded: the enrollee's placement, and the funnel's
-- "placed" (those naming an application).
CREATE TABLE {{schema}}.placements (
    seq              bigint PRIMARY KEY,
    subject          uuid NOT NULL,
    placed_at        timestamptz NOT NULL,
    application_id   uuid,
    salary_amount    numeric NOT NULL,
    salary_currency  text NOT NULL
);
CREATE INDEX placements_subject ON {{schema}}.placements (subject, placed_at, seq);
CREATE INDEX placements_application ON {{schema}}.placements (application_id) WHERE application_id IS NOT NULL;

-- Every mentorship.started (subject = the mentee). Re-sent starts are kept:
-- "mentored" looks at every start, ownership at the first one.
CREATE TABLE {{schema}}.mentorship_starts (
    seq            bigint PRIMARY KEY,
    mentee         uuid NOT NULL,
    started_at     timestamptz NOT NULL,
    mentorship_id  uuid NOT NULL,
    mentor_id      uuid NOT NULL
);
CREATE INDEX mentorship_starts_mentorship ON {{schema}}.mentorship_starts (mentorship_id, started_at, seq);
CREATE INDEX mentorship_starts_mentee ON {{schema}}.mentorship_starts (mentee, started_at);

-- Every mentorship.session_held; attached to a mentorship by id when read.
CREATE TABLE {{schema}}.mentorship_sessions (
    seq               bigint PRIMARY KEY,
    mentee            uuid NOT NULL,
    held_at           timestamptz NOT NULL,
    mentorship_id     uuid NOT NULL,
    duration_minutes  integer NOT NULL,  -- 1..600
    mentee_rating     integer            -- 1..5, absent on some sessions
);
CREATE INDEX mentorship_sessions_mentorship ON {{schema}}.mentorship_sessions (mentorship_id);

-- First mentor.registered per mentor (only its existence and time matter).
CREATE TABLE {{schema}}.mentor_registrations (
    mentor_id      uuid PRIMARY KEY,
    registered_at  timestamptz NOT NULL,
    seq            bigint NOT NULL
);

-- One row per application_id named by an application.sent,
-- application.advanced or placement.recorded: the earliest time of each
-- milestone (least() is order-independent; NULL = never). A row whose
-- first_sent_at is NULL was never sent, and the funnel ignores it. Stages
-- count once however often and in whatever order they were reached.
CREATE TABLE {{schema}}.applications (
    application_id      uuid PRIMARY KEY,
    first_sent_at       timestamptz,
    first_interview_at  timestamptz,
    first_offer_at      timestamptz,
    first_placed_at     timestamptz
) WITH (fillfactor = 80);

-- Learning per subject and UTC month (first day of the month): hours from
-- learning.progressed.hours, learning.completed.hours and
-- task.completed.actual_hours (where present), the completions, and which
-- days had hours > 0 as a bit mask (bit d-1 = day d). Sums are exact
-- (numeric), so they do not depend on the batch split; OR-ing the mask is
-- order-independent and idempotent. The streak reads the masks: one row
-- per subject-month instead of one per subject-day keeps both the batch
-- cost and the table small. Room on each page (fillfactor) lets the
-- frequent updates stay HOT (no index writes).
CREATE TABLE {{schema}}.learning_months (
    subject               uuid NOT NULL,
    month                 date NOT NULL,
    hours                 numeric NOT NULL,
    activities_completed  integer NOT NULL,  -- learning.completed events
    tasks_completed       integer NOT NULL,  -- task.completed events
    active_days           integer NOT NULL,  -- bit d-1 set: day d of the month had hours > 0
    last_seq              bigint NOT NULL,
    PRIMARY KEY (subject, month)
) WITH (fillfactor = 70);
CREATE INDEX learning_months_month ON {{schema}}.learning_months (month);

-- The highest seq already summed into learning_months (no row: none): a
-- batch applied again (or overlapping) adds nothing twice. Batches arrive in
-- seq order, so everything new is above it.
CREATE TABLE {{schema}}.learning_watermark (
    singleton            boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    applied_through_seq  bigint NOT NULL
);

-- ---------------------------------------------------------------------------
-- Analytics
--
-- As-of is read as a scalar subquery, `(SELECT newest_event_time FROM
-- as_of)`: the planner then knows it is one value (an InitPlan), where a
-- join with the table would be estimated at thousands of rows and push
-- small queries over the JIT threshold.

-- As-of and its UTC calendar day and month.
CREATE VIEW {{schema}}.as_of_utc AS
SELECT newest_event_time AS as_of,
       (newest_event_time AT TIME ZONE 'UTC')::date AS day,
       date_trunc('month', newest_event_time AT TIME ZONE 'UTC')::date AS month,
       extract(day FROM newest_event_time AT TIME ZONE 'UTC')::integer AS day_of_month
FROM {{schema}}.as_of;

-- One row per enrolled subject (first enrollment), with its placement (first
-- placement.recorded at or after the enrollment, any delay) and everything
-- derived from the pair. Events later than as-of are ignored throughout.
CREATE VIEW {{schema}}.enrollees AS
WITH enrollment AS (
    SELECT DISTINCT ON (e.subject) e.*
    FROM {{schema}}.enrollments e
    WHERE e.enrolled_at <= (SELECT newest_event_time FROM {{schema}}.as_of)
    ORDER BY e.subject, e.enrolled_at, e.seq
), placement AS (
    SELECT DISTINCT ON (p.subject) p.subject, p.placed_at, p.salary_amount, p.salary_currency
    FROM {{schema}}.placements p
    JOIN enrollment e ON e.subject = p.subject AND p.placed_at >= e.enrolled_at
    WHERE p.placed_at <= (SELECT newest_event_time FROM {{schema}}.as_of)
    ORDER BY p.subject, p.placed_at, p.seq
), paired AS (
    SELECT e.subject, e.program, e.cohort, e.target_industry, e.enrolled_at,
           e.baseline_amount, e.baseline_currency,
           p.placed_at, p.salary_amount AS placement_amount, p.salary_currency AS placement_currency,
           extract(epoch FROM p.placed_at) - extract(epoch FROM e.enrolled_at) AS seconds_to_placement,
           extract(epoch FROM (SELECT newest_event_time FROM {{schema}}.as_of)) - extract(epoch FROM e.enrolled_at)
               >= 31536000 AS window_closed,
           p.placed_at IS NOT NULL AND e.baseline_amount > 0 AND p.salary_currency = e.baseline_currency AS has_uplift,
           EXISTS (
               SELECT 1 FROM {{schema}}.mentorship_starts s
               WHERE s.mentee = e.subject AND s.started_at >= e.enrolled_at
                 AND s.started_at <= (SELECT newest_event_time FROM {{schema}}.as_of)
                 AND s.started_at < coalesce(p.placed_at, e.enrolled_at + interval '8760 hours')
           ) AS mentored
    FROM enrollment e
    LEFT JOIN placement p ON p.subject = e.subject
)
SELECT subject, program, cohort, target_industry, enrolled_at, baseline_amount, baseline_currency,
       placed_at, placement_amount, placement_currency,
       seconds_to_placement / 86400 AS days_to_placement,
       coalesce(seconds_to_placement <= 31536000, false) AS placed_within_12_months,
       window_closed,
       CASE WHEN has_uplift THEN (placement_amount - baseline_amount) / baseline_amount END AS uplift,
       CASE WHEN has_uplift THEN placement_amount - baseline_amount END AS salary_gain,
       mentored
FROM paired;

-- Placement rate: enrollees placed within 12 months / all enrollees of the
-- group (windows still running included); the group is open while any of its
-- enrollees' windows is.
CREATE VIEW {{schema}}.placement_rate_by_cohort AS
SELECT cohort,
       count(*) AS enrolled,
       count(*) FILTER (WHERE placed_within_12_months) AS placed_within_12_months,
       (count(*) FILTER (WHERE placed_within_12_months))::numeric / count(*) AS placement_rate,
       CASE WHEN bool_and(window_closed) THEN 'closed' ELSE 'open' END AS window_state
FROM {{schema}}.enrollees
GROUP BY cohort;

CREATE VIEW {{schema}}.placement_rate_by_program AS
SELECT program,
       count(*) AS enrolled,
       count(*) FILTER (WHERE placed_within_12_months) AS placed_within_12_months,
       (count(*) FILTER (WHERE placed_within_12_months))::numeric / count(*) AS placement_rate,
       CASE WHEN bool_and(window_closed) THEN 'closed' ELSE 'open' END AS window_state
FROM {{schema}}.enrollees
GROUP BY program;

CREATE VIEW {{schema}}.placement_rate_by_industry AS
SELECT target_industry,
       count(*) AS enrolled,
       count(*) FILTER (WHERE placed_within_12_months) AS placed_within_12_months,
       (count(*) FILTER (WHERE placed_within_12_months))::numeric / count(*) AS placement_rate,
       CASE WHEN bool_and(window_closed) THEN 'closed' ELSE 'open' END AS window_state
FROM {{schema}}.enrollees
GROUP BY target_industry;

-- Time to placement per cohort, over enrollees placed at any delay, in
-- fractional days. Every cohort is listed; median and p90 are null when no
-- one is placed.
CREATE VIEW {{schema}}.time_to_placement AS
SELECT cohort,
       count(placed_at) AS placed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_placement::double precision) AS median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days_to_placement::double precision) AS p90_days
FROM {{schema}}.enrollees
GROUP BY cohort;

-- Salary uplift per cohort, over placed enrollees (any delay) with a baseline
-- > 0 paid in the baseline's currency. Every cohort is listed.
CREATE VIEW {{schema}}.salary_uplift AS
SELECT cohort,
       count(uplift) AS uplift_count,
       avg(uplift) AS mean_uplift
FROM {{schema}}.enrollees
GROUP BY cohort;

-- The three per-cohort figures again, per program and cohort: the same
-- definitions over the program's enrollees only (a program manager's view
-- of their own cohorts). Every (program, cohort) with an enrollee is listed.
CREATE VIEW {{schema}}.placement_rate_by_program_cohort AS
SELECT program, cohort,
       count(*) AS enrolled,
       count(*) FILTER (WHERE placed_within_12_months) AS placed_within_12_months,
       (count(*) FILTER (WHERE placed_within_12_months))::numeric / count(*) AS placement_rate,
       CASE WHEN bool_and(window_closed) THEN 'closed' ELSE 'open' END AS window_state
FROM {{schema}}.enrollees
GROUP BY program, cohort;

CREATE VIEW {{schema}}.time_to_placement_by_program AS
SELECT program, cohort,
       count(placed_at) AS placed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_placement::double precision) AS median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days_to_placement::double precision) AS p90_days
FROM {{schema}}.enrollees
GROUP BY program, cohort;

CREATE VIEW {{schema}}.salary_uplift_by_program AS
SELECT program, cohort,
       count(uplift) AS uplift_count,
       avg(uplift) AS mean_uplift
FROM {{schema}}.enrollees
GROUP BY program, cohort;

-- Each mentorship as its first mentorship.started (time, seq) has it: its
-- mentor and its mentee.
CREATE VIEW {{schema}}.mentorships AS
SELECT DISTINCT ON (s.mentorship_id) s.mentorship_id, s.mentor_id, s.mentee, s.started_at
FROM {{schema}}.mentorship_starts s
WHERE s.started_at <= (SELECT newest_event_time FROM {{schema}}.as_of)
ORDER BY s.mentorship_id, s.started_at, s.seq;

-- Salary gains of a mentor's mentees, one row per mentor and currency: over
-- the mentees with an uplift (placement currency = baseline currency = this
-- currency). gain_per_hour is null when the mentor has no session minutes.
CREATE VIEW {{schema}}.mentorship_roi_by_currency AS
WITH mentee AS (
    SELECT DISTINCT mentor_id, mentee FROM {{schema}}.mentorships
), minutes AS (
    SELECT m.mentor_id, sum(s.duration_minutes) AS minutes
    FROM {{schema}}.mentorship_sessions s
    JOIN {{schema}}.mentorships m USING (mentorship_id)
    WHERE s.held_at <= (SELECT newest_event_time FROM {{schema}}.as_of)
    GROUP BY m.mentor_id
)
SELECT me.mentor_id,
       e.baseline_currency AS currency,
       count(*) AS mentees_with_uplift,
       sum(e.salary_gain) AS total_gain,
       sum(e.salary_gain) * 60 / nullif(min(mi.minutes), 0) AS gain_per_hour
FROM mentee me
JOIN {{schema}}.enrollees e ON e.subject = me.mentee AND e.uplift IS NOT NULL
LEFT JOIN minutes mi ON mi.mentor_id = me.mentor_id
GROUP BY me.mentor_id, e.baseline_currency;

-- Mentorship ROI per mentor. Mentors: every mentor.registered subject and
-- every mentor_id named by a mentorship.started. A mentee of two mentors
-- counts for both. total_gain and gain_per_hour are objects keyed by
-- currency (mentorship_roi_by_currency has them as rows).
CREATE VIEW {{schema}}.mentorship_roi AS
WITH mentor AS (
    SELECT r.mentor_id FROM {{schema}}.mentor_registrations r
    WHERE r.registered_at <= (SELECT newest_event_time FROM {{schema}}.as_of)
    UNION
    SELECT s.mentor_id FROM {{schema}}.mentorship_starts s
    WHERE s.started_at <= (SELECT newest_event_time FROM {{schema}}.as_of)
), outcome AS (
    SELECT me.mentor_id,
           count(*) AS mentees,
           count(*) FILTER (WHERE e.placed_within_12_months) AS placed,
           count(e.uplift) AS uplift_count,
           avg(e.uplift) AS mean_uplift
    FROM (SELECT DISTINCT mentor_id, mentee FROM {{schema}}.mentorships) me
    LEFT JOIN {{schema}}.enrollees e ON e.subject = me.mentee
    GROUP BY me.mentor_id
), session AS (
    SELECT m.mentor_id, count(*) AS sessions, sum(s.duration_minutes) AS minutes, avg(s.mentee_rating) AS average_rating
    FROM {{schema}}.mentorship_sessions s
    JOIN {{schema}}.mentorships m USING (mentorship_id)
    WHERE s.held_at <= (SELECT newest_event_time FROM {{schema}}.as_of)
    GROUP BY m.mentor_id
), gain AS (
    SELECT mentor_id, jsonb_object_agg(currency, total_gain) AS total_gain,
           jsonb_object_agg(currency, gain_per_hour) AS gain_per_hour
    FROM {{schema}}.mentorship_roi_by_currency
    GROUP BY mentor_id
)
SELECT mentor.mentor_id,
       coalesce(o.mentees, 0) AS mentees,
       coalesce(s.sessions, 0) AS sessions,
       coalesce(s.minutes, 0)::numeric / 60 AS hours,
       s.average_rating,
       coalesce(o.placed, 0) AS placed_within_12_months,
       o.placed::numeric / nullif(o.mentees, 0) AS placement_rate,
       coalesce(o.uplift_count, 0) AS uplift_count,
       o.mean_uplift,
       coalesce(g.total_gain, '{}') AS total_gain,
       CASE WHEN coalesce(s.minutes, 0) > 0 THEN coalesce(g.gain_per_hour, '{}') END AS gain_per_hour
FROM mentor
LEFT JOIN outcome o USING (mentor_id)
LEFT JOIN session s USING (mentor_id)
LEFT JOIN gain g USING (mentor_id);

-- Program-wide (every enrollee): placement rate of mentored and of not
-- mentored enrollees, and the difference in percentage points. One row.
CREATE VIEW {{schema}}.mentorship_effect AS
WITH c AS (
    SELECT count(*) FILTER (WHERE mentored) AS mentored_enrolled,
           count(*) FILTER (WHERE mentored AND placed_within_12_months) AS mentored_placed,
           count(*) FILTER (WHERE NOT mentored) AS not_mentored_enrolled,
           count(*) FILTER (WHERE NOT mentored AND placed_within_12_months) AS not_mentored_placed
    FROM {{schema}}.enrollees
), r AS (
    SELECT c.*,
           mentored_placed::numeric / nullif(mentored_enrolled, 0) AS mentored_rate,
           not_mentored_placed::numeric / nullif(not_mentored_enrolled, 0) AS not_mentored_rate
    FROM c
)
SELECT mentored_enrolled, mentored_placed, mentored_rate,
       not_mentored_enrolled, not_mentored_placed, not_mentored_rate,
       (mentored_rate - not_mentored_rate) * 100 AS difference_pp
FROM r;

-- The same comparison within each program: its enrollees only. Every
-- program with an enrollee is listed.
CREATE VIEW {{schema}}.mentorship_effect_by_program AS
WITH c AS (
    SELECT program,
           count(*) FILTER (WHERE mentored) AS mentored_enrolled,
           count(*) FILTER (WHERE mentored AND placed_within_12_months) AS mentored_placed,
           count(*) FILTER (WHERE NOT mentored) AS not_mentored_enrolled,
           count(*) FILTER (WHERE NOT mentored AND placed_within_12_months) AS not_mentored_placed
    FROM {{schema}}.enrollees
    GROUP BY program
), r AS (
    SELECT c.*,
           mentored_placed::numeric / nullif(mentored_enrolled, 0) AS mentored_rate,
           not_mentored_placed::numeric / nullif(not_mentored_enrolled, 0) AS not_mentored_rate
    FROM c
)
SELECT program, mentored_enrolled, mentored_placed, mentored_rate,
       not_mentored_enrolled, not_mentored_placed, not_mentored_rate,
       (mentored_rate - not_mentored_rate) * 100 AS difference_pp
FROM r;

-- Application funnel per UTC month of the first application.sent. An offer
-- does not imply an interview, so offer/interview (and placed/offer) can
-- exceed 1: they are ratios of the counts, as the definition writes them.
CREATE VIEW {{schema}}.application_funnel AS
WITH application AS (
    SELECT date_trunc('month', first_sent_at AT TIME ZONE 'UTC') AS month,
           first_interview_at <= (SELECT newest_event_time FROM {{schema}}.as_of) AS interview,
           first_offer_at <= (SELECT newest_event_time FROM {{schema}}.as_of) AS offer,
           first_placed_at <= (SELECT newest_event_time FROM {{schema}}.as_of) AS placed
    FROM {{schema}}.applications
    WHERE first_sent_at <= (SELECT newest_event_time FROM {{schema}}.as_of)
), c AS (
    SELECT month, count(*) AS sent,
           count(*) FILTER (WHERE interview) AS interview,
           count(*) FILTER (WHERE offer) AS offer,
           count(*) FILTER (WHERE placed) AS placed
    FROM application
    GROUP BY month
)
SELECT to_char(month, 'YYYY-MM') AS month, sent, interview, offer, placed,
       interview::numeric / nullif(sent, 0) AS interview_per_sent,
       offer::numeric / nullif(interview, 0) AS offer_per_interview,
       placed::numeric / nullif(offer, 0) AS placed_per_offer,
       placed::numeric / nullif(sent, 0) AS placed_per_sent
FROM c;

-- Learning velocity per subject and UTC month (months with any learning
-- hours source or completion).
CREATE VIEW {{schema}}.learning_velocity AS
SELECT m.subject, to_char(m.month, 'YYYY-MM') AS month, m.hours, m.activities_completed, m.tasks_completed
FROM {{schema}}.learning_months m
WHERE m.month <= (SELECT month FROM {{schema}}.as_of_utc);

-- Current learning streak of every subject with learning facts: consecutive
-- UTC days with hours > 0 ending on the UTC day of as-of (0 when that day has
-- none). In each month the run is the leading '1's of the mask read from
-- its last day (the as-of day in the as-of month) backwards; it goes on into
-- the month before only while every month so far was full and the months
-- are consecutive. Only subjects active on the as-of day are walked.
CREATE VIEW {{schema}}.learning_streaks AS
WITH span AS (
    SELECT m.subject, m.month,
           CASE WHEN m.month = (SELECT month FROM {{schema}}.as_of_utc)
                THEN (SELECT day_of_month FROM {{schema}}.as_of_utc)
                ELSE extract(day FROM m.month + interval '1 month' - interval '1 day')::integer
           END AS days_back,
           m.active_days
    FROM {{schema}}.learning_months m
    WHERE m.month <= (SELECT month FROM {{schema}}.as_of_utc)
      AND m.subject IN (
          SELECT a.subject FROM {{schema}}.learning_months a
          WHERE a.month = (SELECT month FROM {{schema}}.as_of_utc)
            AND a.active_days & (1 << ((SELECT day_of_month FROM {{schema}}.as_of_utc) - 1)) <> 0)
), ones AS (
    SELECT subject, month, days_back,
           length(substring(right(active_days::bit(31)::text, days_back) FROM '^1*')) AS days,
           row_number() OVER (PARTITION BY subject ORDER BY month DESC) AS back
    FROM span
), chain AS (
    SELECT subject, days,
           month = ((SELECT month FROM {{schema}}.as_of_utc) - (back - 1) * interval '1 month')::date
           AND coalesce(bool_and(days = days_back) OVER (PARTITION BY subject ORDER BY month DESC
                                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), true) AS in_run
    FROM ones
), streak AS (
    SELECT subject, sum(days) FILTER (WHERE in_run)::integer AS days FROM chain GROUP BY subject
)
SELECT l.subject, (SELECT day FROM {{schema}}.as_of_utc) AS as_of_day, coalesce(s.days, 0) AS streak_days
FROM (SELECT DISTINCT subject FROM {{schema}}.learning_months
      WHERE month <= (SELECT month FROM {{schema}}.as_of_utc)) l
LEFT JOIN streak s ON s.subject = l.subject;
