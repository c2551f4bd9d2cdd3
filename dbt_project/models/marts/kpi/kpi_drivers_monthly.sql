-- What drove each KPI cell's change against the previous calendar month: per site (and
-- 'ALL'), month, dimension and member, the member's sides in both months and its
-- contribution to the change of the value (docs/drivers.md; macros/kpi_drivers.sql).
{{ kpi_drivers('month_start') }}
