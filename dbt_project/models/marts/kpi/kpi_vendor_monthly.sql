-- Vendor scorecard per month: spend (by invoice_date), supplier OTIF (by expected_date),
-- price variance and three-way match. A row exists when any count or sum has a
-- contributing record; a count with nothing to count is 0, a sum over nothing is null.
with spend as (
    select
        vendor_id,
        {{ month_start('invoice_date') }} as month_start,
        sum(amount_usd) as spend_usd,
        sum(price_variance_usd) as price_variance_usd,
        cast(count(po_id) as bigint) as invoice_lines_with_po,
        cast(sum(case when is_three_way_match then 1 else 0 end) as bigint) as three_way_matched_lines,
        count(amount_usd) + count(price_variance_usd) + count(po_id) as contributions
    from {{ ref('fct_spend') }}
    where invoice_date <= {{ as_of() }}
    group by vendor_id, {{ month_start('invoice_date') }}
),

supply as (
    select
        vendor_id,
        {{ month_start('expected_date') }} as month_start,
        cast(count(*) as bigint) as po_lines_due,
        cast(sum(case when is_otif then 1 else 0 end) as bigint) as po_lines_otif
    from {{ ref('fct_po_lines') }}
    where status <> 'cancelled' and expected_date <= {{ as_of() }}
    group by vendor_id, {{ month_start('expected_date') }}
),

joined as (
    select
        coalesce(spend.vendor_id, supply.vendor_id) as vendor_id,
        coalesce(spend.month_start, supply.month_start) as month_start,
        spend.spend_usd,
        spend.price_variance_usd,
        coalesce(spend.invoice_lines_with_po, 0) as invoice_lines_with_po,
        coalesce(spend.three_way_matched_lines, 0) as three_way_matched_lines,
        coalesce(supply.po_lines_due, 0) as po_lines_due,
        coalesce(supply.po_lines_otif, 0) as po_lines_otif,
        coalesce(spend.contributions, 0) + coalesce(supply.po_lines_due, 0) as contributions
    from spend
    full outer join supply
        on supply.vendor_id = spend.vendor_id and supply.month_start = spend.month_start
)

select
    vendor_id,
    month_start,
    cast(spend_usd as double) as spend_usd,
    po_lines_due,
    po_lines_otif,
    case when po_lines_due > 0 then cast(po_lines_otif as double) / po_lines_due end
        as supplier_otif_rate,
    cast(price_variance_usd as double) as price_variance_usd,
    invoice_lines_with_po,
    three_way_matched_lines,
    case when invoice_lines_with_po > 0
        then cast(three_way_matched_lines as double) / invoice_lines_with_po end
        as three_way_match_rate
from joined
where contributions > 0
