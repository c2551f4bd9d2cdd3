-- Daily spend KPIs per site (kpis.md, kpi_daily). Invoice lines count by invoice_date
-- (payments by paid_date, PO lines by expected_date), only when dated <= as_of.
-- Lines with no fx rate (amount_usd null) drop out of the USD KPIs.
with spend as (
    select * from {{ ref('fct_spend') }}
    where invoice_date <= {{ as_of() }}
),

po_lines as (
    select * from {{ ref('fct_po_lines') }}
)

select 'spend_usd' as kpi, site_id, invoice_date as date,
       sum(amount_usd) as numerator,
       {{ kpi_number('null') }} as denominator
from spend
where amount_usd is not null
group by site_id, invoice_date

union all
select 'po_coverage_rate', site_id, invoice_date,
       sum(case when has_known_po then amount_usd else 0 end), sum(amount_usd)
from spend
where amount_usd is not null
group by site_id, invoice_date

union all
select 'three_way_match_rate', site_id, invoice_date,
       sum(case when is_three_way_match then 1 else 0 end), count(*)
from spend
where po_id is not null
group by site_id, invoice_date

union all
select 'price_variance_usd', site_id, invoice_date,
       sum(price_variance_usd), null
from spend
where price_variance_usd is not null
group by site_id, invoice_date

union all
select 'on_time_payment_rate', site_id, paid_date,
       sum(case when paid_date <= due_date then 1 else 0 end), count(*)
from {{ ref('fct_spend') }}
where paid_date <= {{ as_of() }}
group by site_id, paid_date

union all
select 'supplier_otif_rate', site_id, expected_date,
       sum(case when is_otif then 1 else 0 end), count(*)
from po_lines
where status <> 'cancelled' and expected_date <= {{ as_of() }}
group by site_id, expected_date
