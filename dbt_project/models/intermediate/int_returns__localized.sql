-- Returns with their site-local dates (at the return's own site: the site that takes it
-- back), the order line's sku, whether they count (status not rejected or cancelled) and
-- are quality returns (counted, reason damaged / defective / wrong_item), the refund in
-- USD at the refunded date and the refund cycle time. Nothing here depends on the as-of
-- date.
with returns as (
    select * from {{ ref('stg_erp__returns') }}
),

order_lines as (
    select order_id, line_number, sku from {{ ref('stg_erp__order_lines') }}
),

localized as (
    select
        returns.*,
        {{ local_date('returns.requested_at', "coalesce(sites.timezone, 'UTC')") }} as requested_date,
        {{ local_date('returns.received_at', "coalesce(sites.timezone, 'UTC')") }} as received_date,
        {{ local_date('returns.refunded_at', "coalesce(sites.timezone, 'UTC')") }} as refunded_date,
        returns.status not in ('rejected', 'cancelled') as is_counted
    from returns
    left join {{ ref('stg_ref__sites') }} as sites on sites.site_id = returns.site_id
)

select
    localized.return_id,
    localized.order_id,
    localized.line_number,
    localized.site_id,
    order_lines.sku,
    order_lines.order_id is not null as has_known_order_line,
    localized.reason,
    localized.status,
    localized.returned_qty,
    localized.requested_at,
    localized.received_at,
    localized.refunded_at,
    localized.requested_date,
    localized.received_date,
    localized.refunded_date,
    localized.is_counted,
    localized.is_counted and localized.reason in ('damaged', 'defective', 'wrong_item') as is_quality_return,
    localized.refund_amount,
    localized.currency,
    case when localized.refunded_at is not null
        then localized.refund_amount * {{ usd_rate('fx', 'localized.currency') }}
    end as refund_amount_usd,
    ({{ epoch_seconds('localized.refunded_at') }} - {{ epoch_seconds('localized.requested_at') }})
        / 86400.0 as refund_cycle_days,
    localized.updated_at,
    localized.source_file,
    localized.source_row
from localized
left join order_lines
    on order_lines.order_id = localized.order_id
    and order_lines.line_number = localized.line_number
left join {{ ref('int_fx_rates__ranges') }} as fx
    on {{ fx_join_condition('fx', 'localized.currency', 'localized.refunded_date') }}
