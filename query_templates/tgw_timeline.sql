-- IP timeline on Transit Gateway flow logs, which have no interface-id or action: every record where the
-- address is source or destination, in time order, as `timeline` lists them, with the attachment that
-- recorded it (tgw-attachment-id) in the network interface's place and its flow-direction (ingress: into
-- the transit gateway through that attachment; egress: out of it) in the action's. A flow through the
-- transit gateway shows twice: on the attachment it enters by and on the one it leaves by.
-- Every output column is a sort key, so the order is total.
SELECT date_format(from_unixtime(starttime), '%Y/%m/%d %H:%i:%s') AS start_utc,
       account,
       tgwattachmentid,
       sourceaddress,
       sourceport,
       destinationaddress,
       destinationport,
       protocol,
       numpackets,
       numbytes,
       starttime,
       endtime,
       flowdirection,
       logstatus
FROM vpcflow
WHERE (sourceaddress = :ip OR destinationaddress = :ip)
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
ORDER BY starttime, endtime, tgwattachmentid, sourceaddress, destinationaddress, sourceport, destinationport,
         protocol, flowdirection, numbytes, numpackets, logstatus, account
LIMIT :limit
