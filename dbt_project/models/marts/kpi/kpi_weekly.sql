-- kpi_daily rolled up to ISO weeks (week_start = Monday): numerators and denominators are
-- summed, never averaged, and the value recomputed. site_id = 'ALL' sums every site_id
-- present, whether or not the sites export knows it.
{{ kpi_rollup('week_start') }}
