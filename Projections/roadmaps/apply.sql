-- roadmaps: applies one batch (batch_events). See Projections/README.md.
-- Facts first; roadmaps, tasks and goals then read them.

-- 1. Facts, keyed by seq, appended in seq order (the guard makes re-applying
--    an applied batch a no-op).
INSERT INTO {{schema}}.task_completions (seq, roadmap_id, task_id, user_id, actual_hours, completed_at)
SELECT seq, (data->>'roadmap_id')::uuid, (data->>'task_id')::uuid, subject,
       (data->>'actual_hours')::numeric, time
FROM batch_events
WHERE type = 'task.completed'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.task_completions);

INSERT INTO {{schema}}.goal_achievements (seq, goal_id, user_id, achieved_at)
SELECT seq, (data->>'goal_id')::uuid, subject, time
FROM batch_events
WHERE type = 'goal.achieved'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.goal_achievements);

-- 2. Roadmaps: the latest roadmap.created of an id wins.
INSERT INTO {{schema}}.roadmaps AS t (roadmap_id, user_id, title, career_path, duration_weeks, created_at, seq)
SELECT DISTINCT ON ((data->>'roadmap_id')::uuid)
       (data->>'roadmap_id')::uuid, subject, data->>'title', data->>'career_path',
       (data->>'duration_weeks')::numeric::integer, time, seq
FROM batch_events
WHERE type = 'roadmap.created'
ORDER BY (data->>'roadmap_id')::uuid, seq DESC
ON CONFLICT (roadmap_id) DO UPDATE SET
    user_id = EXCLUDED.user_id, title = EXCLUDED.title, career_path = EXCLUDED.career_path,
    duration_weeks = EXCLUDED.duration_weeks, created_at = EXCLUDED.created_at, seq = EXCLUDED.seq
WHERE t.seq < EXCLUDED.seq;

-- 3. Tasks of roadmaps (re)created in this batch: replaced by the task list
--    of the latest roadmap.created, completion looked up in the facts (which
--    include this batch). seq = the later of that roadmap.created and the
--    task's latest completion.
DELETE FROM {{schema}}.roadmap_tasks
WHERE roadmap_id = ANY (ARRAY(SELECT (data->>'roadmap_id')::uuid FROM batch_events WHERE type = 'roadmap.created'));

INSERT INTO {{schema}}.roadmap_tasks
    (roadmap_id, ordinal, task_id, phase, week, title, type, estimated_hours, completed_at, actual_hours, seq)
SELECT r.roadmap_id, k.ordinal::integer, (k.task->>'task_id')::uuid,
       trunc((k.task->>'phase')::numeric), trunc((k.task->>'week')::numeric),
       k.task->>'title', k.task->>'type', (k.task->>'estimated_hours')::numeric,
       c.completed_at, c.actual_hours, GREATEST(r.seq, c.seq)
FROM (SELECT DISTINCT ON ((data->>'roadmap_id')::uuid) (data->>'roadmap_id')::uuid AS roadmap_id, data, seq
      FROM batch_events
      WHERE type = 'roadmap.created'
      ORDER BY (data->>'roadmap_id')::uuid, seq DESC) r
CROSS JOIN LATERAL jsonb_array_elements(r.data->'tasks') WITH ORDINALITY AS k(task, ordinal)
LEFT JOIN LATERAL (SELECT tc.seq, tc.completed_at, tc.actual_hours
                   FROM {{schema}}.task_completions tc
                   WHERE tc.roadmap_id = r.roadmap_id AND tc.task_id = (k.task->>'task_id')::uuid
                   ORDER BY tc.seq DESC LIMIT 1) c ON true
ON CONFLICT (roadmap_id, ordinal) DO NOTHING;

-- 4. Completions in this batch: the latest per (roadmap, task) marks every
--    stored task with that id (tasks inserted just above get the same values).
UPDATE {{schema}}.roadmap_tasks t SET
    completed_at = c.time, actual_hours = c.actual_hours, seq = GREATEST(t.seq, c.seq)
FROM (SELECT DISTINCT ON ((data->>'roadmap_id')::uuid, (data->>'task_id')::uuid)
             (data->>'roadmap_id')::uuid AS roadmap_id, (data->>'task_id')::uuid AS task_id,
             (data->>'actual_hours')::numeric AS actual_hours, time, seq
      FROM batch_events
      WHERE type = 'task.completed'
      ORDER BY (data->>'roadmap_id')::uuid, (data->>'task_id')::uuid, seq DESC) c
WHERE t.roadmap_id = c.roadmap_id AND t.task_id = c.task_id
  AND t.roadmap_id = ANY (ARRAY(SELECT (data->>'roadmap_id')::uuid FROM batch_events WHERE type = 'task.completed'));

-- 5. Goals already stored: the batch's latest achievement.
UPDATE {{schema}}.goals t SET
    status = 'achieved', achieved_at = a.time, seq = GREATEST(t.seq, a.seq)
FROM (SELECT DISTINCT ON ((data->>'goal_id')::uuid) (data->>'goal_id')::uuid AS goal_id, time, seq
      FROM batch_events
      WHERE type = 'goal.achieved'
      ORDER BY (data->>'goal_id')::uuid, seq DESC) a
WHERE t.goal_id = a.goal_id
  AND t.goal_id = ANY (ARRAY(SELECT (data->>'goal_id')::uuid FROM batch_events WHERE type = 'goal.achieved'));

-- 6. Goals set in this batch (latest goal.set wins), achievement looked up
--    in the facts. Always at least as new as the stored row: no WHERE.
INSERT INTO {{schema}}.goals AS t
    (goal_id, user_id, title, kind, target_date, priority, status, created_at, achieved_at, seq)
SELECT g.goal_id, g.subject, g.data->>'title', g.data->>'kind', (g.data->>'target_date')::date,
       g.data->>'priority', CASE WHEN a.seq IS NOT NULL THEN 'achieved' ELSE 'active' END,
       g.time, a.achieved_at, GREATEST(g.seq, a.seq)
FROM (SELECT DISTINCT ON ((data->>'goal_id')::uuid) (data->>'goal_id')::uuid AS goal_id, subject, data, time, seq
      FROM batch_events
      WHERE type = 'goal.set'
      ORDER BY (data->>'goal_id')::uuid, seq DESC) g
LEFT JOIN LATERAL (SELECT ga.seq, ga.achieved_at
                   FROM {{schema}}.goal_achievements ga
                   WHERE ga.goal_id = g.goal_id
                   ORDER BY ga.seq DESC LIMIT 1) a ON true
ON CONFLICT (goal_id) DO UPDATE SET
    user_id = EXCLUDED.user_id, title = EXCLUDED.title, kind = EXCLUDED.kind,
    target_date = EXCLUDED.target_date, priority = EXCLUDED.priority, status = EXCLUDED.status,
    created_at = EXCLUDED.created_at, achieved_at = EXCLUDED.achieved_at, seq = EXCLUDED.seq;
