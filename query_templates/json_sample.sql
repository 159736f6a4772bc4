-- Sample rows of the JSON table: the playbook's SELECT * ... LIMIT 1000, bounded by the window.
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
WHERE start_time >= :from_iso AND start_time < :to_iso
LIMIT :limit
