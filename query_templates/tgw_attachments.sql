-- Transit Gateway attachments by traffic (Transit Gateway flow logs): per attachment that recorded traffic
-- (tgw-attachment-id), the bytes and packets of its records and how many there are, the most bytes first,
-- bounded by the window. A flow through the transit gateway is recorded on the attachment it enters by
-- (flow-direction 'ingress': bytes the attachment's VPC, VPN or peer sent) and on the one it leaves by
-- ('egress': bytes sent to it), so an attachment's total is what it sent plus what it received, and a
-- pair of attachments moving much data tops the list together.
-- Records without an attachment ('-') are left out; NODATA and SKIPDATA rows count as records (their
-- bytes are '-', which SUM ignores).
SELECT tgwattachmentid,
       SUM(numbytes) AS total_bytes,
       SUM(CASE WHEN flowdirection = 'ingress' THEN numbytes END) AS ingress_bytes,
       SUM(CASE WHEN flowdirection = 'egress' THEN numbytes END) AS egress_bytes,
       SUM(numpackets) AS total_packets,
       count(*) AS record_count
FROM vpcflow
WHERE tgwattachmentid <> '-'
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY tgwattachmentid
ORDER BY total_bytes DESC, record_count DESC, tgwattachmentid
LIMIT :limit
