-- Data ratio per source/destination pair: the playbook's query, bounded by the window.
SELECT sourceaddress,
       destinationaddress,
       count(*) AS record_count,
       SUM(numbytes) AS total_bytes,
       SUM(numbytes) / count(*) AS data_ratio,
       date_format(from_unixtime(min(starttime)), '%Y/%m/%d %H:%i:%s') AS first_seen,
       date_format(from_unixtime(max(endtime)), '%Y/%m/%d %H:%i:%s') AS last_seen
FROM vpcflow
WHERE (sourceaddress = :ip OR destinationaddress = :ip)
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY sourceaddress, destinationaddress
ORDER BY total_bytes DESC, sourceaddress, destinationaddress
LIMIT :limit
