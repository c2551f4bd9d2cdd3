-- Site scorecard per calendar month, by the rule of the weekly one
-- (macros/kpi_scorecard.sql): what the report shows when a month is chosen.
{{ kpi_scorecard('kpi_monthly', 'month_start', 'is_complete_month') }}
