{{ config(materialized="table") }}

-- Every KPI's numerator and denominator per site, day and member of each of its driver
-- dimensions (docs/drivers.md): the input of kpi_drivers_weekly and kpi_drivers_monthly.
-- Per (kpi, site, date, dimension) the members add up to kpi_daily's numerator and
-- denominator (a dbt test on this model).
with members as (
    select * from {{ ref('int_kpi_members__deliveries') }}
    union all select * from {{ ref('int_kpi_members__spend') }}
    union all select * from {{ ref('int_kpi_members__labor') }}
    union all select * from {{ ref('int_kpi_members__inventory_returns') }}
    union all select * from {{ ref('int_kpi_members__service_safety') }}
)

select * from members
