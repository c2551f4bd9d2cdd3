{{ config(materialized='incremental', unique_key=['return_id'], incremental_strategy='delete+insert') }}

-- Customer returns (RMAs). One row per return_id: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('returns', only_changed_keys=true) }}
)

select
    return_id,
    order_id,
    line_number,
    site_id,
    returned_qty,
    reason,
    requested_at,
    received_at,
    refunded_at,
    refund_amount,
    currency,
    status,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
