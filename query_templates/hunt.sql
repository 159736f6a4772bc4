-- IOC hunt: the playbook's incident_vpc_flow_directional rows of the window, indicators matched as ranges.
-- INBOUND: the flow's destination is an indicator (connecting_ip is its source); OUTBOUND: its source is.
-- A single address is its /32 (IPv4) or /128 (IPv6). Each indicator counts once however often it was
-- submitted; text that is not an address or a range never reaches contains() (nor fails the query), and
-- TRY() turns contains()'s own refusals (e.g. an IPv4 range with host bits set) into no match.
-- When several indicators hold an address, `indicator` is the one with the longest prefix, ties by text.
SELECT account,
       interfaceid,
       source,
       destination,
       direction,
       connecting_ip,
       connecting_port,
       indicator,
       protocol,
       numpackets,
       numbytes,
       action,
       logstatus,
       starttime,
       endtime,
       sessiontime
FROM (
    SELECT flow.account,
           flow.interfaceid,
           flow.source,
           flow.destination,
           flow.direction,
           flow.connecting_ip,
           flow.connecting_port,
           ioc.indicator,
           flow.protocol,
           flow.numpackets,
           flow.numbytes,
           flow.action,
           flow.logstatus,
           flow.starttime,
           flow.endtime,
           flow.sessiontime,
           first_value(ioc.indicator) OVER (
               PARTITION BY flow.matched_ip ORDER BY ioc.prefix_length DESC, ioc.indicator
           ) AS chosen
    FROM (
        SELECT vpc.account,
               vpc.interfaceid,
               vpc.sourceaddress || ':' || CAST(vpc.sourceport AS VARCHAR) AS source,
               vpc.destinationaddress || ':' || CAST(vpc.destinationport AS VARCHAR) AS destination,
               'INBOUND' AS direction,
               vpc.sourceaddress AS connecting_ip,
               vpc.sourceport AS connecting_port,
               vpc.protocol,
               vpc.numpackets,
               vpc.numbytes,
               vpc.action,
               vpc.logstatus,
               CAST(from_unixtime(vpc.starttime) AS TIMESTAMP) AS starttime,
               CAST(from_unixtime(vpc.endtime) AS TIMESTAMP) AS endtime,
               date_diff('second', from_unixtime(vpc.starttime), from_unixtime(vpc.endtime)) AS sessiontime,
               vpc.destinationaddress AS matched_ip
        FROM vpcflow AS vpc
        WHERE vpc.date_partition BETWEEN :first_day AND :last_day
          AND (:region = '' OR vpc.region_partition = :region)
          AND (:account = '' OR vpc.account_partition = :account)
          AND vpc.starttime >= :from_ts AND vpc.starttime < :to_ts

        UNION ALL

        SELECT vpc.account,
               vpc.interfaceid,
               vpc.sourceaddress || ':' || CAST(vpc.sourceport AS VARCHAR) AS source,
               vpc.destinationaddress || ':' || CAST(vpc.destinationport AS VARCHAR) AS destination,
               'OUTBOUND' AS direction,
               vpc.destinationaddress AS connecting_ip,
               vpc.destinationport AS connecting_port,
               vpc.protocol,
               vpc.numpackets,
               vpc.numbytes,
               vpc.action,
               vpc.logstatus,
               CAST(from_unixtime(vpc.starttime) AS TIMESTAMP) AS starttime,
               CAST(from_unixtime(vpc.endtime) AS TIMESTAMP) AS endtime,
               date_diff('second', from_unixtime(vpc.starttime), from_unixtime(vpc.endtime)) AS sessiontime,
               vpc.sourceaddress AS matched_ip
        FROM vpcflow AS vpc
        WHERE vpc.date_partition BETWEEN :first_day AND :last_day
          AND (:region = '' OR vpc.region_partition = :region)
          AND (:account = '' OR vpc.account_partition = :account)
          AND vpc.starttime >= :from_ts AND vpc.starttime < :to_ts
    ) AS flow
    JOIN (
        SELECT threat_ip AS indicator,
               CASE WHEN strpos(threat_ip, '/') > 0 THEN threat_ip
                    WHEN strpos(threat_ip, ':') > 0 THEN threat_ip || '/128'
                    ELSE threat_ip || '/32' END AS network,
               CASE WHEN strpos(threat_ip, '/') > 0 THEN TRY_CAST(split_part(threat_ip, '/', 2) AS INTEGER)
                    WHEN strpos(threat_ip, ':') > 0 THEN 128
                    ELSE 32 END AS prefix_length
        FROM (SELECT DISTINCT threat_ip FROM incident_iocs) AS submitted
        WHERE regexp_like(threat_ip, '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$')
    ) AS ioc
      ON TRY(contains(ioc.network, TRY_CAST(flow.matched_ip AS IPADDRESS)))
) AS hits
WHERE indicator = chosen
ORDER BY starttime, endtime, sessiontime, interfaceid, connecting_ip, direction,
         source, destination, connecting_port, indicator, protocol, numpackets, numbytes, action, logstatus,
         account
LIMIT :limit
