-- Every employee: those of the employees export, plus employee ids only seen on
-- timesheets or pay rates.
with employees as (
    select * from {{ ref('stg_hr__employees') }}
),

referenced as (
    select employee_id from {{ ref('fct_labor') }}
    union select employee_id from {{ ref('stg_hr__pay_rates') }}
)

select employee_id, home_site_id, role, employment_type, hire_date, updated_at,
       true as is_known_employee
from employees
union all
select employee_id, null, null, null, null, null, false
from referenced
where employee_id not in (select employee_id from employees)
