-- Top IPs on the JSON table: the playbook's query (ip, cnt), bounded by the window.
SELECT ip,
       count(*) AS cnt
FROM vpc_flow_logs
WHERE start_time >= :from_iso AND start_time < :to_iso
GROUP BY ip
ORDER BY cnt DESC, ip
LIMIT :limit
