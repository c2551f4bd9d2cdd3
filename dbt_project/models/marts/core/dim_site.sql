-- Every site: those of the sites export, plus site ids that only appear in facts
-- (is_known_site = false, time zone UTC as the contract says).
with referenced as (
    select site_id from {{ ref('fct_deliveries') }}
    union select site_id from {{ ref('fct_order_lines') }}
    union select site_id from {{ ref('fct_spend') }}
    union select site_id from {{ ref('fct_po_lines') }}
    union select site_id from {{ ref('fct_labor') }}
    union select site_id from {{ ref('stg_fin__budgets') }}
    union select site_id from {{ ref('fct_inventory_daily') }}
    union select site_id from {{ ref('fct_cycle_counts') }}
    union select site_id from {{ ref('fct_returns') }}
    union select site_id from {{ ref('fct_service_tickets') }}
    union select site_id from {{ ref('fct_safety_incidents') }}
),

sites as (
    select * from {{ ref('stg_ref__sites') }}
)

select
    sites.site_id,
    sites.site_name,
    sites.region,
    sites.country,
    sites.timezone,
    true as is_known_site
from sites
union all
select
    referenced.site_id,
    null as site_name,
    null as region,
    null as country,
    'UTC' as timezone,
    false as is_known_site
from referenced
where referenced.site_id not in (select site_id from sites)
