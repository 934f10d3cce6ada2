-- learning: applies one batch (batch_events). See Projections/README.md.
-- Facts first; the activities then read them.

-- 1. Facts, keyed by seq.
INSERT INTO {{schema}}.learning_progress (seq, activity_id, user_id, completion_percentage, hours, reported_at)
SELECT seq, (data->>'activity_id')::uuid, subject, (data->>'completion_percentage')::numeric,
       (data->>'hours')::numeric, time
FROM batch_events
WHERE type = 'learning.progressed'
ON CONFLICT (activity_id, seq) DO NOTHING;

INSERT INTO {{schema}}.learning_completions (seq, activity_id, user_id, hours, rating, completed_at)
SELECT seq, (data->>'activity_id')::uuid, subject, (data->>'hours')::numeric,
       (data->>'rating')::numeric::integer, time
FROM batch_events
WHERE type = 'learning.completed'
ON CONFLICT (activity_id, seq) DO NOTHING;

INSERT INTO {{schema}}.certifications (seq, user_id, name, issuer, credential_id, issued_on, expires_on, earned_at)
SELECT seq, subject, data->>'name', data->>'issuer', data->>'credential_id',
       (data->>'issued_on')::date, (data->>'expires_on')::date, time
FROM batch_events
WHERE type = 'certification.earned'
ON CONFLICT (seq) DO NOTHING;

-- 2. Activities already stored: fold in the batch's latest progress report
--    and latest completion (the batch's latest is the latest overall),
--    found by max(seq) per activity and read back from the facts.
UPDATE {{schema}}.learning_activities t SET
    status                = CASE WHEN u.c_seq IS NOT NULL THEN 'completed' ELSE t.status END,
    completion_percentage = CASE WHEN u.c_seq IS NOT NULL OR t.status = 'completed' THEN 100
                                 WHEN u.p_seq IS NOT NULL THEN p.completion_percentage
                                 ELSE t.completion_percentage END,
    last_progress_at      = CASE WHEN u.p_seq IS NOT NULL THEN p.reported_at ELSE t.last_progress_at END,
    completed_at          = CASE WHEN u.c_seq IS NOT NULL THEN c.completed_at ELSE t.completed_at END,
    rating                = CASE WHEN u.c_seq IS NOT NULL THEN c.rating ELSE t.rating END,
    seq                   = GREATEST(t.seq, u.p_seq, u.c_seq)
FROM (SELECT (data->>'activity_id')::uuid AS activity_id,
             max(seq) FILTER (WHERE type = 'learning.progressed') AS p_seq,
             max(seq) FILTER (WHERE type = 'learning.completed')  AS c_seq
      FROM batch_events
      WHERE type IN ('learning.progressed', 'learning.completed')
      GROUP BY 1) u
LEFT JOIN {{schema}}.learning_progress p ON p.activity_id = u.activity_id AND p.seq = u.p_seq
LEFT JOIN {{schema}}.learning_completions c ON c.activity_id = u.activity_id AND c.seq = u.c_seq
WHERE t.activity_id = u.activity_id;

-- 3. Activities started in this batch (latest learning.started wins): the
--    whole row, with progress and completion looked up in the facts (which
--    now include this batch). seq = the latest of the start, the latest
--    progress report and the latest completion, as one-at-a-time gives.
--    No WHERE on the update: this row is always at least as new as the
--    stored one (it includes every fact up to the end of the batch).
INSERT INTO {{schema}}.learning_activities AS t
    (activity_id, user_id, activity_type, title, provider, skills_targeted, cost_amount, cost_currency,
     started_at, status, completion_percentage, last_progress_at, completed_at, rating, seq)
SELECT s.activity_id, s.subject, s.data->>'activity_type', s.data->>'title', s.data->>'provider',
       CASE WHEN s.data ? 'skills_targeted' THEN ARRAY(SELECT jsonb_array_elements_text(s.data->'skills_targeted')) END,
       (s.data->'cost'->>'amount')::numeric, s.data->'cost'->>'currency',
       s.time,
       CASE WHEN c.seq IS NOT NULL THEN 'completed' ELSE 'in_progress' END,
       CASE WHEN c.seq IS NOT NULL THEN 100 ELSE COALESCE(p.completion_percentage, 0) END,
       p.reported_at, c.completed_at, c.rating,
       GREATEST(s.seq, p.seq, c.seq)
FROM (SELECT DISTINCT ON ((data->>'activity_id')::uuid) (data->>'activity_id')::uuid AS activity_id,
             subject, data, time, seq
      FROM batch_events
      WHERE type = 'learning.started'
      ORDER BY (data->>'activity_id')::uuid, seq DESC) s
LEFT JOIN LATERAL (SELECT lp.seq, lp.completion_percentage, lp.reported_at
                   FROM {{schema}}.learning_progress lp
                   WHERE lp.activity_id = s.activity_id
                   ORDER BY lp.seq DESC LIMIT 1) p ON true
LEFT JOIN LATERAL (SELECT lc.seq, lc.completed_at, lc.rating
                   FROM {{schema}}.learning_completions lc
                   WHERE lc.activity_id = s.activity_id
                   ORDER BY lc.seq DESC LIMIT 1) c ON true
ON CONFLICT (activity_id) DO UPDATE SET
    user_id = EXCLUDED.user_id, activity_type = EXCLUDED.activity_type, title = EXCLUDED.title,
    provider = EXCLUDED.provider, skills_targeted = EXCLUDED.skills_targeted,
    cost_amount = EXCLUDED.cost_amount, cost_currency = EXCLUDED.cost_currency,
    started_at = EXCLUDED.started_at, status = EXCLUDED.status,
    completion_percentage = EXCLUDED.completion_percentage, last_progress_at = EXCLUDED.last_progress_at,
    completed_at = EXCLUDED.completed_at, rating = EXCLUDED.rating, seq = EXCLUDED.seq;
