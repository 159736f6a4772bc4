"""Amazon Security Lake's VPC flow logs (OCSF Network Activity, source version 2) as the playbook's `vpcflow`.

Security Lake rewrites each flow-log record as an OCSF event with nested columns; this module says, once for
both engines, which OCSF value stands for each flow-log field, and which fields it cannot give. The mapping
follows OCSF's published mapping of Amazon VPC flow logs (ocsf-examples, "Event Dossier: Amazon VPC
Flowlogs": `src_endpoint.ip` ← srcaddr, `traffic.bytes` ← bytes, `start_time` ← start, `status_code` ←
log-status, ...) and Security Lake's own example queries (Security Lake User Guide, "Example Security Lake
queries for Amazon VPC Flow Logs", source version 2: `src_endpoint.ip`, `dst_endpoint.port`, `time_dt`,
`region`, `accountid`). What it could not confirm is in the README's known limits:
- OCSF times are epoch milliseconds: `starttime` and `endtime` are them divided by 1,000 (truncated);
- `action` is OCSF's `action_id` (1 Allowed → ACCEPT, 2 Denied → REJECT, otherwise `-`, as a text log writes
  a field that does not apply); `flow-direction` is `connection_info.direction` (Inbound → ingress, Outbound
  → egress);
- interface, VPC, subnet and instance ids sit on the endpoint the record's network interface is: the source's
  when set, else the destination's;
- the packet-level addresses (`pkt-srcaddr`, `pkt-dstaddr`), `sublocation-*`, `traffic-path` and `type` have
  no column here: templates that read them are refused on this layout, naming the fields.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.flowlog_format import BY_HEADER

Dialect = Literal["trino", "duckdb"]


def _either(field: str) -> str:
    """An id kept on whichever endpoint is the record's network interface."""
    return f"coalesce(src_endpoint.{field}, dst_endpoint.{field})"


_OCSF: dict[str, str] = {
    "version": "TRY_CAST(metadata.product.version AS integer)",
    "account-id": "cloud.account.uid",
    "interface-id": _either("interface_uid"),
    "srcaddr": "src_endpoint.ip",
    "dstaddr": "dst_endpoint.ip",
    "srcport": "src_endpoint.port",
    "dstport": "dst_endpoint.port",
    "protocol": "connection_info.protocol_num",
    "packets": "traffic.packets",
    "bytes": "traffic.bytes",
    "start": "start_time {div} 1000",
    "end": "end_time {div} 1000",
    "action": "CASE action_id WHEN 1 THEN 'ACCEPT' WHEN 2 THEN 'REJECT' ELSE '-' END",
    "log-status": "status_code",
    "vpc-id": _either("vpc_uid"),
    "subnet-id": _either("subnet_uid"),
    "instance-id": _either("instance_uid"),
    "tcp-flags": "connection_info.tcp_flags",
    "region": "cloud.region",
    "az-id": "cloud.zone",
    "pkt-src-aws-service": "src_endpoint.svc_name",
    "pkt-dst-aws-service": "dst_endpoint.svc_name",
    "flow-direction": "CASE connection_info.direction WHEN 'Inbound' THEN 'ingress' "
    "WHEN 'Outbound' THEN 'egress' ELSE '-' END",
}
"""Flow-log field (header name) → OCSF expression. `{div}` is integer division: `/` on Trino's integers,
`//` on DuckDB's (where `/` gives a double)."""

OCSF_HEADERS: tuple[str, ...] = tuple(_OCSF)
"""The flow-log fields Security Lake's records give, in the order above (a log format's worth of fields)."""

OCSF_FORMAT = " ".join(f"${{{h}}}" for h in OCSF_HEADERS)
"""The same as a flow-log format string, what a Security Lake source can answer."""


_PATH = re.compile(r"\b(?:[a-z_]+\.)+[a-z_]+\b|\b(?:start_time|end_time|action_id|status_code)\b")
"""The OCSF columns an expression reads: dotted struct paths, and the top-level columns the mapping uses."""


def ocsf_paths(column: str) -> frozenset[str]:
    """The Parquet leaf columns (`src_endpoint, ip`, as Parquet's metadata names them) a logical column is
    read from; none for a column Security Lake does not give. What a scan of it reads, as Athena bills."""
    header = next((h for h in _OCSF if BY_HEADER[h].column == column), None)
    if header is None:
        return frozenset()
    return frozenset(path.replace(".", ", ") for path in _PATH.findall(_OCSF[header]))


def ocsf_columns(dialect: Dialect) -> list[tuple[str, str]]:
    """(logical column, expression over the OCSF table) for each field Security Lake gives, cast to the
    playbook table's type."""
    div = "/" if dialect == "trino" else "//"
    out = []
    for header, expression in _OCSF.items():
        field = BY_HEADER[header]
        out.append((field.column, f"CAST({expression.format(div=div)} AS {field.athena_type})"))
    return out


def ocsf_partitions(dialect: Dialect, eventday: str, region: str, account: str) -> list[tuple[str, str]]:
    """The logical partition columns from Security Lake's `eventDay` (yyyymmdd), region and account."""
    del dialect  # the same text in both
    day = f"concat(substr({eventday}, 1, 4), '/', substr({eventday}, 5, 2), '/', substr({eventday}, 7, 2))"
    return [("date_partition", day), ("region_partition", region), ("account_partition", account)]
