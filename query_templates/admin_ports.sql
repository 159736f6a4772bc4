-- Admin-port traffic (the VPC console's VpcFlowLogsAdminPortTraffic): the addresses with the most bytes
-- in records from or to an administrative port, counting each record for its source and for its
-- destination as the console's query does, bounded by the window. The ports: 21 FTP, 22 SSH, 23 Telnet,
-- 3389 RDP, 5900 VNC, 5985/5986 WinRM (HTTP/HTTPS), 10000 Webmin.
-- The window is read once: each record becomes two rows, its source and its destination, by a CROSS
-- JOIN with a two-element UNNEST (Trino shares no scan between the arms of a UNION ALL, so two arms
-- would read, and Athena bill, the window twice).
SELECT address,
       SUM(numbytes) AS total_bytes,
       count(*) AS record_count
FROM (
    SELECT CASE side.kind WHEN 'source' THEN sourceaddress ELSE destinationaddress END AS address, numbytes
    FROM vpcflow
    CROSS JOIN UNNEST(ARRAY['source', 'destination']) AS side (kind)
    WHERE (sourceport IN (21, 22, 23, 3389, 5900, 5985, 5986, 10000) OR destinationport IN (21, 22, 23, 3389, 5900, 5985, 5986, 10000))
      AND date_partition BETWEEN :first_day AND :last_day
      AND (:region = '' OR region_partition = :region)
      AND (:account = '' OR account_partition = :account)
      AND starttime >= :from_ts AND starttime < :to_ts
) AS sides
GROUP BY address
ORDER BY total_bytes DESC, record_count DESC, address
LIMIT :limit
