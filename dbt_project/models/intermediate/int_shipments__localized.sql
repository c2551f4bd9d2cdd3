-- Shipments with their site-local dates, the due date and order time of their order line,
-- the delivered quantity and freight in USD (at the shipped date). Nothing here depends
-- on the as-of date.
with shipments as (
    select * from {{ ref('stg_wms__shipments') }}
),

sites as (
    select site_id, timezone from {{ ref('stg_ref__sites') }}
),

order_lines as (
    select order_id, line_number, requested_delivery_date, order_placed_at, sku
    from {{ ref('stg_erp__order_lines') }}
),

localized as (
    select
        shipments.*,
        {{ local_date('shipments.shipped_at', "coalesce(sites.timezone, 'UTC')") }} as shipped_date,
        {{ local_date('shipments.delivered_at', "coalesce(sites.timezone, 'UTC')") }} as delivered_date
    from shipments
    left join sites on sites.site_id = shipments.site_id
)

select
    localized.*,
    order_lines.order_id is not null as has_known_order_line,
    -- a cancelled order line still gives its shipments their due date and order time
    order_lines.requested_delivery_date as due_date,
    order_lines.order_placed_at,
    order_lines.sku,
    localized.shipped_qty - localized.damaged_qty as delivered_qty,
    ({{ epoch_seconds('localized.delivered_at') }} - {{ epoch_seconds('order_lines.order_placed_at') }})
        / 86400.0 as lead_time_days,
    {{ exact_product('localized.freight_cost', usd_rate('fx', 'localized.currency')) }} as freight_cost_usd
from localized
left join order_lines
    on order_lines.order_id = localized.order_id
    and order_lines.line_number = localized.line_number
left join {{ ref('int_fx_rates__ranges') }} as fx
    on {{ fx_join_condition('fx', 'localized.currency', 'localized.shipped_date') }}
