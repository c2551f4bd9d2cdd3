-- Every carrier: those of the carriers export, plus carrier ids only seen on shipments.
with carriers as (
    select * from {{ ref('stg_tms__carriers') }}
)

select carrier_id, carrier_name, mode, on_time_target, true as is_known_carrier
from carriers
union all
select distinct carrier_id, null, null, null, false
from {{ ref('fct_deliveries') }}
where carrier_id is not null and carrier_id not in (select carrier_id from carriers)
