{#- First and last date dim_date must cover, read from the built facts at run time. -#}
{% macro opskpi_date_bounds() %}
    {% if not execute %}{{ return(['2000-01-01', '2000-01-02']) }}{% endif %}
    {% set sql %}
        select
            cast(coalesce(min(d), {{ as_of() }}) as varchar),
            cast(greatest(coalesce(max(d), {{ as_of() }}), {{ as_of() }}) as varchar)
        from (
            select shipped_date as d from {{ ref('fct_deliveries') }}
            union all select delivered_date from {{ ref('fct_deliveries') }}
            union all select due_date from {{ ref('fct_order_lines') }}
            union all select order_placed_date from {{ ref('fct_order_lines') }}
            union all select invoice_date from {{ ref('fct_spend') }}
            union all select paid_date from {{ ref('fct_spend') }}
            union all select expected_date from {{ ref('fct_po_lines') }}
            union all select work_date from {{ ref('fct_labor') }}
            union all select month_start from {{ ref('stg_fin__budgets') }}
            union all select date from {{ ref('fct_inventory_daily') }}
            union all select count_date from {{ ref('fct_cycle_counts') }}
            union all select requested_date from {{ ref('fct_returns') }}
            union all select refunded_date from {{ ref('fct_returns') }}
            union all select opened_date from {{ ref('fct_service_tickets') }}
            union all select resolved_date from {{ ref('fct_service_tickets') }}
            union all select response_judged_date from {{ ref('fct_service_tickets') }}
            union all select resolution_judged_date from {{ ref('fct_service_tickets') }}
            union all select occurred_date from {{ ref('fct_safety_incidents') }}
        ) as dates
    {% endset %}
    {% set row = run_query(sql).rows[0] %}
    {{ return([row[0], row[1]]) }}
{% endmacro %}
