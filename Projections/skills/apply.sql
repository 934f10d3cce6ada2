-- skills: applies one batch (batch_events). See Projections/README.md.

-- 1. Assessment history and current user skills, in one statement so both
--    see user_skills as it was before the batch.
--    A cv.parsed skill counts (as source 'cv', level 'beginner') only when it
--    is the user's first mention of that skill ever: no user_skills row
--    before the batch, and no skill.assessed or cv.parsed of it earlier in
--    the batch. That is exactly "unless the user already has that skill"
--    when events are applied one at a time in seq order.
WITH assessed AS (
    SELECT seq, subject AS user_id, data->>'skill' AS skill, data->>'category' AS category,
           data->>'level' AS level, (data->>'score')::numeric AS score, data->>'source' AS source,
           COALESCE((data->>'verified')::boolean, false) AS verified,
           (data->>'assessor_id')::uuid AS assessor_id, time
    FROM batch_events
    WHERE type = 'skill.assessed'
), mentions AS (
    SELECT DISTINCT b.seq, b.subject AS user_id, s.skill, (b.data->>'cv_id')::uuid AS cv_id, b.time
    FROM batch_events b CROSS JOIN LATERAL jsonb_array_elements_text(b.data->'skills') AS s(skill)
    WHERE b.type = 'cv.parsed'
), first_mention AS (
    SELECT DISTINCT ON (user_id, skill) user_id, skill, seq, is_cv
    FROM (SELECT user_id, skill, seq, false AS is_cv FROM assessed
          UNION ALL
          SELECT user_id, skill, seq, true FROM mentions) x
    ORDER BY user_id, skill, seq
), counted AS (
    SELECT seq, skill, user_id, category, level, score, source, verified, assessor_id,
           NULL::uuid AS cv_id, time AS assessed_at
    FROM assessed
    UNION ALL
    SELECT m.seq, m.skill, m.user_id, NULL, 'beginner', NULL, 'cv', false, NULL, m.cv_id, m.time
    FROM mentions m
    JOIN first_mention f ON f.is_cv AND f.user_id = m.user_id AND f.skill = m.skill AND f.seq = m.seq
    WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.user_skills u WHERE u.user_id = m.user_id AND u.skill = m.skill)
), history AS (
    INSERT INTO {{schema}}.skill_assessments
        (seq, skill, user_id, category, level, score, source, verified, assessor_id, cv_id, assessed_at)
    SELECT seq, skill, user_id, category, level, score, source, verified, assessor_id, cv_id, assessed_at
    FROM counted
    WHERE seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.skill_assessments)
)
INSERT INTO {{schema}}.user_skills AS t
    (user_id, skill, category, level, score, source, verified, assessor_id, cv_id, assessed_at, seq)
SELECT DISTINCT ON (user_id, skill)
       user_id, skill, category, level, score, source, verified, assessor_id, cv_id, assessed_at, seq
FROM counted
ORDER BY user_id, skill, seq DESC
ON CONFLICT (user_id, skill) DO UPDATE SET
    category = EXCLUDED.category, level = EXCLUDED.level, score = EXCLUDED.score,
    source = EXCLUDED.source, verified = EXCLUDED.verified, assessor_id = EXCLUDED.assessor_id,
    cv_id = EXCLUDED.cv_id, assessed_at = EXCLUDED.assessed_at, seq = EXCLUDED.seq
WHERE t.seq < EXCLUDED.seq;

-- 2. Catalog: a name is created by its first mention; each skill.assessed
--    sets its category (latest by seq wins). seq = the latest skill.assessed
--    of the name, else the mention that created it.
INSERT INTO {{schema}}.skills AS t (name, category, seq)
SELECT name,
       (array_agg(category ORDER BY seq DESC) FILTER (WHERE category IS NOT NULL))[1],
       COALESCE(max(seq) FILTER (WHERE category IS NOT NULL), min(seq))
FROM (SELECT data->>'skill' AS name, data->>'category' AS category, seq
      FROM batch_events WHERE type = 'skill.assessed'
      UNION ALL
      SELECT s.name, NULL, b.seq
      FROM batch_events b CROSS JOIN LATERAL jsonb_array_elements_text(b.data->'skills') AS s(name)
      WHERE b.type = 'cv.parsed') x
GROUP BY name
ON CONFLICT (name) DO UPDATE SET category = EXCLUDED.category, seq = EXCLUDED.seq
WHERE EXCLUDED.category IS NOT NULL AND t.seq < EXCLUDED.seq;

-- 3. Parsed CVs: the latest cv.parsed of a cv_id wins.
INSERT INTO {{schema}}.cv_parses AS t
    (cv_id, user_id, skills, experience, education, certifications, parsed_at, seq)
SELECT cv_id, subject,
       ARRAY(SELECT jsonb_array_elements_text(data->'skills')),
       {{schema}}.integers_plain(data->'experience', 'months'), {{schema}}.integers_plain(data->'education', 'year'),
       CASE WHEN data ? 'certifications' THEN ARRAY(SELECT jsonb_array_elements_text(data->'certifications')) END,
       time, seq
FROM (SELECT DISTINCT ON ((data->>'cv_id')::uuid) (data->>'cv_id')::uuid AS cv_id, subject, data, time, seq
      FROM batch_events
      WHERE type = 'cv.parsed'
      ORDER BY (data->>'cv_id')::uuid, seq DESC) c
ON CONFLICT (cv_id) DO UPDATE SET
    user_id = EXCLUDED.user_id, skills = EXCLUDED.skills, experience = EXCLUDED.experience,
    education = EXCLUDED.education, certifications = EXCLUDED.certifications,
    parsed_at = EXCLUDED.parsed_at, seq = EXCLUDED.seq
WHERE t.seq < EXCLUDED.seq;
