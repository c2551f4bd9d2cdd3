-- Each fx rate is valid from its rate_date until the next rate_date of the same currency,
-- so "the rate of the greatest rate_date <= the document date" is a range join
-- (portable: no ASOF join needed). USD is always 1 and never read from here.
select
    currency,
    rate_date as valid_from,
    lead(rate_date) over (partition by currency order by rate_date) as valid_to,
    usd_per_unit
from {{ ref('stg_fin__fx_rates') }}
where currency <> 'USD'
