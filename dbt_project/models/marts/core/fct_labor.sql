{{ config(materialized='incremental', unique_key='entry_id', incremental_strategy='delete+insert',
          on_schema_change='fail') }}
{%- set incremental = opskpi_incremental() %}
-- depends_on: {{ ref('int_timesheets__overtime') }}
-- depends_on: {{ ref('stg_hr__timesheets') }}

-- One row per timesheet entry (surviving version): hours, overtime split and cost.
-- Incremental: overtime depends on the employee's whole ISO week, so the entries
-- recomputed are every entry of an (employee, week) that gained, lost or changed an
-- entry, plus entries from the earliest date a pay rate or fx rate changed.
{% if incremental %}
with changed_entries as (
    {{ opskpi_delta('timesheets', ['entry_id']) }}
),

touched_weeks as (
    -- the week an entry is in now, and the week it was in at the previous build
    select employee_id, week_start from {{ ref('int_timesheets__overtime') }}
    where entry_id in (select entry_id from changed_entries)
    union
    select employee_id, week_start from {{ this }}
    where entry_id in (select entry_id from changed_entries)
),

rate_changes as (
    select employee_id, min(effective_from) as changed_from
    from {{ source('raw', 'pay_rates') }}
    where _loaded_at > {{ opskpi_watermark_literal() }}
    group by employee_id
),

affected as (
    select previous.entry_id from {{ this }} as previous
    join rate_changes
        on rate_changes.employee_id = previous.employee_id
        and previous.work_date >= rate_changes.changed_from
    union
    select previous.entry_id from {{ this }} as previous
    join ({{ opskpi_fx_delta() }}) as fx
        on fx.currency = previous.rate_currency and previous.work_date >= fx.changed_from
)
{% endif %}

select
    entry_id,
    employee_id,
    site_id,
    work_date,
    week_start,
    activity,
    clock_in,
    clock_out,
    break_minutes,
    hours_worked,
    regular_hours,
    overtime_hours,
    hourly_rate,
    rate_currency,
    labor_cost_usd,
    updated_at,
    source_file,
    source_row,
    '{{ invocation_id }}' as dbt_invocation_id
from {{ ref('int_timesheets__costed') }}
{% if incremental %}
where entry_id in (select entry_id from affected)
   or (employee_id, week_start) in (select employee_id, week_start from touched_weeks)
{% endif %}
