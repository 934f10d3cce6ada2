-- mentorship: applies one batch (batch_events). See Projections/README.md.
-- Facts first; mentorships then read the endings.

-- 1. Mentors: the latest mentor.registered of a subject wins.
INSERT INTO {{schema}}.mentors AS t
    (mentor_id, expertise, industry, years_experience, max_mentees, registered_at, seq)
SELECT DISTINCT ON (subject)
       subject, ARRAY(SELECT jsonb_array_elements_text(data->'expertise')), data->>'industry',
       (data->>'years_experience')::numeric, (data->>'max_mentees')::numeric::integer, time, seq
FROM batch_events
WHERE type = 'mentor.registered'
ORDER BY subject, seq DESC
ON CONFLICT (mentor_id) DO UPDATE SET
    expertise = EXCLUDED.expertise, industry = EXCLUDED.industry, years_experience = EXCLUDED.years_experience,
    max_mentees = EXCLUDED.max_mentees, registered_at = EXCLUDED.registered_at, seq = EXCLUDED.seq
WHERE t.seq < EXCLUDED.seq;

-- 2. Facts, keyed by seq, appended in seq order (the guard makes re-applying
--    an applied batch a no-op).
INSERT INTO {{schema}}.mentoring_sessions (seq, mentorship_id, user_id, duration_minutes, topic, mentee_rating, held_at)
SELECT seq, (data->>'mentorship_id')::uuid, subject, (data->>'duration_minutes')::numeric::integer,
       data->>'topic', (data->>'mentee_rating')::numeric::integer, time
FROM batch_events
WHERE type = 'mentorship.session_held'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.mentoring_sessions);

INSERT INTO {{schema}}.mentorship_endings (seq, mentorship_id, user_id, outcome, ended_at)
SELECT seq, (data->>'mentorship_id')::uuid, subject, data->>'outcome', time
FROM batch_events
WHERE type = 'mentorship.ended'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.mentorship_endings);

-- 3. Mentorships already stored: the batch's latest ending.
UPDATE {{schema}}.mentorships t SET
    status = 'ended', ended_at = x.time, outcome = x.outcome, seq = GREATEST(t.seq, x.seq)
FROM (SELECT DISTINCT ON ((data->>'mentorship_id')::uuid)
             (data->>'mentorship_id')::uuid AS mentorship_id, data->>'outcome' AS outcome, time, seq
      FROM batch_events
      WHERE type = 'mentorship.ended'
      ORDER BY (data->>'mentorship_id')::uuid, seq DESC) x
WHERE t.mentorship_id = x.mentorship_id
  AND t.mentorship_id = ANY (ARRAY(SELECT (data->>'mentorship_id')::uuid FROM batch_events
                                   WHERE type = 'mentorship.ended'));

-- 4. Started mentorships: the batch's earliest mentorship.started (time, seq)
--    per id; it replaces the stored one only when strictly earlier in time.
--    The ending comes from the facts (this batch included). seq = the later
--    of the winning start and the latest ending.
INSERT INTO {{schema}}.mentorships AS t
    (mentorship_id, mentor_id, user_id, goals, started_at, status, ended_at, outcome, seq)
SELECT s.mentorship_id, (s.data->>'mentor_id')::uuid, s.subject,
       CASE WHEN s.data ? 'goals' THEN ARRAY(SELECT jsonb_array_elements_text(s.data->'goals')) END,
       s.time, CASE WHEN x.seq IS NOT NULL THEN 'ended' ELSE 'active' END, x.ended_at, x.outcome,
       GREATEST(s.seq, x.seq)
FROM (SELECT DISTINCT ON ((data->>'mentorship_id')::uuid)
             (data->>'mentorship_id')::uuid AS mentorship_id, subject, data, time, seq
      FROM batch_events
      WHERE type = 'mentorship.started'
      ORDER BY (data->>'mentorship_id')::uuid, time, seq) s
LEFT JOIN LATERAL (SELECT e.seq, e.ended_at, e.outcome
                   FROM {{schema}}.mentorship_endings e
                   WHERE e.mentorship_id = s.mentorship_id
                   ORDER BY e.seq DESC LIMIT 1) x ON true
ON CONFLICT (mentorship_id) DO UPDATE SET
    mentor_id = EXCLUDED.mentor_id, user_id = EXCLUDED.user_id, goals = EXCLUDED.goals,
    started_at = EXCLUDED.started_at, status = EXCLUDED.status, ended_at = EXCLUDED.ended_at,
    outcome = EXCLUDED.outcome, seq = EXCLUDED.seq
WHERE EXCLUDED.started_at < t.started_at;
