-- Bytes per source/destination pair (the VPC console's VpcFlowLogsTotalBytesTransferred): the pairs
-- with the most bytes, bounded by the window.
SELECT sourceaddress,
       destinationaddress,
       count(*) AS record_count,
       SUM(numpackets) AS total_packets,
       SUM(numbytes) AS total_bytes
FROM vpcflow
WHERE sourceaddress <> '-'
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY sourceaddress, destinationaddress
ORDER BY total_bytes DESC, record_count DESC, sourceaddress, destinationaddress
LIMIT :limit
