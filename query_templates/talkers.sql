-- Top talkers (the VPC console's VpcFlowLogsTopTalkers): the addresses with the most traffic, i.e. the
-- most bytes sent plus received (an address counts every record it is the source or destination of),
-- bounded by the window.
SELECT address,
       SUM(numbytes) AS total_bytes,
       SUM(CASE WHEN side = 'sent' THEN numbytes END) AS bytes_sent,
       SUM(CASE WHEN side = 'received' THEN numbytes END) AS bytes_received,
       count(*) AS record_count
FROM (
    SELECT sourceaddress AS address, 'sent' AS side, numbytes
    FROM vpcflow
    WHERE sourceaddress <> '-'
      AND date_partition BETWEEN :first_day AND :last_day
      AND (:region = '' OR region_partition = :region)
      AND (:account = '' OR account_partition = :account)
      AND starttime >= :from_ts AND starttime < :to_ts
    UNION ALL
    SELECT destinationaddress AS address, 'received' AS side, numbytes
    FROM vpcflow
    WHERE destinationaddress <> '-'
      AND date_partition BETWEEN :first_day AND :last_day
      AND (:region = '' OR region_partition = :region)
      AND (:account = '' OR account_partition = :account)
      AND starttime >= :from_ts AND starttime < :to_ts
) AS sides
GROUP BY address
ORDER BY total_bytes DESC, record_count DESC, address
LIMIT :limit
