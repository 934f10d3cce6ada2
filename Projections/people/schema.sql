-- people: users, their profiles, and GDPR erasures.
-- Fed by user.registered, profile.updated, user.erased. See Projections/README.md.

-- One row per user.registered subject; the latest registration (by seq) wins.
CREATE TABLE {{schema}}.users (
    user_id        uuid PRIMARY KEY,
    email          text,              -- PII; NULL once the user is erased
    first_name     text,              -- PII
    last_name      text,              -- PII
    phone          text,              -- PII
    city           text,
    country        text,              -- ISO 3166-1 alpha-2
    timezone       text,              -- IANA name
    platform       text NOT NULL,     -- careerforge | talenthub
    registered_at  timestamptz NOT NULL,
    seq            bigint NOT NULL    -- seq of the event that last changed the row
);
COMMENT ON COLUMN {{schema}}.users.email IS 'pii';
COMMENT ON COLUMN {{schema}}.users.first_name IS 'pii';
COMMENT ON COLUMN {{schema}}.users.last_name IS 'pii';
COMMENT ON COLUMN {{schema}}.users.phone IS 'pii';
CREATE INDEX users_email ON {{schema}}.users (lower(email));

-- One row per profile.updated subject (whether or not registered); every
-- column holds the latest value present in any profile.updated of the user.
CREATE TABLE {{schema}}.profiles (
    user_id                     uuid PRIMARY KEY,
    current_job_title           text,       -- profile.updated current_role (renamed: CURRENT_ROLE is an SQL keyword)
    current_company             text,
    industry                    text,
    experience_level            text,       -- entry | mid | senior | executive
    years_experience            numeric,
    target_role                 text,
    career_goals                text[],
    salary_expectation_min      numeric,
    salary_expectation_max      numeric,
    salary_expectation_currency text,
    remote_preference           text,       -- remote | hybrid | onsite
    linkedin_url                text,       -- PII
    github_url                  text,       -- PII
    updated_at                  timestamptz NOT NULL,  -- time of the latest profile.updated
    seq                         bigint NOT NULL
) WITH (fillfactor = 90);  -- room for HOT updates: rows change as later events arrive
COMMENT ON COLUMN {{schema}}.profiles.linkedin_url IS 'pii';
COMMENT ON COLUMN {{schema}}.profiles.github_url IS 'pii';

-- One row per erased subject: the first user.erased (by seq).
CREATE TABLE {{schema}}.erasures (
    user_id    uuid PRIMARY KEY,
    reason     text NOT NULL,
    erased_at  timestamptz NOT NULL,
    seq        bigint NOT NULL
);
