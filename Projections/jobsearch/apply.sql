-- jobsearch: applies one batch (batch_events). See Projections/README.md.
-- Erasures and facts first; applications then read the stage facts; the
-- erasure sweep last.

-- 1. Erasures: the first user.erased of a subject (by seq).
INSERT INTO {{schema}}.erasures (user_id, erased_at, seq)
SELECT DISTINCT ON (subject) subject, time, seq
FROM batch_events
WHERE type = 'user.erased'
ORDER BY subject, seq
ON CONFLICT (user_id) DO NOTHING;

-- 2. Facts, keyed by seq, appended in seq order (the guard makes re-applying
--    an applied batch a no-op).
INSERT INTO {{schema}}.application_stages (seq, application_id, user_id, stage, advanced_at)
SELECT seq, (data->>'application_id')::uuid, subject, data->>'stage', time
FROM batch_events
WHERE type = 'application.advanced'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.application_stages);

INSERT INTO {{schema}}.placements
    (seq, user_id, application_id, company, role, salary_amount, salary_currency, employment_type, start_date, placed_at)
SELECT seq, subject, (data->>'application_id')::uuid, data->>'company', data->>'role',
       (data->'salary'->>'amount')::numeric, data->'salary'->>'currency', data->>'employment_type',
       (data->>'start_date')::date, time
FROM batch_events
WHERE type = 'placement.recorded'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.placements);

INSERT INTO {{schema}}.milestones
    (seq, user_id, milestone_type, title, salary_increase_amount, salary_increase_currency, achieved_at)
SELECT seq, subject, data->>'milestone_type', data->>'title',
       (data->'salary_increase'->>'amount')::numeric, data->'salary_increase'->>'currency', time
FROM batch_events
WHERE type = 'milestone.achieved'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.milestones);

-- Feedback: keyed by event id (the first stored wins); comments of an erased
-- subject are never written.
INSERT INTO {{schema}}.employer_feedback
    (feedback_id, user_id, employer, rating, would_hire_again, comments, given_at, seq)
SELECT f.id, f.subject, f.data->>'employer', (f.data->>'rating')::numeric::integer,
       (f.data->>'would_hire_again')::boolean,
       CASE WHEN e.user_id IS NULL THEN f.data->>'comments' END,
       f.time, f.seq
FROM (SELECT DISTINCT ON (id) id, subject, data, time, seq
      FROM batch_events
      WHERE type = 'employer.feedback'
      ORDER BY id, seq) f
LEFT JOIN {{schema}}.erasures e ON e.user_id = f.subject
ON CONFLICT (feedback_id) DO NOTHING;

-- 3. Positions: the latest position.opened of an id wins.
INSERT INTO {{schema}}.positions AS t
    (position_id, recruiter_id, organization, title, required_skills, opened_at, seq)
SELECT DISTINCT ON ((data->>'position_id')::uuid)
       (data->>'position_id')::uuid, subject, data->>'organization', data->>'title',
       CASE WHEN data ? 'required_skills' THEN ARRAY(SELECT jsonb_array_elements_text(data->'required_skills')) END,
       time, seq
FROM batch_events
WHERE type = 'position.opened'
ORDER BY (data->>'position_id')::uuid, seq DESC
ON CONFLICT (position_id) DO UPDATE SET
    recruiter_id = EXCLUDED.recruiter_id, organization = EXCLUDED.organization, title = EXCLUDED.title,
    required_skills = EXCLUDED.required_skills, opened_at = EXCLUDED.opened_at, seq = EXCLUDED.seq
WHERE t.seq < EXCLUDED.seq;

-- 4. Applications already stored: the batch's latest advance sets the stage.
UPDATE {{schema}}.applications t SET
    current_stage = a.stage, stage_updated_at = a.time, seq = GREATEST(t.seq, a.seq)
FROM (SELECT DISTINCT ON ((data->>'application_id')::uuid)
             (data->>'application_id')::uuid AS application_id, data->>'stage' AS stage, time, seq
      FROM batch_events
      WHERE type = 'application.advanced'
      ORDER BY (data->>'application_id')::uuid, seq DESC) a
WHERE t.application_id = a.application_id
  AND t.application_id = ANY (ARRAY(SELECT (data->>'application_id')::uuid FROM batch_events
                                    WHERE type = 'application.advanced'));

-- 5. Sent applications: the batch's earliest application.sent (time, seq)
--    per id; it replaces the stored one only when strictly earlier in time
--    (on a tie the stored one has the lower seq). The stage comes from the
--    latest advance in the facts, which include this batch, so advances that
--    arrived before the application.sent count. seq = the later of the
--    winning application.sent and that advance.
INSERT INTO {{schema}}.applications AS t
    (application_id, user_id, company, position, channel, applied_at, current_stage, stage_updated_at, seq)
SELECT s.application_id, s.subject, s.data->>'company', s.data->>'position', s.data->>'channel', s.time,
       COALESCE(a.stage, 'applied'), a.advanced_at, GREATEST(s.seq, a.seq)
FROM (SELECT DISTINCT ON ((data->>'application_id')::uuid)
             (data->>'application_id')::uuid AS application_id, subject, data, time, seq
      FROM batch_events
      WHERE type = 'application.sent'
      ORDER BY (data->>'application_id')::uuid, time, seq) s
LEFT JOIN LATERAL (SELECT st.seq, st.stage, st.advanced_at
                   FROM {{schema}}.application_stages st
                   WHERE st.application_id = s.application_id
                   ORDER BY st.seq DESC LIMIT 1) a ON true
ON CONFLICT (application_id) DO UPDATE SET
    user_id = EXCLUDED.user_id, company = EXCLUDED.company, position = EXCLUDED.position,
    channel = EXCLUDED.channel, applied_at = EXCLUDED.applied_at, current_stage = EXCLUDED.current_stage,
    stage_updated_at = EXCLUDED.stage_updated_at, seq = EXCLUDED.seq
WHERE EXCLUDED.applied_at < t.applied_at;

-- 6. Erasure sweep: feedback comments of subjects erased in this batch.
UPDATE {{schema}}.employer_feedback t
SET comments = NULL, seq = GREATEST(t.seq, e.seq)
FROM (SELECT subject, max(seq) AS seq FROM batch_events WHERE type = 'user.erased' GROUP BY subject) e
WHERE t.user_id = e.subject
  AND t.user_id = ANY (ARRAY(SELECT subject FROM batch_events WHERE type = 'user.erased'));
