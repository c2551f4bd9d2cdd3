-- Every surviving snapshot row valued in USD at its snapshot_date (the document date of
-- an inventory value). A row whose currency has no rate on or before that date has no
-- USD value. Nothing here depends on the as-of date.
with snapshots as (
    select * from {{ ref('stg_wms__inventory_snapshots') }}
),

valued as (
    select
        snapshots.*,
        {{ usd_rate('fx', 'snapshots.currency') }} as usd_per_unit
    from snapshots
    left join {{ ref('int_fx_rates__ranges') }} as fx
        on {{ fx_join_condition('fx', 'snapshots.currency', 'snapshots.snapshot_date') }}
)

select
    site_id,
    sku,
    snapshot_date,
    on_hand_qty,
    unit_cost,
    currency,
    -- exact decimals; the product is rounded to 10 places before the rate so that large
    -- values cannot overflow DECIMAL(38)
    cast(cast(on_hand_qty * unit_cost as decimal(38, 10)) * usd_per_unit as decimal(38, 10))
        as inventory_value_usd,
    source_file,
    source_row
from valued
