-- roadmaps: roadmaps and their tasks with completion, task completions,
-- goals and their achievements. Fed by roadmap.created, task.completed,
-- goal.set, goal.achieved. See Projections/README.md.

-- One row per roadmap_id: the latest roadmap.created of it (by seq).
CREATE TABLE {{schema}}.roadmaps (
    roadmap_id      uuid PRIMARY KEY,
    user_id         uuid NOT NULL,
    title           text NOT NULL,
    career_path     text,
    duration_weeks  integer NOT NULL,
    created_at      timestamptz NOT NULL,
    seq             bigint NOT NULL
);
CREATE INDEX roadmaps_user ON {{schema}}.roadmaps (user_id);

-- The tasks of the latest roadmap.created of each roadmap, in list order
-- (ordinal from 1; task_id is optional in the schema, so it is not the key).
-- completed_at/actual_hours: the latest task.completed naming
-- (roadmap_id, task_id), whenever it arrived.
CREATE TABLE {{schema}}.roadmap_tasks (
    roadmap_id       uuid NOT NULL,
    ordinal          integer NOT NULL,
    task_id          uuid,
    phase            numeric,         -- numeric: the schema sets no upper bound
    week             numeric,
    title            text,
    type             text,            -- course | project | reading | practice
    estimated_hours  numeric,
    completed_at     timestamptz,
    actual_hours     numeric,
    seq              bigint NOT NULL,
    PRIMARY KEY (roadmap_id, ordinal)
) WITH (fillfactor = 85);  -- room for HOT updates: rows change as later events arrive
CREATE INDEX roadmap_tasks_task ON {{schema}}.roadmap_tasks (roadmap_id, task_id);

-- Every task.completed (also for roadmaps or tasks not created yet).
CREATE TABLE {{schema}}.task_completions (
    seq           bigint PRIMARY KEY,
    roadmap_id    uuid NOT NULL,
    task_id       uuid NOT NULL,
    user_id       uuid NOT NULL,
    actual_hours  numeric,
    completed_at  timestamptz NOT NULL
);
CREATE INDEX task_completions_task ON {{schema}}.task_completions (roadmap_id, task_id, seq);

-- One row per goal_id: the latest goal.set of it, with the latest
-- goal.achieved of it folded in.
CREATE TABLE {{schema}}.goals (
    goal_id      uuid PRIMARY KEY,
    user_id      uuid NOT NULL,
    title        text NOT NULL,
    kind         text,               -- skill | role | certification | project
    target_date  date,
    priority     text,               -- low | medium | high
    status       text NOT NULL,      -- active | achieved
    created_at   timestamptz NOT NULL,
    achieved_at  timestamptz,
    seq          bigint NOT NULL
) WITH (fillfactor = 90);  -- room for HOT updates: rows change as later events arrive
CREATE INDEX goals_user ON {{schema}}.goals (user_id);

-- Every goal.achieved (also for goals not set yet).
CREATE TABLE {{schema}}.goal_achievements (
    seq          bigint PRIMARY KEY,
    goal_id      uuid NOT NULL,
    user_id      uuid NOT NULL,
    achieved_at  timestamptz NOT NULL
);
CREATE INDEX goal_achievements_goal ON {{schema}}.goal_achievements (goal_id, seq);

-- Per roadmap: task counts and hours.
CREATE VIEW {{schema}}.roadmap_progress AS
SELECT r.roadmap_id, r.user_id,
       count(t.ordinal) AS tasks_total,
       count(t.completed_at) AS tasks_completed,
       CASE WHEN count(t.ordinal) > 0
            THEN round(100.0 * count(t.completed_at) / count(t.ordinal), 2) END AS completion_percentage,
       sum(t.estimated_hours) AS estimated_hours,
       sum(t.actual_hours) AS actual_hours
FROM {{schema}}.roadmaps r
LEFT JOIN {{schema}}.roadmap_tasks t ON t.roadmap_id = r.roadmap_id
GROUP BY r.roadmap_id, r.user_id;
