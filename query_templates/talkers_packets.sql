-- Top packet-level talkers (the VPC console's VpcFlowLogsTopTalkersPacketLevel): as `talkers`, on the
-- packet's original addresses (pkt-srcaddr, pkt-dstaddr), which differ from srcaddr/dstaddr on a NAT
-- gateway's or other intermediate interface; bounded by the window.
SELECT address,
       SUM(numbytes) AS total_bytes,
       SUM(CASE WHEN side = 'sent' THEN numbytes END) AS bytes_sent,
       SUM(CASE WHEN side = 'received' THEN numbytes END) AS bytes_received,
       count(*) AS record_count
FROM (
    SELECT pktsrcaddr AS address, 'sent' AS side, numbytes
    FROM vpcflow
    WHERE pktsrcaddr <> '-'
      AND date_partition BETWEEN :first_day AND :last_day
      AND (:region = '' OR region_partition = :region)
      AND (:account = '' OR account_partition = :account)
      AND starttime >= :from_ts AND starttime < :to_ts
    UNION ALL
    SELECT pktdstaddr AS address, 'received' AS side, numbytes
    FROM vpcflow
    WHERE pktdstaddr <> '-'
      AND date_partition BETWEEN :first_day AND :last_day
      AND (:region = '' OR region_partition = :region)
      AND (:account = '' OR account_partition = :account)
      AND starttime >= :from_ts AND starttime < :to_ts
) AS sides
GROUP BY address
ORDER BY total_bytes DESC, record_count DESC, address
LIMIT :limit
