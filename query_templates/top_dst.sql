-- Top destination IPs by record count: the playbook's top-IP query, bounded by the window.
SELECT destinationaddress,
       count(*) AS record_count,
       SUM(numbytes) AS total_bytes
FROM vpcflow
WHERE destinationaddress <> '-'
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY destinationaddress
ORDER BY record_count DESC, total_bytes DESC, destinationaddress
LIMIT :limit
