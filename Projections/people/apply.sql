-- people: applies one batch (batch_events) to users, profiles, erasures.
-- Order matters: erasures first (the other statements consult them), the
-- erasure sweep last. See Projections/README.md for the batch-invariance rules.

-- 1. Erasures: the first user.erased of a subject (by seq) is kept.
INSERT INTO {{schema}}.erasures AS t (user_id, reason, erased_at, seq)
SELECT DISTINCT ON (subject) subject, data->>'reason', time, seq
FROM batch_events
WHERE type = 'user.erased'
ORDER BY subject, seq
ON CONFLICT (user_id) DO NOTHING;

-- 2. Users: the latest user.registered (by seq) wins; PII of an erased
--    subject is never written.
INSERT INTO {{schema}}.users AS t
    (user_id, email, first_name, last_name, phone, city, country, timezone, platform, registered_at, seq)
SELECT r.subject,
       CASE WHEN e.user_id IS NULL THEN r.data->>'email' END,
       CASE WHEN e.user_id IS NULL THEN r.data->>'first_name' END,
       CASE WHEN e.user_id IS NULL THEN r.data->>'last_name' END,
       CASE WHEN e.user_id IS NULL THEN r.data->>'phone' END,
       r.data->'location'->>'city',
       r.data->'location'->>'country',
       r.data->'location'->>'timezone',
       r.data->>'platform',
       r.time,
       r.seq
FROM (SELECT DISTINCT ON (subject) subject, data, time, seq
      FROM batch_events
      WHERE type = 'user.registered'
      ORDER BY subject, seq DESC) r
LEFT JOIN {{schema}}.erasures e ON e.user_id = r.subject
ON CONFLICT (user_id) DO UPDATE SET
    email = EXCLUDED.email, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
    phone = EXCLUDED.phone, city = EXCLUDED.city, country = EXCLUDED.country,
    timezone = EXCLUDED.timezone, platform = EXCLUDED.platform,
    registered_at = EXCLUDED.registered_at, seq = EXCLUDED.seq
WHERE t.seq < EXCLUDED.seq;

-- 3. Profiles: partial updates. Per user and field, the latest value present
--    in the batch (schema: a present field is never JSON null, except PII
--    redacted after an erasure, which ends NULL anyway), merged over the
--    stored row with COALESCE. Every profile.updated moves seq/updated_at.
INSERT INTO {{schema}}.profiles AS t
    (user_id, current_job_title, current_company, industry, experience_level, years_experience,
     target_role, career_goals, salary_expectation_min, salary_expectation_max,
     salary_expectation_currency, remote_preference, linkedin_url, github_url, updated_at, seq)
SELECT p.subject,
       p.current_job_title, p.current_company, p.industry, p.experience_level, p.years_experience::numeric,
       p.target_role,
       CASE WHEN p.career_goals IS NOT NULL
            THEN ARRAY(SELECT jsonb_array_elements_text(p.career_goals)) END,
       (p.salary->>'min')::numeric, (p.salary->>'max')::numeric, p.salary->>'currency',
       p.remote_preference,
       CASE WHEN e.user_id IS NULL THEN p.linkedin_url END,
       CASE WHEN e.user_id IS NULL THEN p.github_url END,
       p.updated_at, p.seq
FROM (SELECT subject,
             (array_agg(data->>'current_role'       ORDER BY seq DESC) FILTER (WHERE data ? 'current_role'))[1]       AS current_job_title,
             (array_agg(data->>'current_company'    ORDER BY seq DESC) FILTER (WHERE data ? 'current_company'))[1]    AS current_company,
             (array_agg(data->>'industry'           ORDER BY seq DESC) FILTER (WHERE data ? 'industry'))[1]           AS industry,
             (array_agg(data->>'experience_level'   ORDER BY seq DESC) FILTER (WHERE data ? 'experience_level'))[1]   AS experience_level,
             (array_agg(data->>'years_experience'   ORDER BY seq DESC) FILTER (WHERE data ? 'years_experience'))[1]   AS years_experience,
             (array_agg(data->>'target_role'        ORDER BY seq DESC) FILTER (WHERE data ? 'target_role'))[1]        AS target_role,
             (array_agg(data->'career_goals'        ORDER BY seq DESC) FILTER (WHERE data ? 'career_goals'))[1]       AS career_goals,
             (array_agg(data->'salary_expectation'  ORDER BY seq DESC) FILTER (WHERE data ? 'salary_expectation'))[1] AS salary,
             (array_agg(data->>'remote_preference'  ORDER BY seq DESC) FILTER (WHERE data ? 'remote_preference'))[1]  AS remote_preference,
             (array_agg(data->>'linkedin_url'       ORDER BY seq DESC) FILTER (WHERE data ? 'linkedin_url'))[1]       AS linkedin_url,
             (array_agg(data->>'github_url'         ORDER BY seq DESC) FILTER (WHERE data ? 'github_url'))[1]         AS github_url,
             (array_agg(time ORDER BY seq DESC))[1] AS updated_at,
             max(seq) AS seq
      FROM batch_events
      WHERE type = 'profile.updated'
      GROUP BY subject) p
LEFT JOIN {{schema}}.erasures e ON e.user_id = p.subject
ON CONFLICT (user_id) DO UPDATE SET
    current_job_title           = COALESCE(EXCLUDED.current_job_title, t.current_job_title),
    current_company             = COALESCE(EXCLUDED.current_company, t.current_company),
    industry                    = COALESCE(EXCLUDED.industry, t.industry),
    experience_level            = COALESCE(EXCLUDED.experience_level, t.experience_level),
    years_experience            = COALESCE(EXCLUDED.years_experience, t.years_experience),
    target_role                 = COALESCE(EXCLUDED.target_role, t.target_role),
    career_goals                = COALESCE(EXCLUDED.career_goals, t.career_goals),
    salary_expectation_min      = CASE WHEN EXCLUDED.salary_expectation_currency IS NOT NULL
                                       THEN EXCLUDED.salary_expectation_min ELSE t.salary_expectation_min END,
    salary_expectation_max      = CASE WHEN EXCLUDED.salary_expectation_currency IS NOT NULL
                                       THEN EXCLUDED.salary_expectation_max ELSE t.salary_expectation_max END,
    salary_expectation_currency = COALESCE(EXCLUDED.salary_expectation_currency, t.salary_expectation_currency),
    remote_preference           = COALESCE(EXCLUDED.remote_preference, t.remote_preference),
    linkedin_url                = COALESCE(EXCLUDED.linkedin_url, t.linkedin_url),
    github_url                  = COALESCE(EXCLUDED.github_url, t.github_url),
    updated_at                  = EXCLUDED.updated_at,
    seq                         = EXCLUDED.seq
WHERE t.seq < EXCLUDED.seq;

-- 4. Erasure sweep: every row of a subject erased in this batch loses its
--    PII, whatever order its events came in; the erasure counts as a change
--    (seq = the later of the row's seq and the batch's last erasure of the
--    subject, which is what applying events one at a time gives).
UPDATE {{schema}}.users t
SET email = NULL, first_name = NULL, last_name = NULL, phone = NULL, seq = GREATEST(t.seq, e.seq)
FROM (SELECT subject, max(seq) AS seq FROM batch_events WHERE type = 'user.erased' GROUP BY subject) e
WHERE t.user_id = e.subject
  AND t.user_id = ANY (ARRAY(SELECT subject FROM batch_events WHERE type = 'user.erased'));

UPDATE {{schema}}.profiles t
SET linkedin_url = NULL, github_url = NULL, seq = GREATEST(t.seq, e.seq)
FROM (SELECT subject, max(seq) AS seq FROM batch_events WHERE type = 'user.erased' GROUP BY subject) e
WHERE t.user_id = e.subject
  AND t.user_id = ANY (ARRAY(SELECT subject FROM batch_events WHERE type = 'user.erased'));
