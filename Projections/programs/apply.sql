-- programs: applies one batch (batch_events). See Projections/README.md.

-- 1. Enrollments: first by (time, seq). The batch's earliest per subject
--    replaces the stored one only if strictly earlier in time (on a tie the
--    stored one has the lower seq, so it stays).
INSERT INTO {{schema}}.enrollments AS t
    (user_id, program, cohort, target_industry, target_role,
     baseline_salary_amount, baseline_salary_currency, enrolled_at, seq)
SELECT DISTINCT ON (subject)
       subject, data->>'program', data->>'cohort', data->>'target_industry', data->>'target_role',
       (data->'baseline_salary'->>'amount')::numeric, data->'baseline_salary'->>'currency', time, seq
FROM batch_events
WHERE type = 'program.enrolled'
ORDER BY subject, time, seq
ON CONFLICT (user_id) DO UPDATE SET
    program = EXCLUDED.program, cohort = EXCLUDED.cohort, target_industry = EXCLUDED.target_industry,
    target_role = EXCLUDED.target_role, baseline_salary_amount = EXCLUDED.baseline_salary_amount,
    baseline_salary_currency = EXCLUDED.baseline_salary_currency, enrolled_at = EXCLUDED.enrolled_at,
    seq = EXCLUDED.seq
WHERE EXCLUDED.enrolled_at < t.enrolled_at;

-- 2. Interview practice, keyed by seq.
INSERT INTO {{schema}}.interview_practice (seq, user_id, kind, score, practiced_at)
SELECT seq, subject, data->>'kind', (data->>'score')::numeric, time
FROM batch_events
WHERE type = 'interview.practiced'
  AND seq > (SELECT COALESCE(max(seq), 0) FROM {{schema}}.interview_practice);
