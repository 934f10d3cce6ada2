-- learning: applies one batch (batch_events). See Projections/README.md.

-- 1. Certifications, keyed by seq, appended in seq order (the guard makes
--    re-applying an applied batch a no-op).
INSERT INTO {{schema}}.certifications (seq, user_id, name, issuer, credential_id, issued_on, expires_on, earned_at)
SELECT seq, subject, data->>'name', data->>'issuer', data->>'credential_id',
       (data->>'issued_on')::date, (data->>'expires_on')::date, time
FROM batch_events
WHERE type = 'certification.earned'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.certifications);

-- 2. Activities: one upsert per activity named in the batch. Per activity the
--    batch's latest learning.started, latest progress report and latest
--    completion replace the stored ones (being newer); components absent
--    from the batch leave the stored ones; hours add up (a sum does not
--    depend on the order or the batching). This is what applying the events
--    one at a time gives, in any arrival order. The seq guard makes
--    re-applying an applied batch a no-op (the counter is not added twice).
INSERT INTO {{schema}}.learning_activities AS t
    (activity_id, user_id, activity_type, title, provider, skills_targeted, cost_amount, cost_currency,
     started_at, status, completion_percentage, hours_logged, last_progress_at, completed_at, rating, seq)
SELECT a.activity_id,
       CASE a.seq WHEN a.s_seq THEN a.s_subject WHEN a.p_seq THEN a.p_subject ELSE a.c_subject END,
       a.s_data->>'activity_type', a.s_data->>'title', a.s_data->>'provider',
       CASE WHEN a.s_data ? 'skills_targeted' THEN ARRAY(SELECT jsonb_array_elements_text(a.s_data->'skills_targeted')) END,
       (a.s_data->'cost'->>'amount')::numeric, a.s_data->'cost'->>'currency',
       a.s_time,
       CASE WHEN a.c_seq IS NOT NULL THEN 'completed' ELSE 'in_progress' END,
       CASE WHEN a.c_seq IS NOT NULL THEN 100 ELSE COALESCE((a.p_data->>'completion_percentage')::numeric, 0) END,
       a.hours, a.p_time, a.c_time, (a.c_data->>'rating')::numeric::integer, a.seq
FROM (-- per activity: the latest event of each type (at most 3 rows) and the batch's hours
      SELECT activity_id,
             max(seq) AS seq,
             max(hours) AS hours,
             max(seq)  FILTER (WHERE type = 'learning.started')            AS s_seq,
             (array_agg(subject) FILTER (WHERE type = 'learning.started'))[1] AS s_subject,
             (array_agg(data) FILTER (WHERE type = 'learning.started'))[1]    AS s_data,
             max(time) FILTER (WHERE type = 'learning.started')            AS s_time,
             max(seq)  FILTER (WHERE type = 'learning.progressed')            AS p_seq,
             (array_agg(subject) FILTER (WHERE type = 'learning.progressed'))[1] AS p_subject,
             (array_agg(data) FILTER (WHERE type = 'learning.progressed'))[1]    AS p_data,
             max(time) FILTER (WHERE type = 'learning.progressed')            AS p_time,
             max(seq)  FILTER (WHERE type = 'learning.completed')            AS c_seq,
             (array_agg(subject) FILTER (WHERE type = 'learning.completed'))[1] AS c_subject,
             (array_agg(data) FILTER (WHERE type = 'learning.completed'))[1]    AS c_data,
             max(time) FILTER (WHERE type = 'learning.completed')            AS c_time
      FROM (SELECT DISTINCT ON (activity_id, type) activity_id, type, seq, subject, time, data,
                   COALESCE(sum(hours) OVER (PARTITION BY activity_id), 0) AS hours
            FROM (SELECT (data->>'activity_id')::uuid AS activity_id, type, seq, subject, time, data,
                         (data->>'hours')::numeric AS hours
                  FROM batch_events
                  WHERE type IN ('learning.started', 'learning.progressed', 'learning.completed')) e
            ORDER BY activity_id, type, seq DESC) latest
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
    hours_logged          = t.hours_logged + EXCLUDED.hours_logged,
    last_progress_at      = COALESCE(EXCLUDED.last_progress_at, t.last_progress_at),
    completed_at          = COALESCE(EXCLUDED.completed_at, t.completed_at),
    rating                = CASE WHEN EXCLUDED.completed_at IS NOT NULL THEN EXCLUDED.rating ELSE t.rating END,
    seq                   = EXCLUDED.seq
WHERE t.seq < EXCLUDED.seq;
