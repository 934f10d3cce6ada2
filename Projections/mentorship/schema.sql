-- mentorship: mentors, mentorships, their sessions and endings.
-- Fed by mentor.registered, mentorship.started, mentorship.session_held,
-- mentorship.ended. See Projections/README.md.

-- One row per mentor.registered subject: the latest registration wins.
CREATE TABLE {{schema}}.mentors (
    mentor_id         uuid PRIMARY KEY,
    expertise         text[] NOT NULL,
    industry          text NOT NULL,
    years_experience  numeric,
    max_mentees       integer,
    registered_at     timestamptz NOT NULL,
    seq               bigint NOT NULL
);

-- One row per STARTED mentorship: mentor, mentee and goals from its FIRST
-- mentorship.started (earliest time, ties by seq), as the catalog's
-- analytics define who the mentorship belongs to; ended_at/outcome from its
-- latest mentorship.ended (by seq), whenever that arrived.
CREATE TABLE {{schema}}.mentorships (
    mentorship_id  uuid PRIMARY KEY,
    mentor_id      uuid NOT NULL,
    user_id        uuid NOT NULL,     -- the mentee (subject of the first mentorship.started)
    goals          text[],
    started_at     timestamptz NOT NULL,
    status         text NOT NULL,     -- active | ended
    ended_at       timestamptz,
    outcome        text,              -- completed | cancelled (when the ending says)
    seq            bigint NOT NULL
) WITH (fillfactor = 90);  -- room for HOT updates: rows change as later events arrive
CREATE INDEX mentorships_mentor ON {{schema}}.mentorships (mentor_id);
CREATE INDEX mentorships_user ON {{schema}}.mentorships (user_id);

-- Every mentorship.session_held (also of mentorships not, or not yet, started;
-- the views attach sessions to started mentorships only).
CREATE TABLE {{schema}}.mentoring_sessions (
    seq               bigint PRIMARY KEY,
    mentorship_id     uuid NOT NULL,
    user_id           uuid NOT NULL,   -- the mentee
    duration_minutes  integer NOT NULL,
    topic             text,
    mentee_rating     integer,         -- 1..5
    held_at           timestamptz NOT NULL
);
CREATE INDEX mentoring_sessions_mentorship ON {{schema}}.mentoring_sessions (mentorship_id);

-- Every mentorship.ended.
CREATE TABLE {{schema}}.mentorship_endings (
    seq            bigint PRIMARY KEY,
    mentorship_id  uuid NOT NULL,
    user_id        uuid NOT NULL,
    outcome        text,
    ended_at       timestamptz NOT NULL
);
CREATE INDEX mentorship_endings_mentorship ON {{schema}}.mentorship_endings (mentorship_id, seq);

-- Per started mentorship: its sessions.
CREATE VIEW {{schema}}.mentorship_stats AS
SELECT m.mentorship_id, m.mentor_id, m.user_id,
       count(s.seq) AS sessions,
       COALESCE(sum(s.duration_minutes), 0) / 60.0 AS hours,
       avg(s.mentee_rating) AS average_rating,
       max(s.held_at) AS last_session_at
FROM {{schema}}.mentorships m
LEFT JOIN {{schema}}.mentoring_sessions s ON s.mentorship_id = m.mentorship_id
GROUP BY m.mentorship_id, m.mentor_id, m.user_id;

-- Per mentor (every registered mentor and every mentor_id a started
-- mentorship names): mentees, mentorships, sessions, hours, average rating.
CREATE VIEW {{schema}}.mentor_stats AS
SELECT ids.mentor_id,
       COALESCE(ms.mentees, 0) AS mentees,
       COALESCE(ms.mentorships, 0) AS mentorships,
       COALESCE(ms.active_mentorships, 0) AS active_mentorships,
       COALESCE(st.sessions, 0) AS sessions,
       COALESCE(st.hours, 0) AS hours,
       st.average_rating
FROM (SELECT mentor_id FROM {{schema}}.mentors
      UNION
      SELECT mentor_id FROM {{schema}}.mentorships) ids
LEFT JOIN (SELECT mentor_id, count(DISTINCT user_id) AS mentees, count(*) AS mentorships,
                  count(*) FILTER (WHERE status = 'active') AS active_mentorships
           FROM {{schema}}.mentorships
           GROUP BY mentor_id) ms ON ms.mentor_id = ids.mentor_id
LEFT JOIN (SELECT m.mentor_id, count(*) AS sessions, sum(s.duration_minutes) / 60.0 AS hours,
                  avg(s.mentee_rating) AS average_rating
           FROM {{schema}}.mentorships m
           JOIN {{schema}}.mentoring_sessions s ON s.mentorship_id = m.mentorship_id
           GROUP BY m.mentor_id) st ON st.mentor_id = ids.mentor_id;
