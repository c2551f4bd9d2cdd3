-- How current each entity's data is: the newest business date of its events on or before
-- the as-of date (facts also keep later-dated records, which don't make the data any
-- fresher). The one definition of freshness: the quality gate warns from it, `opskpi
-- status` and the report show it. An entity without any record has no row (it is not
-- exported, not stale).
with events as (
    select 'shipments' as entity, 'shipped_date' as event, shipped_date as event_date
    from {{ ref('fct_deliveries') }}
    union all
    select 'order_lines', 'order_placed_date', order_placed_date
    from {{ ref('fct_order_lines') }}
    union all
    -- ordered_at is an instant; its UTC date is close enough for freshness
    select 'purchase_order_lines', 'ordered_at', cast(ordered_at as date)
    from {{ ref('fct_po_lines') }}
    union all
    select 'invoice_lines', 'invoice_date', invoice_date
    from {{ ref('fct_spend') }}
    union all
    select 'timesheets', 'work_date', work_date
    from {{ ref('fct_labor') }}
),

newest as (
    select
        entity,
        event,
        max(case when event_date <= {{ as_of() }} then event_date end) as newest_event_date,
        max(event_date) as latest_event_date
    from events
    group by entity, event
),

judged as (
    select
        entity,
        event,
        newest_event_date,
        latest_event_date,
        {{ as_of() }} as as_of_date,
        {{ dbt.datediff('newest_event_date', as_of(), 'day') }} as days_behind
    from newest
)

select * from judged
