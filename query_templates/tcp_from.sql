-- TCP traffic from a source address (the VPC console's VpcFlowLogsTopTcpTraffic): what the address sent
-- over TCP, per destination address and port, the most bytes first, bounded by the window.
SELECT destinationaddress,
       destinationport,
       count(*) AS record_count,
       SUM(numpackets) AS total_packets,
       SUM(numbytes) AS total_bytes,
       date_format(from_unixtime(min(starttime)), '%Y/%m/%d %H:%i:%s') AS first_seen,
       date_format(from_unixtime(max(endtime)), '%Y/%m/%d %H:%i:%s') AS last_seen
FROM vpcflow
WHERE sourceaddress = :ip
  AND protocol = 6
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY destinationaddress, destinationport
ORDER BY total_bytes DESC, record_count DESC, destinationaddress, destinationport
LIMIT :limit
