-- Bytes per packet-level pair (the VPC console's VpcFlowLogsTotalBytesTransferredPacketLevel): the
-- pairs of the packets' original addresses (pkt-srcaddr, pkt-dstaddr) with the most bytes, bounded by
-- the window.
SELECT pktsrcaddr,
       pktdstaddr,
       count(*) AS record_count,
       SUM(numpackets) AS total_packets,
       SUM(numbytes) AS total_bytes
FROM vpcflow
WHERE pktsrcaddr <> '-'
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY pktsrcaddr, pktdstaddr
ORDER BY total_bytes DESC, record_count DESC, pktsrcaddr, pktdstaddr
LIMIT :limit
