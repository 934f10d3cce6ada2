-- portfolio: applies one batch (batch_events). See Projections/README.md.

-- 1. Projects: the latest portfolio.project_added of an id wins.
INSERT INTO {{schema}}.portfolio_projects AS t (project_id, user_id, title, technologies, url, created_at, seq)
SELECT DISTINCT ON ((data->>'project_id')::uuid)
       (data->>'project_id')::uuid, subject, data->>'title',
       CASE WHEN data ? 'technologies' THEN ARRAY(SELECT jsonb_array_elements_text(data->'technologies')) END,
       data->>'url', time, seq
FROM batch_events
WHERE type = 'portfolio.project_added'
ORDER BY (data->>'project_id')::uuid, seq DESC
ON CONFLICT (project_id) DO UPDATE SET
    user_id = EXCLUDED.user_id, title = EXCLUDED.title, technologies = EXCLUDED.technologies,
    url = EXCLUDED.url, created_at = EXCLUDED.created_at, seq = EXCLUDED.seq
WHERE t.seq < EXCLUDED.seq;

-- 2. Reviews, keyed by seq.
INSERT INTO {{schema}}.project_reviews
    (seq, project_id, user_id, reviewer_id, reviewer_role, score, showcase_ready, reviewed_at)
SELECT seq, (data->>'project_id')::uuid, subject, (data->>'reviewer_id')::uuid, data->>'reviewer_role',
       (data->>'score')::numeric::integer, (data->>'showcase_ready')::boolean, time
FROM batch_events
WHERE type = 'project.reviewed'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.project_reviews);
