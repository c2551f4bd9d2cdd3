{{ config(materialized='incremental', unique_key='return_id', incremental_strategy='delete+insert',
          on_schema_change='fail') }}
{%- set incremental = opskpi_incremental() %}
-- depends_on: {{ ref('stg_erp__returns') }}

-- One row per customer return (surviving version): its site-local dates, whether it
-- counts and is a quality return, the refund in USD and the refund cycle time. Nothing
-- here depends on the as-of date (the KPIs filter by date).
-- Incremental: see macros/incremental.sql; the rows recomputed are those of the returns
-- that changed, whose order line changed (sku), or whose currency got new fx rates from
-- their refunded date on.
{% if incremental %}
with affected as (
    {{ opskpi_delta('returns', ['return_id']) }}
    union
    select return_id from {{ ref('stg_erp__returns') }}
    where (order_id, line_number) in ({{ opskpi_delta('order_lines', ['order_id', 'line_number']) }})
    union
    select previous.return_id from {{ this }} as previous
    join ({{ opskpi_fx_delta() }}) as fx
        on fx.currency = previous.currency and previous.refunded_date >= fx.changed_from
)
{% endif %}

select
    return_id,
    order_id,
    line_number,
    site_id,
    sku,
    has_known_order_line,
    reason,
    status,
    returned_qty,
    requested_at,
    received_at,
    refunded_at,
    requested_date,
    received_date,
    refunded_date,
    is_counted,
    is_quality_return,
    refund_amount,
    currency,
    refund_amount_usd,
    refund_cycle_days,
    updated_at,
    source_file,
    source_row,
    '{{ invocation_id }}' as dbt_invocation_id
from {{ ref('int_returns__localized') }}
{% if incremental %}
where return_id in (select return_id from affected)
{% endif %}
