-- Record count: the playbook's first look at the table, bounded by the window.
SELECT count(*) AS record_count
FROM vpcflow
WHERE date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
