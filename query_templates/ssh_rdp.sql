-- SSH and RDP traffic (the VPC console's VpcFlowLogsSshRdpTraffic): every record from or to port 22 or
-- 3389, oldest first as the console orders it, bounded by the window.
SELECT date_format(from_unixtime(starttime), '%Y/%m/%d %H:%i:%s') AS start_utc,
       account,
       interfaceid,
       sourceaddress,
       sourceport,
       destinationaddress,
       destinationport,
       protocol,
       numpackets,
       numbytes,
       starttime,
       endtime,
       action,
       logstatus
FROM vpcflow
WHERE (sourceport IN (22, 3389) OR destinationport IN (22, 3389))
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
ORDER BY starttime, endtime, interfaceid, sourceaddress, destinationaddress, sourceport, destinationport,
         protocol, numbytes, numpackets, action, account, logstatus
LIMIT :limit
