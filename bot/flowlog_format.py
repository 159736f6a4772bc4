"""The flow-log table as the playbook's DDL declares it (but for three columns widened to bigint, see FIELDS),
and how a file's header maps onto it.

One place holds the field list so that the local engine, the DDL (later) and the tests agree on
names and on Athena types. Header names are what VPC Flow Logs writes on a file's first line
(`account-id`); column names are the playbook's (`account`). The fields of Transit Gateway flow logs are known
too (appended after the VPC ones, column names written like the playbook's: `tgwattachmentid`), so that
`FLOWBOT_LOG_FORMAT` may be a transit gateway's format, e.g. `TGW_DEFAULT_FORMAT`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FlowField:
    """One flow-log field: its name in file headers, its table column and its Athena type."""

    header: str
    column: str
    athena_type: str


# Order and types follow the playbook's `vpcflow` DDL, except packets, start and end: these three are
# `bigint`, as in AWS's reference DDL for flow logs in Athena (Amazon Athena User Guide, "Create a table for
# Amazon VPC flow logs and query it",
# https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-create-table-statement.html: `packets bigint`,
# `start bigint`, `end bigint`), not the playbook's `int`, which overflows (Athena reads NULL) for a record of
# more than 2^31-1 packets and for epoch seconds from 2038-01-19 03:14:08 UTC on.
FIELDS: tuple[FlowField, ...] = (
    FlowField("version", "version", "integer"),
    FlowField("account-id", "account", "varchar"),
    FlowField("interface-id", "interfaceid", "varchar"),
    FlowField("srcaddr", "sourceaddress", "varchar"),
    FlowField("dstaddr", "destinationaddress", "varchar"),
    FlowField("srcport", "sourceport", "integer"),
    FlowField("dstport", "destinationport", "integer"),
    FlowField("protocol", "protocol", "integer"),
    FlowField("packets", "numpackets", "bigint"),
    FlowField("bytes", "numbytes", "bigint"),
    FlowField("start", "starttime", "bigint"),
    FlowField("end", "endtime", "bigint"),
    FlowField("action", "action", "varchar"),
    FlowField("log-status", "logstatus", "varchar"),
    FlowField("vpc-id", "vpcid", "varchar"),
    FlowField("type", "type", "varchar"),
    FlowField("tcp-flags", "tcpflags", "smallint"),
    FlowField("subnet-id", "subnetid", "varchar"),
    FlowField("sublocation-type", "sublocationtype", "varchar"),
    FlowField("sublocation-id", "sublocationid", "varchar"),
    FlowField("region", "region", "varchar"),
    FlowField("pkt-srcaddr", "pktsrcaddr", "varchar"),
    FlowField("pkt-dstaddr", "pktdstaddr", "varchar"),
    FlowField("instance-id", "instanceid", "varchar"),
    FlowField("az-id", "azid", "varchar"),
    FlowField("pkt-src-aws-service", "pktsrcawsservice", "varchar"),
    FlowField("pkt-dst-aws-service", "pktdstawsservice", "varchar"),
    FlowField("flow-direction", "flowdirection", "varchar"),
    FlowField("traffic-path", "trafficpath", "integer"),
    # Transit Gateway flow logs' own fields (version 6), appended: the VPC fields keep their order. A transit
    # gateway's records also carry version, account-id, srcaddr, dstaddr, srcport, dstport, protocol,
    # packets, bytes, start, end, log-status, type, tcp-flags, region, flow-direction, pkt-src-aws-service
    # and pkt-dst-aws-service, the fields above of the same names; they have no interface-id, action,
    # vpc-id or subnet-id (Amazon VPC Transit Gateways, "Transit Gateway Flow Log records", Available
    # fields, https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html#flow-logs-fields). Ids are
    # varchar; the four loss counters bigint, as the packets they count (Parquet type INT_64 there).
    FlowField("resource-type", "resourcetype", "varchar"),
    FlowField("tgw-id", "tgwid", "varchar"),
    FlowField("tgw-attachment-id", "tgwattachmentid", "varchar"),
    FlowField("tgw-src-vpc-account-id", "tgwsrcvpcaccountid", "varchar"),
    FlowField("tgw-dst-vpc-account-id", "tgwdstvpcaccountid", "varchar"),
    FlowField("tgw-src-vpc-id", "tgwsrcvpcid", "varchar"),
    FlowField("tgw-dst-vpc-id", "tgwdstvpcid", "varchar"),
    FlowField("tgw-src-subnet-id", "tgwsrcsubnetid", "varchar"),
    FlowField("tgw-dst-subnet-id", "tgwdstsubnetid", "varchar"),
    FlowField("tgw-src-eni", "tgwsrceni", "varchar"),
    FlowField("tgw-dst-eni", "tgwdsteni", "varchar"),
    FlowField("tgw-src-az-id", "tgwsrcazid", "varchar"),
    FlowField("tgw-dst-az-id", "tgwdstazid", "varchar"),
    FlowField("tgw-pair-attachment-id", "tgwpairattachmentid", "varchar"),
    FlowField("packets-lost-no-route", "packetslostnoroute", "bigint"),
    FlowField("packets-lost-blackhole", "packetslostblackhole", "bigint"),
    FlowField("packets-lost-mtu-exceeded", "packetslostmtuexceeded", "bigint"),
    FlowField("packets-lost-ttl-expired", "packetslostttlexpired", "bigint"),
)

BY_HEADER: dict[str, FlowField] = {f.header: f for f in FIELDS}

DEFAULT_V2_HEADERS: tuple[str, ...] = tuple(f.header for f in FIELDS[:14])
"""The default (version 2) format, as written on the first line of every file."""

DEFAULT_V2_FORMAT = " ".join(f"${{{h}}}" for h in DEFAULT_V2_HEADERS)
"""The same, as a flow log's format string: `${version} ${account-id} ...`."""

TGW_DEFAULT_HEADERS: tuple[str, ...] = (
    "version", "resource-type", "account-id", "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id", "tgw-src-vpc-id", "tgw-dst-vpc-id", "tgw-src-subnet-id", "tgw-dst-subnet-id",
    "tgw-src-eni", "tgw-dst-eni", "tgw-src-az-id", "tgw-dst-az-id", "tgw-pair-attachment-id", "srcaddr",
    "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "log-status", "type",
    "packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired", "tcp-flags", "region", "flow-direction", "pkt-src-aws-service",
    "pkt-dst-aws-service",
)  # fmt: skip
"""A Transit Gateway flow log's default format: "all version 2 to version 6 fields, in the order shown in the
available fields table" (Amazon VPC Transit Gateways, "Transit Gateway Flow Log records", Default format,
https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html#flow-logs-default), which is this order."""

TGW_DEFAULT_FORMAT = " ".join(f"${{{h}}}" for h in TGW_DEFAULT_HEADERS)
"""The same, as a flow log's format string (`FLOWBOT_LOG_FORMAT` for a transit gateway's flow log)."""

_FORMAT_FIELD = re.compile(r"\$\{([a-z0-9-]+)\}")


def parse_log_format(format_string: str) -> tuple[str, ...]:
    """`${version} ${vpc-id} ...` → ('version', 'vpc-id', ...); unknown or repeated fields are errors."""
    tokens = format_string.split()
    headers = []
    for token in tokens:
        match = _FORMAT_FIELD.fullmatch(token)
        if not match:
            raise ValueError(f"`{token}` is not a `${{field}}` of a flow-log format string")
        if match.group(1) not in BY_HEADER:
            raise ValueError(f"`{match.group(1)}` is not a flow-log field")
        headers.append(match.group(1))
    if not headers:
        raise ValueError("the format string names no field")
    if len(set(headers)) != len(headers):
        raise ValueError("a field appears twice in the format string")
    return tuple(headers)


PARTITION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("date_partition", "varchar"),
    ("region_partition", "varchar"),
    ("account_partition", "varchar"),
)
"""Partition columns of the projected table, in the DDL's order, filled from the S3 path."""


def table_columns(headers: tuple[str, ...] = DEFAULT_V2_HEADERS) -> list[tuple[str, str]]:
    """The table's (column, Athena type) list for a log format, partition columns last."""
    return [(BY_HEADER[h].column, BY_HEADER[h].athena_type) for h in headers] + list(PARTITION_COLUMNS)


JSON_FIELDS: tuple[tuple[str, str], ...] = (
    ("is_rejected_packet", "varchar"),
    ("avg_in_packet_size", "integer"),
    ("vpc_id", "varchar"),
    ("local_port", "integer"),
    ("source_dc", "varchar"),
    ("ip", "varchar"),
    ("end_time", "varchar"),
    ("remote_port", "integer"),
    ("start_time", "varchar"),
    ("protocol", "integer"),
    ("in_bytes", "bigint"),
    ("source_tag", "varchar"),
    ("account_id", "varchar"),
    ("instance_id", "varchar"),
    ("interface_public_ips", "varchar"),
    ("out_bytes", "bigint"),
    ("is_skipped_rejected_packets", "varchar"),
    ("source_az", "varchar"),
    ("source_region", "varchar"),
    ("avg_out_packet_size", "integer"),
    ("instance_type", "varchar"),
    ("interface_local_ips", "varchar"),
)
"""The playbook's JSON-serde `vpc_flow_logs` table, in its order, with Athena types. Its start_time and
end_time are text; Flowbot expects ISO 8601 UTC (`2026-11-19T10:01:00Z`), whose text order is time order."""

COLUMN_HEADERS: dict[str, str] = {f.column: f.header for f in FIELDS}


def format_columns(format_string: str) -> frozenset[str]:
    """Table columns a log format provides (`${pkt-srcaddr}` → `pktsrcaddr`)."""
    return frozenset(BY_HEADER[h].column for h in parse_log_format(format_string))


ALL_HEADERS: tuple[str, ...] = tuple(f.header for f in FIELDS)
"""Every field Flowbot knows; the local engine's view has them all (NULL where a file lacks one)."""


def format_difference(headers: tuple[str, ...], configured: tuple[str, ...]) -> str:
    """How a file's fields differ from the configured format's, in words (empty when they are the same)."""
    if headers == configured:
        return ""
    extra = [h for h in headers if h not in configured]
    missing = [h for h in configured if h not in headers]
    parts = []
    if extra:
        parts.append(f"has {', '.join(extra)}")
    if missing:
        parts.append(f"lacks {', '.join(missing)}")
    return "; ".join(parts) or "has the same fields in another order"
