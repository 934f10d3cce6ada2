-- learning: applies one batch (batch_events). See Projections/README.md.
-- Facts are appended in seq order; the guard `seq > max(seq)` makes
-- re-applying an already applied batch a no-op.

-- 1. Facts.
INSERT INTO {{schema}}.learning_progress (seq, activity_id, user_id, completion_percentage, hours, reported_at)
SELECT seq, (data->>'activity_id')::uuid, subject, (data->>'completion_percentage')::numeric,
       (data->>'hours')::numeric, time
FROM batch_events
WHERE type = 'learning.progressed'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.learning_progress);

INSERT INTO {{schema}}.learning_completions (seq, activity_id, user_id, hours, rating, completed_at)
SELECT seq, (data->>'activity_id')::uuid, subject, (data->>'hours')::numeric,
       (data->>'rating')::numeric::integer, time
FROM batch_events
WHERE type = 'learning.completed'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.learning_completions);

INSERT INTO {{schema}}.certifications (seq, user_id, name, issuer, credential_id, issued_on, expires_on, earned_at)
SELECT seq, subject, data->>'name', data->>'issuer', data->>'credential_id',
       (data->>'issued_on')::date, (data->>'expires_on')::date, time
FROM batch_events
WHERE type = 'certification.earned'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.certifications);

-- 2. Activities: one upsert per activity named in the batch. Per activity the
--    batch's latest learning.started, latest progress report and latest
--    completion (one sort of the batch's learning events) are merged over the
--    stored row: a component present in the batch is newer than the stored
--    one, so it replaces it; an absent one leaves it. This is what applying
--    the events one at a time gives, in any arrival order.
INSERT INTO {{schema}}.learning_activities AS t
    (activity_id, user_id, activity_type, title, provider, skills_targeted, cost_amount, cost_currency,
     started_at, status, completion_percentage, last_progress_at, completed_at, rating, seq)
SELECT a.activity_id, a.subject,
       a.s_data->>'activity_type', a.s_data->>'title', a.s_data->>'provider',
       CASE WHEN a.s_data ? 'skills_targeted' THEN ARRAY(SELECT jsonb_array_elements_text(a.s_data->'skills_targeted')) END,
       (a.s_data->'cost'->>'amount')::numeric, a.s_data->'cost'->>'currency',
       a.s_time,
       CASE WHEN a.c_time IS NOT NULL THEN 'completed' ELSE 'in_progress' END,
       CASE WHEN a.c_time IS NOT NULL THEN 100 ELSE COALESCE((a.p_data->>'completion_percentage')::numeric, 0) END,
       a.p_time, a.c_time, (a.c_data->>'rating')::numeric::integer,
       a.seq
FROM (SELECT activity_id,
             max(seq) AS seq,
             (array_agg(subject ORDER BY seq DESC))[1] AS subject,
             (array_agg(data) FILTER (WHERE type = 'learning.started'))[1]    AS s_data,
             max(time)        FILTER (WHERE type = 'learning.started')       AS s_time,
             (array_agg(data) FILTER (WHERE type = 'learning.progressed'))[1] AS p_data,
             max(time)        FILTER (WHERE type = 'learning.progressed')    AS p_time,
             (array_agg(data) FILTER (WHERE type = 'learning.completed'))[1]  AS c_data,
             max(time)        FILTER (WHERE type = 'learning.completed')     AS c_time
      FROM (SELECT DISTINCT ON ((data->>'activity_id')::uuid, type)
                   (data->>'activity_id')::uuid AS activity_id, type, seq, subject, time, data
            FROM batch_events
            WHERE type IN ('learning.started', 'learning.progressed', 'learning.completed')
            ORDER BY (data->>'activity_id')::uuid, type, seq DESC) latest
      GROUP BY activity_id) a
ON CONFLICT (activity_id) DO UPDATE SET
    user_id               = EXCLUDED.user_id,
    activity_type         = CASE WHEN EXCLUDED.started_at IS NOT NULL THEN EXCLUDED.activity_type ELSE t.activity_type END,
    title                 = CASE WHEN EXCLUDED.started_at IS NOT NULL THEN EXCLUDED.title ELSE t.title END,
    provider              = CASE WHEN EXCLUDED.started_at IS NOT NULL THEN EXCLUDED.provider ELSE t.provider END,
    skills_targeted       = CASE WHEN EXCLUDED.started_at IS NOT NULL THEN EXCLUDED.skills_targeted ELSE t.skills_targeted END,
    cost_amount           = CASE WHEN EXCLUDED.started_at IS NOT NULL THEN EXCLUDED.cost_amount ELSE t.cost_amount END,
    cost_currency         = CASE WHEN EXCLUDED.started_at IS NOT NULL THEN EXCLUDED.cost_currency ELSE t.cost_currency END,
    started_at            = COALESCE(EXCLUDED.started_at, t.started_at),
    status                = CASE WHEN EXCLUDED.completed_at IS NOT NULL OR t.status = 'completed'
                                 THEN 'completed' ELSE 'in_progress' END,
    completion_percentage = CASE WHEN EXCLUDED.completed_at IS NOT NULL OR t.status = 'completed' THEN 100
                                 WHEN EXCLUDED.last_progress_at IS NOT NULL THEN EXCLUDED.completion_percentage
                                 ELSE t.completion_percentage END,
    last_progress_at      = COALESCE(EXCLUDED.last_progress_at, t.last_progress_at),
    completed_at          = COALESCE(EXCLUDED.completed_at, t.completed_at),
    rating                = CASE WHEN EXCLUDED.completed_at IS NOT NULL THEN EXCLUDED.rating ELSE t.rating END,
    seq                   = EXCLUDED.seq
WHERE t.seq < EXCLUDED.seq;
