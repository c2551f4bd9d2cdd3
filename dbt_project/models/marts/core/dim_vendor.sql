-- Every vendor: those of the vendors export, plus vendor ids only seen on PO/invoice lines.
with vendors as (
    select * from {{ ref('stg_erp__vendors') }}
),

referenced as (
    select vendor_id from {{ ref('fct_spend') }}
    union select vendor_id from {{ ref('fct_po_lines') }}
)

select vendor_id, vendor_name, category, country, payment_terms_days, updated_at,
       true as is_known_vendor
from vendors
union all
select vendor_id, null, null, null, null, null, false
from referenced
where vendor_id not in (select vendor_id from vendors)
