-- Goods receipts with their receipt date (received_at in the receipt's own site's time)
-- and accepted quantity (received − rejected).
select
    receipts.*,
    {{ local_date('receipts.received_at', "coalesce(sites.timezone, 'UTC')") }} as received_date,
    receipts.received_qty - receipts.rejected_qty as accepted_qty
from {{ ref('stg_wms__goods_receipts') }} as receipts
left join {{ ref('stg_ref__sites') }} as sites on sites.site_id = receipts.site_id
