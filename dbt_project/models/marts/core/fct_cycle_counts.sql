-- One row per cycle count (surviving version): variance, accuracy at the tolerance
-- (var cycle_count_tolerance, a share of system_qty; default 0 = exact match, compared in
-- decimal arithmetic) and the system value and shrinkage in USD at the count date.
with counts as (
    select
        counts.*,
        {{ local_date('counts.counted_at', "coalesce(sites.timezone, 'UTC')") }} as count_date
    from {{ ref('stg_wms__cycle_counts') }} as counts
    left join {{ ref('stg_ref__sites') }} as sites on sites.site_id = counts.site_id
),

valued as (
    select
        counts.*,
        counts.counted_qty - counts.system_qty as variance_qty,
        {{ usd_rate('fx', 'counts.currency') }} as usd_per_unit
    from counts
    left join {{ ref('int_fx_rates__ranges') }} as fx
        on {{ fx_join_condition('fx', 'counts.currency', 'counts.count_date') }}
)

select
    count_id,
    site_id,
    sku,
    counted_at,
    count_date,
    system_qty,
    counted_qty,
    variance_qty,
    abs(variance_qty) <= cast({{ var('cycle_count_tolerance') }} as decimal(38, 10)) * system_qty
        as is_accurate,
    unit_cost,
    currency,
    cast(cast(system_qty * unit_cost as decimal(38, 10)) * usd_per_unit as decimal(38, 10))
        as system_value_usd,
    cast(cast(greatest(system_qty - counted_qty, 0) * unit_cost as decimal(38, 10)) * usd_per_unit
         as decimal(38, 10)) as shrinkage_usd,
    updated_at,
    source_file,
    source_row
from valued
