-- IOC hunt: the playbook's incident_vpc_flow_directional rows of the window, indicators matched as ranges.
-- INBOUND: the flow's destination is an indicator (connecting_ip is its source); OUTBOUND: its source is.
-- A single address is its /32 (IPv4) or /128 (IPv6). Each indicator counts once however often it was
-- submitted; text that is not an address or a range never reaches contains() (nor fails the query), and
-- TRY() turns contains()'s own refusals (e.g. an IPv4 range with host bits set) into no match.
-- :indicators narrows the hunt to some indicators (a retro-hunt of a new submission): ',a,b,' with each
-- indicator's canonical text as the store keeps it, or '' for all of them. It is one bound value.
-- contains() is Trino's since Release 427 (PR 18997): every address is its 16 bytes (IPv4 as
-- ::ffff:a.b.c.d), a range written with a dotted quad fixes 96 + prefix of those 128 bits, any other
-- range (even ::ffff:10.0.0.0/104) prefix bits, so an IPv6 range such as ::/0 or ::ffff:0:0/96 holds IPv4
-- addresses too. When several indicators hold an address, `indicator` is the narrowest (most of the 128
-- bits fixed: 10.0.0.0/8 before ::ffff:0:0/96), ties by text.
--
-- One scan, no cross join with the indicators:
-- - the window is read once; each record becomes its two directions by a CROSS JOIN with a two-element
--   UNNEST (Trino shares no scan between the arms of a UNION ALL);
-- - the join is an equality on a key, then contains() confirms: an address's 16 bytes as Trino stores
--   them, in hex, give three keys: the whole address, its block (in the mapped block, i.e. IPv4: 28 hex
--   digits, the mapped prefix and two octets; otherwise its first 4), and '*'. An indicator that fixes
--   all 128 bits (a single address) is keyed by its address; one fixing at least the first 112 bits
--   inside the mapped block (an IPv4 /16 or longer, or ::ffff:a.b.0.0/112 and longer) by those 28
--   digits; one fixing at least 16 bits that do not start 0000 (IPv6 /16 or longer outside ::/16) by its
--   first 4; any other (wider, or starting 0000: ::/0, ::ffff:0:0/96, ::ffff:10.0.0.0/104, ...) by '*'.
--   Every address a range holds shares the range's key among its own three, so nothing is missed, and
--   each flow meets only the indicators of its own address, its own block, and the few wide ranges. The
--   three keys come from a CROSS JOIN UNNEST beside the join, so each flow's address is parsed once, not
--   once per key.
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
               PARTITION BY flow.matched_ip ORDER BY ioc.prefix_bits DESC, ioc.indicator
           ) AS chosen
    FROM (
        SELECT vpc.account,
               vpc.interfaceid,
               vpc.sourceaddress || ':' || CAST(vpc.sourceport AS VARCHAR) AS source,
               vpc.destinationaddress || ':' || CAST(vpc.destinationport AS VARCHAR) AS destination,
               side.direction,
               CASE side.direction WHEN 'INBOUND' THEN vpc.sourceaddress ELSE vpc.destinationaddress END
                   AS connecting_ip,
               CASE side.direction WHEN 'INBOUND' THEN vpc.sourceport ELSE vpc.destinationport END
                   AS connecting_port,
               vpc.protocol,
               vpc.numpackets,
               vpc.numbytes,
               vpc.action,
               vpc.logstatus,
               CAST(from_unixtime(vpc.starttime) AS TIMESTAMP) AS starttime,
               CAST(from_unixtime(vpc.endtime) AS TIMESTAMP) AS endtime,
               date_diff('second', from_unixtime(vpc.starttime), from_unixtime(vpc.endtime)) AS sessiontime,
               CASE side.direction WHEN 'INBOUND' THEN vpc.destinationaddress ELSE vpc.sourceaddress END
                   AS matched_ip,
               to_hex(CAST(TRY_CAST(
                   CASE side.direction WHEN 'INBOUND' THEN vpc.destinationaddress ELSE vpc.sourceaddress END
                   AS IPADDRESS) AS VARBINARY)) AS matched_hex
        FROM vpcflow AS vpc
        CROSS JOIN UNNEST(ARRAY['INBOUND', 'OUTBOUND']) AS side (direction)
        WHERE vpc.date_partition BETWEEN :first_day AND :last_day
          AND (:region = '' OR vpc.region_partition = :region)
          AND (:account = '' OR vpc.account_partition = :account)
          AND vpc.starttime >= :from_ts AND vpc.starttime < :to_ts
    ) AS flow
    CROSS JOIN UNNEST(ARRAY['address', 'block', 'any']) AS probe (grain)
    JOIN (
        SELECT indicator,
               network,
               prefix_bits,
               CASE WHEN base_hex IS NULL THEN NULL
                    WHEN prefix_bits = 128 THEN base_hex
                    WHEN prefix_bits >= 112 AND substr(base_hex, 1, 24) = '00000000000000000000FFFF'
                        THEN substr(base_hex, 1, 28)
                    WHEN prefix_bits >= 16 AND substr(base_hex, 1, 4) <> '0000' THEN substr(base_hex, 1, 4)
                    ELSE '*' END AS join_key
        FROM (
            SELECT threat_ip AS indicator,
                   CASE WHEN strpos(threat_ip, '/') > 0 THEN threat_ip
                        WHEN strpos(threat_ip, ':') > 0 THEN threat_ip || '/128'
                        ELSE threat_ip || '/32' END AS network,
                   CASE WHEN strpos(threat_ip, '/') = 0 THEN 128
                        WHEN strpos(threat_ip, ':') > 0 THEN TRY_CAST(split_part(threat_ip, '/', 2) AS INTEGER)
                        ELSE TRY_CAST(split_part(threat_ip, '/', 2) AS INTEGER) + 96 END AS prefix_bits,
                   to_hex(CAST(TRY_CAST(split_part(threat_ip, '/', 1) AS IPADDRESS) AS VARBINARY)) AS base_hex
            FROM (SELECT DISTINCT threat_ip
                  FROM (SELECT threat_ip, ',' || threat_ip || ',' AS listed FROM incident_iocs) AS stored
                  WHERE :indicators = '' OR strpos(:indicators, listed) > 0) AS submitted
            WHERE regexp_like(threat_ip, '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$')
        ) AS parsed
    ) AS ioc
      ON ioc.join_key = CASE probe.grain
                            WHEN 'address' THEN flow.matched_hex
                            WHEN 'block' THEN
                                CASE WHEN substr(flow.matched_hex, 1, 24) = '00000000000000000000FFFF'
                                     THEN substr(flow.matched_hex, 1, 28)
                                     ELSE substr(flow.matched_hex, 1, 4) END
                            ELSE '*' END
     AND TRY(contains(ioc.network, TRY_CAST(flow.matched_ip AS IPADDRESS)))
) AS hits
WHERE indicator = chosen
ORDER BY starttime, endtime, sessiontime, interfaceid, connecting_ip, direction,
         source, destination, connecting_port, indicator, protocol, numpackets, numbytes, action, logstatus,
         account
LIMIT :limit
