-- analytics: applies one batch (batch_events). See schema.sql for the tables
-- and Projections/analytics/README.md for why each kind of row is
-- independent of where batches begin and end.

-- 1. As of: the newest event time of every event applied, any type.
INSERT INTO {{schema}}.as_of AS t (singleton, newest_event_time)
SELECT true, max(time) FROM batch_events HAVING count(*) > 0
ON CONFLICT (singleton) DO UPDATE SET newest_event_time = EXCLUDED.newest_event_time
WHERE EXCLUDED.newest_event_time > t.newest_event_time;

-- 2. Facts keyed by seq: every event kept, a re-applied one is a no-op.
INSERT INTO {{schema}}.enrollments
    (seq, subject, enrolled_at, program, cohort, target_industry, baseline_amount, baseline_currency)
SELECT seq, subject, time, data->>'program', data->>'cohort', data->>'target_industry',
       (data->'baseline_salary'->>'amount')::numeric, data->'baseline_salary'->>'currency'
FROM batch_events
WHERE type = 'program.enrolled'
ON CONFLICT (seq) DO NOTHING;

INSERT INTO {{schema}}.placements (seq, subject, placed_at, application_id, salary_amount, salary_currency)
SELECT seq, subject, time, (data->>'application_id')::uuid,
       (data->'salary'->>'amount')::numeric, data->'salary'->>'currency'
FROM batch_events
WHERE type = 'placement.recorded'
ON CONFLICT (seq) DO NOTHING;

INSERT INTO {{schema}}.mentorship_starts (seq, mentee, started_at, mentorship_id, mentor_id)
SELECT seq, subject, time, (data->>'mentorship_id')::uuid, (data->>'mentor_id')::uuid
FROM batch_events
WHERE type = 'mentorship.started'
ON CONFLICT (seq) DO NOTHING;

INSERT INTO {{schema}}.mentorship_sessions (seq, mentee, held_at, mentorship_id, duration_minutes, mentee_rating)
SELECT seq, subject, time, (data->>'mentorship_id')::uuid,
       (data->>'duration_minutes')::integer, (data->>'mentee_rating')::integer
FROM batch_events
WHERE type = 'mentorship.session_held'
ON CONFLICT (seq) DO NOTHING;

-- 3. First by (time, seq): the batch's earliest per key replaces the stored
--    one only if it comes first; min is order-independent.
INSERT INTO {{schema}}.mentor_registrations AS t (mentor_id, registered_at, seq)
SELECT DISTINCT ON (subject) subject, time, seq
FROM batch_events
WHERE type = 'mentor.registered'
ORDER BY subject, time, seq
ON CONFLICT (mentor_id) DO UPDATE SET registered_at = EXCLUDED.registered_at, seq = EXCLUDED.seq
WHERE (EXCLUDED.registered_at, EXCLUDED.seq) < (t.registered_at, t.seq);

INSERT INTO {{schema}}.applications_sent AS t (application_id, subject, sent_at, seq)
SELECT DISTINCT ON ((data->>'application_id')::uuid) (data->>'application_id')::uuid, subject, time, seq
FROM batch_events
WHERE type = 'application.sent'
ORDER BY (data->>'application_id')::uuid, time, seq
ON CONFLICT (application_id) DO UPDATE SET subject = EXCLUDED.subject, sent_at = EXCLUDED.sent_at, seq = EXCLUDED.seq
WHERE (EXCLUDED.sent_at, EXCLUDED.seq) < (t.sent_at, t.seq);

INSERT INTO {{schema}}.application_stages AS t (application_id, stage, reached_at, seq)
SELECT DISTINCT ON ((data->>'application_id')::uuid, data->>'stage') (data->>'application_id')::uuid, data->>'stage', time, seq
FROM batch_events
WHERE type = 'application.advanced'
ORDER BY (data->>'application_id')::uuid, data->>'stage', time, seq
ON CONFLICT (application_id, stage) DO UPDATE SET reached_at = EXCLUDED.reached_at, seq = EXCLUDED.seq
WHERE (EXCLUDED.reached_at, EXCLUDED.seq) < (t.reached_at, t.seq);

-- 4. Learning: exact sums per subject and UTC day, and per subject and UTC
--    month, of the events above the watermark; then the watermark moves to
--    the highest seq summed. One statement: both sums read the same rows.
WITH learning AS MATERIALIZED (
    SELECT subject, seq, type,
           (time AT TIME ZONE 'UTC')::date AS day,
           coalesce(CASE type WHEN 'task.completed' THEN data->>'actual_hours' ELSE data->>'hours' END, '0')::numeric AS hours
    FROM batch_events
    WHERE type IN ('learning.progressed', 'learning.completed', 'task.completed')
      AND seq > (SELECT applied_through_seq FROM {{schema}}.learning_watermark)
), days AS (
    INSERT INTO {{schema}}.learning_days AS t (subject, day, hours, activities_completed, tasks_completed, last_seq)
    SELECT subject, day, sum(hours),
           count(*) FILTER (WHERE type = 'learning.completed'), count(*) FILTER (WHERE type = 'task.completed'), max(seq)
    FROM learning
    GROUP BY subject, day
    ON CONFLICT (subject, day) DO UPDATE SET
        hours = t.hours + EXCLUDED.hours,
        activities_completed = t.activities_completed + EXCLUDED.activities_completed,
        tasks_completed = t.tasks_completed + EXCLUDED.tasks_completed,
        last_seq = greatest(t.last_seq, EXCLUDED.last_seq)
), months AS (
    INSERT INTO {{schema}}.learning_months AS t (subject, month, hours, activities_completed, tasks_completed, last_seq)
    SELECT subject, date_trunc('month', day::timestamp)::date, sum(hours),
           count(*) FILTER (WHERE type = 'learning.completed'), count(*) FILTER (WHERE type = 'task.completed'), max(seq)
    FROM learning
    GROUP BY subject, date_trunc('month', day::timestamp)::date
    ON CONFLICT (subject, month) DO UPDATE SET
        hours = t.hours + EXCLUDED.hours,
        activities_completed = t.activities_completed + EXCLUDED.activities_completed,
        tasks_completed = t.tasks_completed + EXCLUDED.tasks_completed,
        last_seq = greatest(t.last_seq, EXCLUDED.last_seq)
)
UPDATE {{schema}}.learning_watermark
SET applied_through_seq = (SELECT max(seq) FROM learning)
WHERE EXISTS (SELECT 1 FROM learning);
