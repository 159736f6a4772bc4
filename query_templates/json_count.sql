-- Record count on the JSON table: the playbook's first look, bounded by the window.
SELECT count(*) AS record_count
FROM vpc_flow_logs
WHERE start_time >= :from_iso AND start_time < :to_iso
