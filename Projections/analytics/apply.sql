-- analytics: applies one batch (batch_events). See schema.sql for the tables
-- and Projections/analytics/README.md for why each kind of row is
-- independent of where batches begin and end.

-- 1. As of: in an as-of build by time, the moment asked for (the projector
--    sets careerlog.as_of_time for the batch's transaction); otherwise the
--    newest event time of every event applied, any type.
INSERT INTO {{schema}}.as_of AS t (singleton, newest_event_time)
SELECT true, coalesce(nullif(current_setting('careerlog.as_of_time', true), '')::timestamptz, max(time))
FROM batch_events
HAVING count(*) > 0 OR nullif(current_setting('careerlog.as_of_time', true), '') IS NOT NULL
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
       (data->>'duration_minutes')::numeric::integer, (data->>'mentee_rating')::numeric::integer
FROM batch_events
WHERE type = 'mentorship.session_held'
ON CONFLICT (seq) DO NOTHING;

-- 3. First by time: the batch's earliest per key replaces the stored one
--    only if it comes first; min is order-independent.
INSERT INTO {{schema}}.mentor_registrations AS t (mentor_id, registered_at, seq)
SELECT DISTINCT ON (subject) subject, time, seq
FROM batch_events
WHERE type = 'mentor.registered'
ORDER BY subject, time, seq
ON CONFLICT (mentor_id) DO UPDATE SET registered_at = EXCLUDED.registered_at, seq = EXCLUDED.seq
WHERE (EXCLUDED.registered_at, EXCLUDED.seq) < (t.registered_at, t.seq);

-- Applications: the earliest time of each milestone per application_id
-- (least() ignores NULLs, and min is order-independent). Placements name
-- their application optionally.
INSERT INTO {{schema}}.applications AS t
    (application_id, first_sent_at, first_interview_at, first_offer_at, first_placed_at)
SELECT (data->>'application_id')::uuid,
       min(time) FILTER (WHERE type = 'application.sent'),
       min(time) FILTER (WHERE type = 'application.advanced' AND data->>'stage' = 'interview'),
       min(time) FILTER (WHERE type = 'application.advanced' AND data->>'stage' = 'offer'),
       min(time) FILTER (WHERE type = 'placement.recorded')
FROM batch_events
WHERE type IN ('application.sent', 'application.advanced', 'placement.recorded')
  AND data ? 'application_id'
GROUP BY 1
ON CONFLICT (application_id) DO UPDATE SET
    first_sent_at = least(t.first_sent_at, EXCLUDED.first_sent_at),
    first_interview_at = least(t.first_interview_at, EXCLUDED.first_interview_at),
    first_offer_at = least(t.first_offer_at, EXCLUDED.first_offer_at),
    first_placed_at = least(t.first_placed_at, EXCLUDED.first_placed_at);

-- 4. Learning: exact sums per subject and UTC month of the events above the
--    watermark, the days with hours > 0 OR-ed into the month's mask; then
--    the watermark moves to the highest seq summed (one statement: both
--    read the same rows).
WITH learning AS MATERIALIZED (
    SELECT subject, seq, type,
           (time AT TIME ZONE 'UTC')::date AS day,
           coalesce(CASE type WHEN 'task.completed' THEN data->>'actual_hours' ELSE data->>'hours' END, '0')::numeric AS hours
    FROM batch_events
    WHERE type IN ('learning.progressed', 'learning.completed', 'task.completed')
      AND seq > coalesce((SELECT applied_through_seq FROM {{schema}}.learning_watermark), 0)
), months AS (
    INSERT INTO {{schema}}.learning_months AS t
        (subject, month, hours, activities_completed, tasks_completed, active_days, last_seq)
    SELECT subject, date_trunc('month', day::timestamp)::date, sum(hours),
           count(*) FILTER (WHERE type = 'learning.completed'), count(*) FILTER (WHERE type = 'task.completed'),
           bit_or(CASE WHEN hours > 0 THEN 1 << (extract(day FROM day)::integer - 1) ELSE 0 END), max(seq)
    FROM learning
    GROUP BY subject, date_trunc('month', day::timestamp)::date
    ON CONFLICT (subject, month) DO UPDATE SET
        hours = t.hours + EXCLUDED.hours,
        activities_completed = t.activities_completed + EXCLUDED.activities_completed,
        tasks_completed = t.tasks_completed + EXCLUDED.tasks_completed,
        active_days = t.active_days | EXCLUDED.active_days,
        last_seq = greatest(t.last_seq, EXCLUDED.last_seq)
)
INSERT INTO {{schema}}.learning_watermark AS t (singleton, applied_through_seq)
SELECT true, max(seq) FROM learning HAVING count(*) > 0
ON CONFLICT (singleton) DO UPDATE SET applied_through_seq = EXCLUDED.applied_through_seq
WHERE EXCLUDED.applied_through_seq > t.applied_through_seq;
