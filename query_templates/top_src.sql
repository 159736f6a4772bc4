-- Top source IPs by record count: the playbook's top-IP query, bounded by the window.
SELECT sourceaddress,
       count(*) AS record_count,
       SUM(numbytes) AS total_bytes
FROM vpcflow
WHERE sourceaddress <> '-'
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY sourceaddress
ORDER BY record_count DESC, total_bytes DESC, sourceaddress
LIMIT :limit
