-- What drove each KPI cell's change against the previous ISO week: per site (and 'ALL'),
-- week, dimension and member, the member's sides in both weeks and its contribution to
-- the change of the value (docs/drivers.md; the formulas are in macros/kpi_drivers.sql).
{{ kpi_drivers('week_start') }}
