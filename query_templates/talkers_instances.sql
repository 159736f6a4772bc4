-- Top talking instances (the VPC console's VpcFlowLogsTopTalkingInstances): the instance IDs whose
-- network interfaces recorded the most bytes, sent and received, bounded by the window. Interfaces
-- with no instance (instance-id `-`: NAT gateways, load balancers, detached ENIs) are left out.
SELECT instanceid,
       count(*) AS record_count,
       SUM(numpackets) AS total_packets,
       SUM(numbytes) AS total_bytes
FROM vpcflow
WHERE instanceid <> '-'
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY instanceid
ORDER BY total_bytes DESC, record_count DESC, instanceid
LIMIT :limit
