-- portfolio: portfolio projects and their reviews.
-- Fed by portfolio.project_added and project.reviewed. See Projections/README.md.

-- One row per project_id: the latest portfolio.project_added of it.
CREATE TABLE {{schema}}.portfolio_projects (
    project_id    uuid PRIMARY KEY,
    user_id       uuid NOT NULL,
    title         text NOT NULL,
    technologies  text[],
    url           text,
    created_at    timestamptz NOT NULL,
    seq           bigint NOT NULL
);
CREATE INDEX portfolio_projects_user ON {{schema}}.portfolio_projects (user_id);

-- Every project.reviewed (also of projects not, or not yet, added).
CREATE TABLE {{schema}}.project_reviews (
    seq             bigint PRIMARY KEY,
    project_id      uuid NOT NULL,
    user_id         uuid NOT NULL,    -- the subject (the project's owner)
    reviewer_id     uuid,
    reviewer_role   text NOT NULL,    -- mentor | peer | expert
    score           integer NOT NULL, -- 1..5
    showcase_ready  boolean,
    reviewed_at     timestamptz NOT NULL
);
CREATE INDEX project_reviews_project ON {{schema}}.project_reviews (project_id, seq);

-- Per project: review count, average score, and showcase_ready as the latest
-- review (by seq) that says it.
CREATE VIEW {{schema}}.project_review_stats AS
SELECT project_id,
       count(*) AS reviews,
       avg(score) AS average_score,
       max(reviewed_at) AS last_reviewed_at,
       (array_agg(showcase_ready ORDER BY seq DESC) FILTER (WHERE showcase_ready IS NOT NULL))[1] AS showcase_ready
FROM {{schema}}.project_reviews
GROUP BY project_id;
