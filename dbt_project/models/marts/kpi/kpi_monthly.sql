-- kpi_daily rolled up to calendar months (month_start): numerators and denominators are
-- summed, never averaged, and the value recomputed; with site_id = 'ALL' rows.
{{ kpi_rollup('month_start') }}
