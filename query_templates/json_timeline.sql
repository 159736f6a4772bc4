-- IP timeline on the JSON table: the playbook's SELECT * WHERE ip = ... ORDER BY start_time, bounded.
SELECT is_rejected_packet,
       avg_in_packet_size,
       vpc_id,
       local_port,
       source_dc,
       ip,
       end_time,
       remote_port,
       start_time,
       protocol,
       in_bytes,
       source_tag,
       account_id,
       instance_id,
       interface_public_ips,
       out_bytes,
       is_skipped_rejected_packets,
       source_az,
       source_region,
       avg_out_packet_size,
       instance_type,
       interface_local_ips
FROM vpc_flow_logs
WHERE ip = :ip
  AND start_time >= :from_iso AND start_time < :to_iso
ORDER BY start_time, end_time, interface_local_ips, local_port, remote_port
LIMIT :limit
