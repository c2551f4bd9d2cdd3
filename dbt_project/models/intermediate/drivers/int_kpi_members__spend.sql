-- Procurement and payables KPIs per site, day and member of each driver dimension
-- (docs/drivers.md): the records and sides of int_kpi_daily__spend, split by vendor and
-- spend category.
with spend as (
    select * from {{ ref('fct_spend') }}
),

invoiced as (
    select * from spend where invoice_date <= {{ as_of() }}
),

invoiced_in_usd as (
    select * from invoiced where amount_usd is not null
),

invoiced_against_po as (
    select * from invoiced where po_id is not null
),

invoiced_with_variance as (
    select * from invoiced where price_variance_usd is not null
),

paid as (
    select * from spend where paid_date <= {{ as_of() }}
),

po_lines_due as (
    select * from {{ ref('fct_po_lines') }}
    where status <> 'cancelled' and expected_date <= {{ as_of() }}
),

{%- set dimensions = {'vendor': 'vendor_id', 'category': 'category'} %}

members as (
    {{ kpi_members('spend_usd', 'invoiced_in_usd', 'invoice_date',
                   'sum(amount_usd)', 'null', dimensions, 'total') }}
    union all
    {{ kpi_members('po_coverage_rate', 'invoiced_in_usd', 'invoice_date',
                   'sum(case when has_known_po then amount_usd else 0 end)', 'sum(amount_usd)', dimensions) }}
    union all
    {{ kpi_members('three_way_match_rate', 'invoiced_against_po', 'invoice_date',
                   'sum(case when is_three_way_match then 1 else 0 end)', 'count(*)', dimensions) }}
    union all
    {{ kpi_members('price_variance_usd', 'invoiced_with_variance', 'invoice_date',
                   'sum(price_variance_usd)', 'null', dimensions, 'total') }}
    union all
    {{ kpi_members('on_time_payment_rate', 'paid', 'paid_date',
                   'sum(case when paid_date <= due_date then 1 else 0 end)', 'count(*)', dimensions) }}
    union all
    {{ kpi_members('supplier_otif_rate', 'po_lines_due', 'expected_date',
                   'sum(case when is_otif then 1 else 0 end)', 'count(*)', dimensions) }}
)

select * from members
