-- One row per shipment (surviving version), with the as-of flags of kpis.md.
select
    shipment_id,
    order_id,
    line_number,
    site_id,
    carrier_id,
    status,
    shipped_qty,
    damaged_qty,
    delivered_qty,
    shipped_at,
    delivered_at,
    shipped_date,
    delivered_date,
    due_date,
    order_placed_at,
    has_known_order_line,
    -- delivered as of as_of: status delivered and delivered date <= as_of
    (status = 'delivered' and delivered_date <= {{ as_of() }}) as is_delivered,
    case
        when status = 'delivered' and delivered_date <= {{ as_of() }} and due_date is not null
            then delivered_date <= due_date
    end as is_on_time,
    lead_time_days,
    freight_cost,
    currency,
    freight_cost_usd,
    updated_at,
    source_file,
    source_row
from {{ ref('int_shipments__localized') }}
