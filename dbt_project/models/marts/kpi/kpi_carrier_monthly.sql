-- Carrier on-time performance per month of delivered date, against the contracted target.
-- Delivered shipments (as of as_of) with a known due date; no carrier, no row.
with delivered as (
    select carrier_id, {{ month_start('delivered_date') }} as month_start, is_on_time
    from {{ ref('fct_deliveries') }}
    where is_delivered and due_date is not null and carrier_id is not null
),

monthly as (
    select
        carrier_id,
        month_start,
        cast(count(*) as bigint) as delivered_shipments,
        cast(sum(case when is_on_time then 1 else 0 end) as bigint) as on_time_shipments
    from delivered
    group by carrier_id, month_start
)

select
    monthly.carrier_id,
    monthly.month_start,
    monthly.delivered_shipments,
    monthly.on_time_shipments,
    cast(monthly.on_time_shipments as double) / monthly.delivered_shipments as on_time_rate,
    cast(carriers.on_time_target as double) as on_time_target,
    case
        when carriers.on_time_target is not null
            then cast(monthly.on_time_shipments as double) / monthly.delivered_shipments
                 >= cast(carriers.on_time_target as double)
    end as meets_target
from monthly
left join {{ ref('stg_tms__carriers') }} as carriers on carriers.carrier_id = monthly.carrier_id
