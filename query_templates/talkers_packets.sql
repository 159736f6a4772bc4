-- Top packet-level talkers (the VPC console's VpcFlowLogsTopTalkersPacketLevel): as `talkers`, on the
-- packet's original addresses (pkt-srcaddr, pkt-dstaddr), which differ from srcaddr/dstaddr on a NAT
-- gateway's or other intermediate interface; bounded by the window.
-- The window is read once: each record becomes two rows, its source ('sent') and its destination
-- ('received'), by a CROSS JOIN with a two-element UNNEST (Trino shares no scan between the arms of a
-- UNION ALL, so two arms would read, and Athena bill, the window twice).
SELECT address,
       SUM(numbytes) AS total_bytes,
       SUM(CASE WHEN side = 'sent' THEN numbytes END) AS bytes_sent,
       SUM(CASE WHEN side = 'received' THEN numbytes END) AS bytes_received,
       count(*) AS record_count
FROM (
    SELECT CASE side.kind WHEN 'sent' THEN pktsrcaddr ELSE pktdstaddr END AS address, side.kind AS side, numbytes
    FROM vpcflow
    CROSS JOIN UNNEST(ARRAY['sent', 'received']) AS side (kind)
    WHERE date_partition BETWEEN :first_day AND :last_day
      AND (:region = '' OR region_partition = :region)
      AND (:account = '' OR account_partition = :account)
      AND starttime >= :from_ts AND starttime < :to_ts
) AS sides
WHERE address <> '-'
GROUP BY address
ORDER BY total_bytes DESC, record_count DESC, address
LIMIT :limit
