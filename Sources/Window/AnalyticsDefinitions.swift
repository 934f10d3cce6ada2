/// The catalog's "Analytics definitions" (EventSchemas/README.md), shown
/// by the dashboard one click from each chart. A copy, because the binary
/// must not need the repository at run time; `DefinitionsTests` fails when
/// it and the README differ.
enum AnalyticsDefinitions {
    static let markdown = #"""
These are the materialized analytics; a number here is right when it equals
what one careful analyst computes by hand from the same events. The rules:

General
- Only accepted events count; a duplicate `id` counts once (the first one
  stored). Times compare as instants; calendar buckets (months, days) are UTC.
- "As of" = the newest event `time` in the log (or the as-of moment asked
  for); events with a later `time` are ignored. "First" = earliest `time`,
  ties broken by `seq`.
- Erased subjects stay in every analytic (analytics use no PII).
- Rates are fractions in [0, 1]; null when the denominator is 0.

Enrollment and placement
- **Enrollment**: a subject's first `program.enrolled`; its `time` starts the
  clock; its `cohort`, `program`, `target_industry` and `baseline_salary` are
  the ones used. Later enrollments of the same subject are ignored.
- **Placement**: the subject's first `placement.recorded` with `time` >= the
  enrollment `time`. Placements before enrollment are ignored; subjects who
  never enrolled have no placement in these analytics.
- **Placed within 12 months**: placement time - enrollment time <= 365 x 86,400 s.
- **Placement rate** per cohort, per program and per target_industry:
  enrollees placed within 12 months / all enrollees of the group (including
  those whose window is still running).
- A subject's window is closed when as-of >= enrollment + 365 days. A cohort
  is `open` while any of its enrollees' windows is not closed.
- **Time to placement** per cohort: over enrollees with a placement (at any
  delay), days = (placement - enrollment) seconds / 86,400, fractional;
  report the median (mean of the two middle values when even) and p90
  (linear interpolation, as PostgreSQL's `percentile_cont(0.9)`).
- **Salary uplift** per cohort: over enrollees with a placement (any delay)
  whose baseline amount > 0 and whose placement currency equals the baseline
  currency: (placement amount - baseline amount) / baseline amount; report the
  mean and the count.

Mentorship
- **Mentored**: the subject, as mentee, has a `mentorship.started` with
  enrollment <= started time, and started time < placement time if placed,
  else started time < enrollment + 365 days.
- Program-wide: placement rate (as above) of mentored and of not mentored
  enrollees, and the difference in percentage points (mentored - not) x 100.
- A mentorship belongs to the mentor named in its first `mentorship.started`;
  sessions attach by `mentorship_id` (sessions of never-started mentorships are
  ignored). Mentors listed: every `mentor.registered` subject and every
  `mentor_id` named by a mentorship.
- **Mentorship ROI**, per mentor: mentees (distinct subjects who started a
  mentorship with the mentor, whatever its timing; a mentee of two mentors
  counts for both), sessions, hours (sum of `duration_minutes` / 60), average
  `mentee_rating` over sessions that carry one, mentees placed within 12 months,
  placement rate (that / mentees), mean salary uplift over mentees with an
  uplift (as above), total salary gain per currency (sum of placement amount -
  baseline amount over those same mentees), and gain per mentoring hour per
  currency (null when hours = 0).

Applications
- **Application funnel**, per UTC month of an application's first
  `application.sent`: sent; reached interview and reached offer (at least one
  `application.advanced` with that stage, in any order, counted once; an offer
  does not imply an interview); placed (at least one `placement.recorded`
  naming the application); conversion rates interview/sent, offer/interview,
  placed/offer and placed/sent. Advances and placements naming an application
  that was never sent are ignored.

Learning
- **Learning velocity**, per subject and UTC month: hours =
  `learning.progressed.hours` + `learning.completed.hours` + `task.completed.actual_hours`
  (where present); activities completed (count of `learning.completed`); tasks
  completed (count of `task.completed`).
- **Current learning streak**: the number of consecutive UTC days with logged
  hours > 0 ending on the UTC day of as-of; 0 when none were logged that day.
"""#
}
