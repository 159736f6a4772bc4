-- Top talking subnets (the VPC console's VpcFlowLogsTopTalkingSubnets): the subnet IDs whose network
-- interfaces recorded the most bytes, sent and received, bounded by the window.
SELECT vpcid,
       subnetid,
       count(*) AS record_count,
       SUM(numpackets) AS total_packets,
       SUM(numbytes) AS total_bytes
FROM vpcflow
WHERE subnetid <> '-'
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY vpcid, subnetid
ORDER BY total_bytes DESC, record_count DESC, subnetid, vpcid
LIMIT :limit
