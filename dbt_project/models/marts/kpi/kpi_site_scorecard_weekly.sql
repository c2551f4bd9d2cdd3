-- Site scorecard per ISO week: each KPI that has a target (seed kpi_targets; a
-- site-specific target beats '*'), with green (target met), amber (missed by at most
-- 5 % of the target) or red. Weeks where the KPI has no value (denominator 0) are left
-- out. The rule is macros/kpi_scorecard.sql, shared with kpi_site_scorecard_monthly.
{{ kpi_scorecard('kpi_weekly', 'week_start', 'is_complete_week') }}
