-- Packets the transit gateway dropped (Transit Gateway flow logs): the records with any of the four loss
-- counters above zero (packets-lost-no-route, -blackhole, -mtu-exceeded, -ttl-expired), per attachment that
-- recorded them and source/destination pair, each counter summed and their total, the most lost packets
-- first, bounded by the window. A counter that reads '-' (NULL) adds nothing to the total.
SELECT tgwattachmentid,
       sourceaddress,
       destinationaddress,
       SUM(COALESCE(packetslostnoroute, 0) + COALESCE(packetslostblackhole, 0)
           + COALESCE(packetslostmtuexceeded, 0) + COALESCE(packetslostttlexpired, 0)) AS lost_packets,
       SUM(packetslostnoroute) AS lost_no_route,
       SUM(packetslostblackhole) AS lost_blackhole,
       SUM(packetslostmtuexceeded) AS lost_mtu_exceeded,
       SUM(packetslostttlexpired) AS lost_ttl_expired,
       count(*) AS record_count,
       date_format(from_unixtime(min(starttime)), '%Y/%m/%d %H:%i:%s') AS first_seen,
       date_format(from_unixtime(max(endtime)), '%Y/%m/%d %H:%i:%s') AS last_seen
FROM vpcflow
WHERE (packetslostnoroute > 0 OR packetslostblackhole > 0 OR packetslostmtuexceeded > 0
       OR packetslostttlexpired > 0)
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY tgwattachmentid, sourceaddress, destinationaddress
ORDER BY lost_packets DESC, record_count DESC, tgwattachmentid, sourceaddress, destinationaddress
LIMIT :limit
