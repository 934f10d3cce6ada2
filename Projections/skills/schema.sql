-- skills: the skills catalog, users' current skills, the assessment history,
-- and parsed CVs. Fed by skill.assessed and cv.parsed. See Projections/README.md.
-- Skill names are matched exactly as written (case and spacing included).

-- Every skill name any skill.assessed or cv.parsed mentioned. category is the
-- one of the latest skill.assessed of that name (NULL while only CVs named it).
CREATE TABLE {{schema}}.skills (
    name      text PRIMARY KEY,
    category  text,               -- technical | soft | domain
    seq       bigint NOT NULL
);

-- One row per (user, skill): the latest assessment that counts (a
-- skill.assessed, or a cv.parsed skill the user did not have yet).
CREATE TABLE {{schema}}.user_skills (
    user_id      uuid NOT NULL,
    skill        text NOT NULL,
    category     text,            -- NULL when the assessment came from a CV
    level        text NOT NULL,   -- beginner | intermediate | advanced | expert
    score        numeric,         -- 0..100
    source       text NOT NULL,   -- manual | cv | github | linkedin | assessment | mentor
    verified     boolean NOT NULL,
    assessor_id  uuid,
    cv_id        uuid,            -- the CV, when source = 'cv' came from a cv.parsed
    assessed_at  timestamptz NOT NULL,
    seq          bigint NOT NULL,
    PRIMARY KEY (user_id, skill)
) WITH (fillfactor = 85);  -- room for HOT updates: rows change as later events arrive
CREATE INDEX user_skills_skill ON {{schema}}.user_skills (skill);

-- History: every skill.assessed, and every cv.parsed skill that counted as an
-- assessment (source 'cv', level 'beginner'). Keyed by the event's seq (and
-- the skill, as one cv.parsed yields several rows).
CREATE TABLE {{schema}}.skill_assessments (
    seq          bigint NOT NULL,
    skill        text NOT NULL,
    user_id      uuid NOT NULL,
    category     text,
    level        text NOT NULL,
    score        numeric,
    source       text NOT NULL,
    verified     boolean NOT NULL,
    assessor_id  uuid,
    cv_id        uuid,
    assessed_at  timestamptz NOT NULL,
    PRIMARY KEY (seq, skill)
);
CREATE INDEX skill_assessments_user ON {{schema}}.skill_assessments (user_id);

-- One row per cv_id: the latest cv.parsed of it.
CREATE TABLE {{schema}}.cv_parses (
    cv_id           uuid PRIMARY KEY,
    user_id         uuid NOT NULL,
    skills          text[] NOT NULL,
    experience      jsonb,        -- [{title, company, months}]
    education       jsonb,        -- [{degree, institution, year}]
    certifications  text[],
    parsed_at       timestamptz NOT NULL,
    seq             bigint NOT NULL
);
CREATE INDEX cv_parses_user ON {{schema}}.cv_parses (user_id);

-- The validator accepts 30.0 and 3e1 as integers and the log keeps numbers
-- as written: the copies of a CV's lists keep their integer field as a plain
-- integer, so the rows do not depend on how a producer spelled it.
CREATE FUNCTION {{schema}}.integers_plain(list jsonb, field text) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_agg(CASE WHEN e ? field THEN jsonb_set(e, ARRAY[field], to_jsonb(trunc((e->>field)::numeric))) ELSE e END
                              ORDER BY o), '[]'::jsonb)
    FROM jsonb_array_elements(list) WITH ORDINALITY AS x(e, o)
$$;
