{{ config(materialized='incremental', unique_key=['site_id', 'date'], incremental_strategy='delete+insert',
          on_schema_change='fail',
          post_hook="delete from {{ this }} where date > {{ as_of() }}") }}
{%- set incremental = opskpi_incremental() %}
-- depends_on: {{ ref('stg_wms__inventory_snapshots') }}

-- One row per site and date, for every date from the site's first snapshot_date up to
-- as_of: the snapshot in force (the site's latest snapshot_date ≤ date; a day without a
-- snapshot carries the latest earlier one forward), its SKUs on hand, units and USD value.
-- Snapshots dated after as_of are ignored.
-- Incremental: see macros/incremental.sql; the rows recomputed are a site's dates from
-- the earliest snapshot_date that got a new version (a late or restated snapshot) or
-- whose currency got new fx rates, and the dates between the previous and this as-of
-- date; the post-hook drops dates after as_of when the as-of date moved back.
with snapshots as (
    select * from {{ ref('int_inventory_snapshots__valued') }}
    where snapshot_date <= {{ as_of() }}
),

{% if incremental %}
changed as (
    select site_id, min(snapshot_date) as changed_from
    from (
        {{ opskpi_delta('inventory_snapshots', ['site_id', 'snapshot_date']) }}
        union all
        select snapshots.site_id, snapshots.snapshot_date
        from {{ ref('stg_wms__inventory_snapshots') }} as snapshots
        join ({{ opskpi_fx_delta() }}) as fx
            on fx.currency = snapshots.currency and snapshots.snapshot_date >= fx.changed_from
    ) as changes
    group by site_id
),
{% endif %}

-- one row per site and snapshot date: the whole snapshot (an SKU without a row had
-- nothing on hand); the value sums the rows that have a rate (null when none has)
per_snapshot as (
    select
        site_id,
        snapshot_date,
        count(*) as snapshot_rows,
        sum(case when on_hand_qty > 0 then 1 else 0 end) as skus_on_hand,
        sum(on_hand_qty) as on_hand_qty,
        sum(inventory_value_usd) as inventory_value_usd,
        sum(case when inventory_value_usd is null then 1 else 0 end) as snapshot_rows_without_fx_rate
    from snapshots
    group by site_id, snapshot_date
),

-- each snapshot is in force from its date until the day before the site's next one
-- (the latest: until as_of)
in_force as (
    select
        per_snapshot.*,
        coalesce(
            {{ dbt.dateadd('day', -1, 'lead(snapshot_date) over (partition by site_id order by snapshot_date)') }},
            {{ as_of() }}
        ) as in_force_to
    from per_snapshot
),

daily as (
    select
        site_id,
        {{ day_series('snapshot_date', 'in_force_to') }} as date,
        snapshot_date,
        snapshot_rows,
        skus_on_hand,
        on_hand_qty,
        inventory_value_usd,
        snapshot_rows_without_fx_rate
    from in_force
)

select
    daily.site_id,
    cast(daily.date as date) as date,
    daily.snapshot_date,
    cast(daily.skus_on_hand as bigint) as skus_on_hand,
    daily.on_hand_qty,
    daily.inventory_value_usd,
    cast(daily.snapshot_rows as bigint) as snapshot_rows,
    cast(daily.snapshot_rows_without_fx_rate as bigint) as snapshot_rows_without_fx_rate,
    '{{ invocation_id }}' as dbt_invocation_id
from daily
{% if incremental %}
left join changed on changed.site_id = daily.site_id
where daily.date >= changed.changed_from
   or {{ opskpi_in_as_of_window('daily.date') }}
{% endif %}
