-- Total bytes of IPv4 traffic (the VPC console's VpcFlowLogsIPv4Traffic), bounded by the window. An
-- IPv4 record is one whose source address is dotted (has a '.' and no ':'); the address test, rather
-- than the version 3 `type` field, lets the default (version 2) format answer too.
SELECT count(*) AS record_count,
       SUM(numpackets) AS total_packets,
       SUM(numbytes) AS total_bytes
FROM vpcflow
WHERE strpos(sourceaddress, '.') > 0 AND strpos(sourceaddress, ':') = 0
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
