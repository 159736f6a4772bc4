-- Traffic between VPCs through the transit gateway (Transit Gateway flow logs): per source VPC and
-- destination VPC, with their accounts (tgw-src-vpc-account-id, tgw-dst-vpc-account-id), the bytes,
-- packets and records, the most bytes first, bounded by the window.
-- Only the records of the attachment a flow enters by (flow-direction 'ingress') are counted: a flow is
-- also recorded on the attachment it leaves by ('egress'), with the same VPCs and bytes, and counting both
-- would count it twice. A side that is no VPC (a VPN, Direct Connect or peering attachment) reads '-'.
SELECT tgwsrcvpcaccountid AS src_account,
       tgwsrcvpcid AS src_vpc,
       tgwdstvpcaccountid AS dst_account,
       tgwdstvpcid AS dst_vpc,
       SUM(numbytes) AS total_bytes,
       SUM(numpackets) AS total_packets,
       count(*) AS record_count
FROM vpcflow
WHERE flowdirection = 'ingress'
  AND date_partition BETWEEN :first_day AND :last_day
  AND (:region = '' OR region_partition = :region)
  AND (:account = '' OR account_partition = :account)
  AND starttime >= :from_ts AND starttime < :to_ts
GROUP BY tgwsrcvpcaccountid, tgwsrcvpcid, tgwdstvpcaccountid, tgwdstvpcid
ORDER BY total_bytes DESC, record_count DESC, src_vpc, dst_vpc, src_account, dst_account
LIMIT :limit
