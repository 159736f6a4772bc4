"""An independent reader of flow-log files and the answers Athena would give, in plain Python.

The local engine answers with DuckDB and translated SQL; this module answers the same questions with
no SQL and no code from `bot/`, so that a test comparing the two catches a mistake in either. It follows
what Athena does with the playbook's `vpcflow` table (ROW FORMAT DELIMITED, fields terminated by one
space, `skip.header.line.count` = 1, no `serialization.null.format`, partition projection on the path):

- lines end at `\\n`, `\\r\\n` or `\\r`; each is split on every single space; missing trailing fields
  are NULL, extra ones are ignored;
- fields are mapped to columns by the file's header line (a custom log format puts them in its own order);
  a column whose field the header lacks is NULL, as in Flowbot's table, which has every field;
- a string column keeps its text as is (`-` stays the string "-", an empty field is ""), except the
  default null sequence `\\N`, which is NULL;
- an integer column is NULL when its text is empty, `\\N`, not a number or out of the column's range;
  an optional sign and a decimal part (digits only, dropped) are accepted, as Trino's text reader does;
- the partition columns come from the folders: `AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<MM>/<dd>/`.

Transit Gateway flow logs are read the same way (same folders, header line, `-`); their own fields (tgw-*,
resource-type, packets-lost-*) are more columns of the same Row, None where a header lacks them, and the
`tgw` queries' answers are below (`expected_tgw_*`, `expected_hunt(..., tgw=True)`).
"""

from __future__ import annotations

import gzip
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

INT16 = (-(2**15), 2**15 - 1)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
NULL_SEQUENCE = "\\N"
_NUMBER = re.compile(r"[+-]?([0-9]*)(?:\.[0-9]*)?")
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class Row:
    """One record as Athena's table shows it (string columns are None only for missing fields)."""

    version: int | None
    account: str | None
    interfaceid: str | None
    sourceaddress: str | None
    destinationaddress: str | None
    sourceport: int | None
    destinationport: int | None
    protocol: int | None
    numpackets: int | None
    numbytes: int | None
    starttime: int | None
    endtime: int | None
    action: str | None
    logstatus: str | None
    date_partition: str  # "yyyy/MM/dd" from the folder
    region_partition: str
    account_partition: str
    # version 3-5 fields: None where the file's header lacks them
    vpcid: str | None = None
    subnetid: str | None = None
    instanceid: str | None = None
    tcpflags: int | None = None
    type: str | None = None
    pktsrcaddr: str | None = None
    pktdstaddr: str | None = None
    region: str | None = None
    azid: str | None = None
    sublocationtype: str | None = None
    sublocationid: str | None = None
    pktsrcawsservice: str | None = None
    pktdstawsservice: str | None = None
    flowdirection: str | None = None
    trafficpath: int | None = None
    # Transit Gateway flow logs' own fields (version 6): None where the file's header lacks them
    resourcetype: str | None = None
    tgwid: str | None = None
    tgwattachmentid: str | None = None
    tgwsrcvpcaccountid: str | None = None
    tgwdstvpcaccountid: str | None = None
    tgwsrcvpcid: str | None = None
    tgwdstvpcid: str | None = None
    tgwsrcsubnetid: str | None = None
    tgwdstsubnetid: str | None = None
    tgwsrceni: str | None = None
    tgwdsteni: str | None = None
    tgwsrcazid: str | None = None
    tgwdstazid: str | None = None
    tgwpairattachmentid: str | None = None
    packetslostnoroute: int | None = None
    packetslostblackhole: int | None = None
    packetslostmtuexceeded: int | None = None
    packetslostttlexpired: int | None = None


V2_HEADERS: tuple[str, ...] = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
    "packets", "bytes", "start", "end", "action", "log-status",
)  # fmt: skip
"""The default format's fields, in the order AWS writes them."""

_STR, _INT, _SMALLINT, _BIGINT = "str", "int", "smallint", "bigint"
FIELD_COLUMNS: dict[str, tuple[str, str]] = {
    "version": ("version", _INT),
    "account-id": ("account", _STR),
    "interface-id": ("interfaceid", _STR),
    "srcaddr": ("sourceaddress", _STR),
    "dstaddr": ("destinationaddress", _STR),
    "srcport": ("sourceport", _INT),
    "dstport": ("destinationport", _INT),
    "protocol": ("protocol", _INT),
    "packets": ("numpackets", _BIGINT),
    "bytes": ("numbytes", _BIGINT),
    "start": ("starttime", _BIGINT),
    "end": ("endtime", _BIGINT),
    "action": ("action", _STR),
    "log-status": ("logstatus", _STR),
    "vpc-id": ("vpcid", _STR),
    "subnet-id": ("subnetid", _STR),
    "instance-id": ("instanceid", _STR),
    "tcp-flags": ("tcpflags", _SMALLINT),
    "type": ("type", _STR),
    "pkt-srcaddr": ("pktsrcaddr", _STR),
    "pkt-dstaddr": ("pktdstaddr", _STR),
    "region": ("region", _STR),
    "az-id": ("azid", _STR),
    "sublocation-type": ("sublocationtype", _STR),
    "sublocation-id": ("sublocationid", _STR),
    "pkt-src-aws-service": ("pktsrcawsservice", _STR),
    "pkt-dst-aws-service": ("pktdstawsservice", _STR),
    "flow-direction": ("flowdirection", _STR),
    "traffic-path": ("trafficpath", _INT),
    "resource-type": ("resourcetype", _STR),
    "tgw-id": ("tgwid", _STR),
    "tgw-attachment-id": ("tgwattachmentid", _STR),
    "tgw-src-vpc-account-id": ("tgwsrcvpcaccountid", _STR),
    "tgw-dst-vpc-account-id": ("tgwdstvpcaccountid", _STR),
    "tgw-src-vpc-id": ("tgwsrcvpcid", _STR),
    "tgw-dst-vpc-id": ("tgwdstvpcid", _STR),
    "tgw-src-subnet-id": ("tgwsrcsubnetid", _STR),
    "tgw-dst-subnet-id": ("tgwdstsubnetid", _STR),
    "tgw-src-eni": ("tgwsrceni", _STR),
    "tgw-dst-eni": ("tgwdsteni", _STR),
    "tgw-src-az-id": ("tgwsrcazid", _STR),
    "tgw-dst-az-id": ("tgwdstazid", _STR),
    "tgw-pair-attachment-id": ("tgwpairattachmentid", _STR),
    "packets-lost-no-route": ("packetslostnoroute", _BIGINT),
    "packets-lost-blackhole": ("packetslostblackhole", _BIGINT),
    "packets-lost-mtu-exceeded": ("packetslostmtuexceeded", _BIGINT),
    "packets-lost-ttl-expired": ("packetslostttlexpired", _BIGINT),
}
"""Header name → (column, kind), written out here rather than taken from `bot/`, so that the oracle stays an
independent reading of the AWS field list and the playbook's DDL (tcp-flags is a smallint there), except
packets, start and end: bigint, as in AWS's reference DDL for flow logs in Athena, where the playbook's int
would read a record of more than 2^31-1 packets, or a time from 2038-01-19 03:14:08 UTC on, as NULL.
The Transit Gateway fields (Amazon VPC Transit Gateways, "Transit Gateway Flow Log records", Available
fields) follow: ids are strings, the four packets-lost counters bigint (INT_64 in AWS's Parquet types)."""

TGW_V6_HEADERS: tuple[str, ...] = (
    "version", "resource-type", "account-id", "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id", "tgw-src-vpc-id", "tgw-dst-vpc-id", "tgw-src-subnet-id", "tgw-dst-subnet-id",
    "tgw-src-eni", "tgw-dst-eni", "tgw-src-az-id", "tgw-dst-az-id", "tgw-pair-attachment-id", "srcaddr",
    "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "log-status", "type",
    "packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired", "tcp-flags", "region", "flow-direction", "pkt-src-aws-service",
    "pkt-dst-aws-service",
)  # fmt: skip
"""A Transit Gateway flow log's default format: every field of versions 2 to 6, in the order of the AWS field
table ("Transit Gateway Flow Log records", Default format)."""


def parse_int(text: str | None, bounds: tuple[int, int] = INT32) -> int | None:
    """An integer column's value: None for a missing, null, malformed or out-of-range field."""
    if text is None or text == "" or text == NULL_SEQUENCE:
        return None
    if text in ("+", "-") or not _NUMBER.fullmatch(text):
        return None
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").split(".", 1)[0]
    value = sign * int(digits) if digits else 0
    return value if bounds[0] <= value <= bounds[1] else None


def parse_str(text: str | None) -> str | None:
    """A string column's value: the text itself, None only for a missing field or `\\N`."""
    return None if text is None or text == NULL_SEQUENCE else text


def parse_line(
    line: str, date_partition: str, region: str, account: str, headers: tuple[str, ...] = V2_HEADERS
) -> Row:
    """One data line of a file, split on single spaces as the delimited SerDe does, each field mapped to
    its column by the file's header."""
    unknown = [h for h in headers if h not in FIELD_COLUMNS]
    if unknown:
        raise ValueError(f"unknown flow-log fields in the header: {unknown}")
    fields: list[str | None] = list(line.split(" "))
    fields += [None] * (len(headers) - len(fields))
    values: dict[str, object] = {}
    for header, text in zip(headers, fields, strict=False):
        column, kind = FIELD_COLUMNS[header]
        if kind == _STR:
            values[column] = parse_str(text)
        else:
            values[column] = parse_int(text, {_SMALLINT: INT16, _INT: INT32, _BIGINT: INT64}[kind])
    for header in V2_HEADERS:  # the default fields have no default value in Row
        values.setdefault(FIELD_COLUMNS[header][0], None)
    return Row(
        date_partition=date_partition,
        region_partition=region,
        account_partition=account,
        **values,  # type: ignore[arg-type]
    )


_PLAIN_PATH = re.compile(r"(\d{12})/vpcflowlogs/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/(?:\d{2}/)?[^/]+")
_HIVE_PATH = re.compile(
    r"aws-account-id=(\d{12})/aws-service=vpcflowlogs/aws-region=([a-z0-9-]+)/"
    r"year=(\d{4})/month=(\d{2})/day=(\d{2})/(?:hour=\d{2}/)?[^/]+"
)
"""Delivered text files' keys below AWSLogs/ (VPC User Guide, "Flow log files"): plain or Hive-compatible
prefixes, daily or with an hour folder. The day folder is the date partition in every one of them."""


def load_rows(root: Path) -> list[Row]:
    """Every record under root/AWSLogs, each file's first (header) line naming its fields, in path order."""
    rows: list[Row] = []
    base = Path(root) / "AWSLogs"
    for path in sorted(base.rglob("*.log.gz")):
        key = path.relative_to(base).as_posix()
        match = _PLAIN_PATH.fullmatch(key) or _HIVE_PATH.fullmatch(key)
        if match is None:
            continue
        account, region, yyyy, mm, dd = match.groups()
        with gzip.open(path, "rb") as f:
            data = f.read()
        lines = split_lines(data)
        if not lines:
            continue
        headers = tuple(lines[0].split())
        for line in lines[1:]:
            rows.append(parse_line(line, f"{yyyy}/{mm}/{dd}", region, account, headers))
    return rows


def split_lines(data: bytes) -> list[str]:
    """Lines as Trino's text reader cuts them: a leading UTF-8 BOM skipped; `\\n`, `\\r\\n` or `\\r` end a
    line; the terminator after the last line does not start another one; empty lines are rows."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = _LINE_END.split(data)
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.decode("utf-8", errors="replace") for line in lines]


# --------------------------------------------------------------------------------------------------
# The window every query applies


class Scoped(Protocol):
    """What a request offers the oracle (structurally: the oracle imports nothing from bot/)."""

    @property
    def account(self) -> str | None: ...

    @property
    def region(self) -> str | None: ...

    def bindings(self) -> dict[str, object]: ...


def scope_of(request: Scoped) -> dict[str, Any]:
    """The oracle's scope arguments (window, partition days, account, region) for a request."""
    b = request.bindings()
    return {
        "from_ts": b["from_ts"],
        "to_ts": b["to_ts"],
        "first_day": b["first_day"],
        "last_day": b["last_day"],
        "account": request.account,
        "region": request.region,
    }


def _day(value: str | date) -> str:
    return value.strftime("%Y/%m/%d") if isinstance(value, date) else value


def in_scope(
    row: Row,
    from_ts: int,
    to_ts: int,
    first_day: str | date,
    last_day: str | date,
    account: str | None = None,
    region: str | None = None,
) -> bool:
    """The templates' WHERE clause: partitions in range (string compare), then the start time."""
    return (
        _day(first_day) <= row.date_partition <= _day(last_day)
        and (account is None or row.account_partition == account)
        and (region is None or row.region_partition == region)
        and row.starttime is not None
        and from_ts <= row.starttime < to_ts
    )


def scoped(
    rows: Iterable[Row],
    from_ts: int,
    to_ts: int,
    first_day: str | date,
    last_day: str | date,
    account: str | None = None,
    region: str | None = None,
) -> list[Row]:
    """The rows in scope, in their original order."""
    return [r for r in rows if in_scope(r, from_ts, to_ts, first_day, last_day, account, region)]


def utc_text(epoch: int | None) -> str | None:
    """`date_format(from_unixtime(x), '%Y/%m/%d %H:%i:%s')`."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y/%m/%d %H:%M:%S")


def _sum(values: Iterable[int | None]) -> int | None:
    """SQL SUM: NULLs ignored, NULL when nothing is left."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _div(a: int, b: int) -> int:
    """bigint / bigint in Trino: truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _desc_nulls_last(value: int | None) -> tuple[bool, int]:
    return (value is None, -(value or 0))


def _asc_nulls_last(value: object) -> tuple[bool, object]:
    return (value is None, "" if value is None else value)


# --------------------------------------------------------------------------------------------------
# Expected answers


def expected_count(
    rows: Iterable[Row],
    from_ts: int,
    to_ts: int,
    first_day: str | date,
    last_day: str | date,
    account: str | None = None,
    region: str | None = None,
) -> int:
    """`count`: records in the window."""
    return len(scoped(rows, from_ts, to_ts, first_day, last_day, account, region))


RATIO_COLUMNS = (
    "sourceaddress",
    "destinationaddress",
    "record_count",
    "total_bytes",
    "data_ratio",
    "first_seen",
    "last_seen",
)
"""The playbook's data-ratio columns, in its order: what `expected_ratio` tuples hold."""


def expected_ratio(
    rows: Iterable[Row],
    ip: str,
    from_ts: int,
    to_ts: int,
    first_day: str | date,
    last_day: str | date,
    account: str | None = None,
    region: str | None = None,
) -> list[tuple[str | None, str | None, int, int | None, int | None, str | None, str | None]]:
    """`ratio <ip>`: per (source, destination) pair touching ip, busiest by bytes first.

    (sourceaddress, destinationaddress, record_count, total_bytes, data_ratio, first_seen, last_seen)
    """
    groups: dict[tuple[str | None, str | None], list[Row]] = {}
    for r in scoped(rows, from_ts, to_ts, first_day, last_day, account, region):
        if r.sourceaddress == ip or r.destinationaddress == ip:
            groups.setdefault((r.sourceaddress, r.destinationaddress), []).append(r)
    out = []
    for (src, dst), members in groups.items():
        total = _sum(m.numbytes for m in members)
        starts = [m.starttime for m in members if m.starttime is not None]
        ends = [m.endtime for m in members if m.endtime is not None]
        out.append(
            (
                src,
                dst,
                len(members),
                total,
                None if total is None else _div(total, len(members)),
                utc_text(min(starts) if starts else None),
                utc_text(max(ends) if ends else None),
            )
        )
    out.sort(key=lambda t: (_desc_nulls_last(t[3]), _asc_nulls_last(t[0]), _asc_nulls_last(t[1])))
    return out


def expected_top(
    rows: Iterable[Row],
    direction: str,
    from_ts: int,
    to_ts: int,
    first_day: str | date,
    last_day: str | date,
    account: str | None = None,
    region: str | None = None,
    limit: int | None = None,
) -> list[tuple[str, int, int | None]]:
    """`top src` / `top dst`: (ip, record_count, total_bytes), most records first, `-` left out."""
    if direction not in ("src", "dst"):
        raise ValueError(f"direction is 'src' or 'dst', not {direction!r}")
    groups: dict[str, list[int | None]] = {}
    for r in scoped(rows, from_ts, to_ts, first_day, last_day, account, region):
        address = r.sourceaddress if direction == "src" else r.destinationaddress
        if address is not None and address != "-":  # NULL <> '-' is not true either
            groups.setdefault(address, []).append(r.numbytes)
    out = [(ip, len(b), _sum(b)) for ip, b in groups.items()]
    out.sort(key=lambda t: (-t[1], _desc_nulls_last(t[2]), t[0]))
    return out if limit is None else out[:limit]


def expected_timeline(
    rows: Iterable[Row],
    ip: str,
    from_ts: int,
    to_ts: int,
    first_day: str | date,
    last_day: str | date,
    account: str | None = None,
    region: str | None = None,
) -> list[Row]:
    """`timeline <ip>`: every record with ip as source or destination, oldest first.

    Ordered by (starttime, endtime, interfaceid, sourceaddress, destinationaddress, sourceport,
    destinationport), NULLs last as in Trino. Rows equal on all of these keep no defined order in
    Athena; compare them as a multiset.
    """
    hits = [
        r
        for r in scoped(rows, from_ts, to_ts, first_day, last_day, account, region)
        if r.sourceaddress == ip or r.destinationaddress == ip
    ]
    hits.sort(key=timeline_key)
    return hits


def timeline_key(r: Row) -> tuple[tuple[bool, object], ...]:
    """The timeline's ORDER BY as a sort key, NULLs last."""
    return tuple(
        _asc_nulls_last(v)
        for v in (
            r.starttime,
            r.endtime,
            r.interfaceid,
            r.sourceaddress,
            r.destinationaddress,
            r.sourceport,
            r.destinationport,
        )
    )


# --------------------------------------------------------------------------------------------------
# The VPC console's predefined queries (query_templates/ with `source = "VPC console ..."`)

RECORD_COLUMNS = (
    "start_utc",
    "account",
    "interfaceid",
    "sourceaddress",
    "sourceport",
    "destinationaddress",
    "destinationport",
    "protocol",
    "numpackets",
    "numbytes",
    "starttime",
    "endtime",
    "action",
    "logstatus",
)
"""The columns of the record lists (accepted, rejected, rejected tcp, ssh, from, to), as timeline's."""

RecordTuple = tuple[object, ...]
Scope = dict[str, object]
ADMIN_PORTS = frozenset({21, 22, 23, 3389, 5900, 5985, 5986, 10000})
"""FTP, SSH, Telnet, RDP, VNC, WinRM (HTTP, HTTPS), Webmin: what `admin` counts as administrative."""
TCP = 6


def _scoped(rows: Iterable[Row], scope: Scope) -> list[Row]:
    return scoped(rows, **scope)  # type: ignore[arg-type]


def _record(r: Row) -> RecordTuple:
    return (utc_text(r.starttime), *(getattr(r, c) for c in RECORD_COLUMNS[1:]))


def _record_key(r: Row) -> tuple[tuple[bool, object], ...]:
    """starttime, endtime, interfaceid, sourceaddress, destinationaddress, sourceport, destinationport,
    protocol, numbytes, numpackets, action, account, logstatus; NULLs last."""
    return tuple(
        _asc_nulls_last(v)
        for v in (
            r.starttime,
            r.endtime,
            r.interfaceid,
            r.sourceaddress,
            r.destinationaddress,
            r.sourceport,
            r.destinationport,
            r.protocol,
            r.numbytes,
            r.numpackets,
            r.action,
            r.account,
            r.logstatus,
        )
    )


def expected_records(
    rows: Iterable[Row], query: str, ip: str | None = None, limit: int | None = None, **scope: object
) -> list[RecordTuple]:
    """The record lists, oldest first (every output column a sort key, so the order is total):

    accepted (TCP, ACCEPT), rejected (REJECT), rejected_tcp (TCP, REJECT), ssh_rdp (source or destination
    port 22 or 3389), traffic_from (source address = ip), traffic_to (destination address = ip).
    """
    tests: dict[str, Callable[[Row], bool]] = {
        "accepted": lambda r: r.action == "ACCEPT" and r.protocol == TCP,
        "rejected": lambda r: r.action == "REJECT",
        "rejected_tcp": lambda r: r.action == "REJECT" and r.protocol == TCP,
        "ssh_rdp": lambda r: r.sourceport in (22, 3389) or r.destinationport in (22, 3389),
        "traffic_from": lambda r: r.sourceaddress == ip,
        "traffic_to": lambda r: r.destinationaddress == ip,
    }
    hits = sorted((r for r in _scoped(rows, scope) if tests[query](r)), key=_record_key)
    return [_record(r) for r in hits[:limit]]


def _is_ipv4(address: str | None) -> bool:
    return address is not None and "." in address and ":" not in address


def _is_ipv6(address: str | None) -> bool:
    return address is not None and ":" in address


def expected_family_bytes(
    rows: Iterable[Row], family: int, **scope: object
) -> list[tuple[int, int | None, int | None]]:
    """`bytes ipv4` / `bytes ipv6`: one row (record_count, total_packets, total_bytes), the family told by
    the source address's text (IPv6 has a ':', IPv4 a '.' and no ':')."""
    test = _is_ipv4 if family == 4 else _is_ipv6
    hits = [r for r in _scoped(rows, scope) if test(r.sourceaddress)]
    return [(len(hits), _sum(r.numpackets for r in hits), _sum(r.numbytes for r in hits))]


def _by_bytes(t: tuple[object, ...], total: int, count: int, names: tuple[int, ...]) -> tuple[object, ...]:
    """ORDER BY total DESC, count DESC, names..., NULLs last."""
    return (
        _desc_nulls_last(t[total]),  # type: ignore[arg-type]
        -t[count],  # type: ignore[operator]
        *(_asc_nulls_last(t[i]) for i in names),
    )


def expected_talkers(
    rows: Iterable[Row], packet_level: bool = False, limit: int | None = None, **scope: object
) -> list[tuple[str, int | None, int | None, int | None, int]]:
    """`talkers` / `talkers packets`: (address, total_bytes, bytes_sent, bytes_received, record_count) over
    every record an address is source (sent) or destination (received) of, `-` left out; most bytes first."""
    sides: dict[str, dict[str, list[int | None]]] = {}
    for r in _scoped(rows, scope):
        src, dst = (r.pktsrcaddr, r.pktdstaddr) if packet_level else (r.sourceaddress, r.destinationaddress)
        for address, side in ((src, "sent"), (dst, "received")):
            if address is not None and address != "-":
                sides.setdefault(address, {"sent": [], "received": []})[side].append(r.numbytes)
    out = [
        (
            address,
            _sum([*s["sent"], *s["received"]]),
            _sum(s["sent"]),
            _sum(s["received"]),
            len(s["sent"]) + len(s["received"]),
        )
        for address, s in sides.items()
    ]
    out.sort(key=lambda t: _by_bytes(t, 1, 4, (0,)))
    return out[:limit]


def expected_admin(
    rows: Iterable[Row], limit: int | None = None, **scope: object
) -> list[tuple[str | None, int | None, int]]:
    """`admin`: (address, total_bytes, record_count) over records from or to an admin port, each record
    counted for its source and its destination address; most bytes first."""
    groups: dict[str | None, list[int | None]] = {}
    for r in _scoped(rows, scope):
        if r.sourceport in ADMIN_PORTS or r.destinationport in ADMIN_PORTS:
            for address in (r.sourceaddress, r.destinationaddress):
                groups.setdefault(address, []).append(r.numbytes)
    out = [(address, _sum(b), len(b)) for address, b in groups.items()]
    out.sort(key=lambda t: _by_bytes(t, 1, 2, (0,)))
    return out[:limit]


def expected_pairs(
    rows: Iterable[Row], packet_level: bool = False, limit: int | None = None, **scope: object
) -> list[tuple[str, str | None, int, int | None, int | None]]:
    """`pairs` / `pairs packets`: (source, destination, record_count, total_packets, total_bytes) per pair
    whose source is not `-`; most bytes first."""
    groups: dict[tuple[str, str | None], list[Row]] = {}
    for r in _scoped(rows, scope):
        src, dst = (r.pktsrcaddr, r.pktdstaddr) if packet_level else (r.sourceaddress, r.destinationaddress)
        if src is not None and src != "-":
            groups.setdefault((src, dst), []).append(r)
    out = [
        (src, dst, len(m), _sum(x.numpackets for x in m), _sum(x.numbytes for x in m))
        for (src, dst), m in groups.items()
    ]
    out.sort(key=lambda t: _by_bytes(t, 4, 2, (0, 1)))
    return out[:limit]


def expected_top_instances(
    rows: Iterable[Row], limit: int | None = None, **scope: object
) -> list[tuple[str, int, int | None, int | None]]:
    """`talkers instances`: (instanceid, record_count, total_packets, total_bytes), instance `-` left out."""
    groups: dict[str, list[Row]] = {}
    for r in _scoped(rows, scope):
        if r.instanceid is not None and r.instanceid != "-":
            groups.setdefault(r.instanceid, []).append(r)
    out = [(i, len(m), _sum(x.numpackets for x in m), _sum(x.numbytes for x in m)) for i, m in groups.items()]
    out.sort(key=lambda t: _by_bytes(t, 3, 1, (0,)))
    return out[:limit]


def expected_top_subnets(
    rows: Iterable[Row], limit: int | None = None, **scope: object
) -> list[tuple[str | None, str, int, int | None, int | None]]:
    """`talkers subnets`: (vpcid, subnetid, record_count, total_packets, total_bytes), subnet `-` left out."""
    groups: dict[tuple[str | None, str], list[Row]] = {}
    for r in _scoped(rows, scope):
        if r.subnetid is not None and r.subnetid != "-":
            groups.setdefault((r.vpcid, r.subnetid), []).append(r)
    out = [
        (vpc, subnet, len(m), _sum(x.numpackets for x in m), _sum(x.numbytes for x in m))
        for (vpc, subnet), m in groups.items()
    ]
    out.sort(key=lambda t: _by_bytes(t, 4, 2, (1, 0)))
    return out[:limit]


def expected_tcp_from(
    rows: Iterable[Row], ip: str, limit: int | None = None, **scope: object
) -> list[tuple[str | None, int | None, int, int | None, int | None, str | None, str | None]]:
    """`tcp <ip>`: what ip sent over TCP per (destination, destination port): (destinationaddress,
    destinationport, record_count, total_packets, total_bytes, first_seen, last_seen); most bytes first."""
    groups: dict[tuple[str | None, int | None], list[Row]] = {}
    for r in _scoped(rows, scope):
        if r.sourceaddress == ip and r.protocol == TCP:
            groups.setdefault((r.destinationaddress, r.destinationport), []).append(r)
    out = []
    for (dst, port), m in groups.items():
        starts = [x.starttime for x in m if x.starttime is not None]
        ends = [x.endtime for x in m if x.endtime is not None]
        out.append(
            (
                dst,
                port,
                len(m),
                _sum(x.numpackets for x in m),
                _sum(x.numbytes for x in m),
                utc_text(min(starts) if starts else None),
                utc_text(max(ends) if ends else None),
            )
        )
    out.sort(key=lambda t: _by_bytes(t, 4, 2, (0, 1)))
    return out[:limit]


# --------------------------------------------------------------------------------------------------
# Transit Gateway flow logs (query_templates/tgw_*): a flow through a transit gateway is recorded on the
# attachment it enters by (flow-direction `ingress`) and on the one it leaves by (`egress`).

TGW_ATTACHMENTS_COLUMNS = (
    "tgwattachmentid", "total_bytes", "ingress_bytes", "egress_bytes", "total_packets", "record_count",
)  # fmt: skip
TGW_VPCS_COLUMNS = (
    "src_account", "src_vpc", "dst_account", "dst_vpc", "total_bytes", "total_packets", "record_count",
)  # fmt: skip
TGW_DROPS_COLUMNS = (
    "tgwattachmentid", "sourceaddress", "destinationaddress", "lost_packets", "lost_no_route",
    "lost_blackhole", "lost_mtu_exceeded", "lost_ttl_expired", "record_count", "first_seen", "last_seen",
)  # fmt: skip
TGW_RECORD_COLUMNS = (
    "start_utc", "account", "tgwattachmentid", "sourceaddress", "sourceport", "destinationaddress",
    "destinationport", "protocol", "numpackets", "numbytes", "starttime", "endtime", "flowdirection",
    "logstatus",
)  # fmt: skip
"""`tgw timeline`'s columns: the record lists', the attachment for the interface, flow-direction for the
action."""


def expected_tgw_attachments(
    rows: Iterable[Row], limit: int | None = None, **scope: object
) -> list[tuple[str, int | None, int | None, int | None, int | None, int]]:
    """`tgw attachments`: (tgwattachmentid, total_bytes, ingress_bytes, egress_bytes, total_packets,
    record_count) per attachment (`-` and NULL left out: `NULL <> '-'` is not true), every record of it
    counted (status rows too, their NULL bytes ignored by SUM); ingress_bytes sums the records whose
    flow-direction is `ingress`, egress_bytes `egress`; most bytes first, then most records, then the id."""
    groups: dict[str, list[Row]] = {}
    for r in _scoped(rows, scope):
        if r.tgwattachmentid is not None and r.tgwattachmentid != "-":
            groups.setdefault(r.tgwattachmentid, []).append(r)
    out = [
        (
            attachment,
            _sum(m.numbytes for m in members),
            _sum(m.numbytes for m in members if m.flowdirection == "ingress"),
            _sum(m.numbytes for m in members if m.flowdirection == "egress"),
            _sum(m.numpackets for m in members),
            len(members),
        )
        for attachment, members in groups.items()
    ]
    out.sort(key=lambda t: _by_bytes(t, 1, 5, (0,)))
    return out[:limit]


def expected_tgw_vpcs(
    rows: Iterable[Row], limit: int | None = None, **scope: object
) -> list[tuple[str | None, str | None, str | None, str | None, int | None, int | None, int]]:
    """`tgw vpcs`: (src_account, src_vpc, dst_account, dst_vpc, total_bytes, total_packets, record_count)
    over the records whose flow-direction is `ingress` (each flow once: the record of the attachment it
    entered by), per (tgw-src-vpc-account-id, tgw-src-vpc-id, tgw-dst-vpc-account-id, tgw-dst-vpc-id), `-`
    kept as a value; most bytes first, then most records, then src_vpc, dst_vpc, src_account, dst_account."""
    groups: dict[tuple[str | None, str | None, str | None, str | None], list[Row]] = {}
    for r in _scoped(rows, scope):
        if r.flowdirection == "ingress":
            key = (r.tgwsrcvpcaccountid, r.tgwsrcvpcid, r.tgwdstvpcaccountid, r.tgwdstvpcid)
            groups.setdefault(key, []).append(r)
    out = [
        (*key, _sum(m.numbytes for m in members), _sum(m.numpackets for m in members), len(members))
        for key, members in groups.items()
    ]
    out.sort(key=lambda t: _by_bytes(t, 4, 6, (1, 3, 0, 2)))
    return out[:limit]


_LOSSES = ("packetslostnoroute", "packetslostblackhole", "packetslostmtuexceeded", "packetslostttlexpired")


def expected_tgw_drops(
    rows: Iterable[Row], limit: int | None = None, **scope: object
) -> list[tuple[Any, ...]]:
    """`tgw drops`: over the records with any packets-lost counter above zero (NULL is not), per
    (tgwattachmentid, sourceaddress, destinationaddress): (those three, lost_packets: the four counters
    summed with NULL as 0, lost_no_route, lost_blackhole, lost_mtu_exceeded, lost_ttl_expired: each summed,
    NULL when all NULL, record_count, first_seen, last_seen); most lost first, then most records, then the
    three keys."""
    groups: dict[tuple[str | None, str | None, str | None], list[Row]] = {}
    for r in _scoped(rows, scope):
        counters = [getattr(r, name) for name in _LOSSES]
        if any(c is not None and c > 0 for c in counters):
            groups.setdefault((r.tgwattachmentid, r.sourceaddress, r.destinationaddress), []).append(r)
    out = []
    for key, members in groups.items():
        starts = [m.starttime for m in members if m.starttime is not None]
        ends = [m.endtime for m in members if m.endtime is not None]
        out.append(
            (
                *key,
                sum(getattr(m, name) or 0 for m in members for name in _LOSSES),
                *(_sum(getattr(m, name) for m in members) for name in _LOSSES),
                len(members),
                utc_text(min(starts) if starts else None),
                utc_text(max(ends) if ends else None),
            )
        )
    out.sort(key=lambda t: _by_bytes(t, 3, 8, (0, 1, 2)))
    return out[:limit]


def expected_tgw_timeline(
    rows: Iterable[Row], ip: str, limit: int | None = None, **scope: object
) -> list[RecordTuple]:
    """`tgw timeline <ip>`: TGW_RECORD_COLUMNS tuples of every record with ip as source or destination,
    ordered by (starttime, endtime, tgwattachmentid, sourceaddress, destinationaddress, sourceport,
    destinationport, protocol, flowdirection, numbytes, numpackets, logstatus, account), NULLs last: every
    column, so the order is total."""
    hits = [r for r in _scoped(rows, scope) if r.sourceaddress == ip or r.destinationaddress == ip]
    order = (
        "starttime", "endtime", "tgwattachmentid", "sourceaddress", "destinationaddress", "sourceport",
        "destinationport", "protocol", "flowdirection", "numbytes", "numpackets", "logstatus", "account",
    )  # fmt: skip
    hits.sort(key=lambda r: tuple(_asc_nulls_last(getattr(r, name)) for name in order))
    return [(utc_text(r.starttime), *(getattr(r, c) for c in TGW_RECORD_COLUMNS[1:])) for r in hits[:limit]]


# --------------------------------------------------------------------------------------------------
# IOC hunts: the playbook's directional view, indicators matched as CIDR ranges the way Trino does

HUNT_COLUMNS = (
    "account",
    "interfaceid",
    "source",
    "destination",
    "direction",
    "connecting_ip",
    "connecting_port",
    "indicator",
    "protocol",
    "numpackets",
    "numbytes",
    "action",
    "logstatus",
    "starttime",
    "endtime",
    "sessiontime",
)
"""`hunt`'s columns: the playbook view's, with the matching indicator after connecting_port."""
TGW_HUNT_COLUMNS = tuple(
    {"interfaceid": "tgwattachmentid", "action": "flowdirection"}.get(c, c) for c in HUNT_COLUMNS
)
"""`tgw hunt`'s columns: hunt's, the attachment in the interface's place and flow-direction in action's."""
_INDICATOR_TEXT = re.compile(r"[0-9A-Fa-f:.]+(/[0-9]{1,3})?")
"""What the hunt lets reach contains(): address characters, then maybe `/` and up to three digits."""
_MAPPED = 0xFFFF << 32
"""`::ffff:0.0.0.0`: Trino stores an IPv4 address a.b.c.d as the IPv6 address `::ffff:a.b.c.d`."""
_IPV4_CIDR_BASE = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", re.ASCII)
"""Trino's IPV4_PATTERN: a base written so makes the range IPv4 (Java's `\\d` is ASCII digits only)."""
_JAVA_INT = re.compile(r"[+-]?[0-9]+")
"""What Java's Integer.parseInt reads (the ASCII part of it; the value must also fit in 32 bits)."""


def trino_address(text: str | None) -> int | None:
    """`TRY_CAST(text AS IPADDRESS)` as `contains` sees it: its 16 bytes as one number, or None.

    Trino stores every address in 16 bytes, an IPv4 address as `::ffff:a.b.c.d`, so `1.2.3.4` and
    `::ffff:1.2.3.4` are the same value. Accepted spellings are Python's (the same strict forms as Guava's,
    which Trino uses: no leading zeros in a dotted quad); a zone (`%eth0`) is refused, as the hunt does
    locally.
    """
    if text is None or "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return _MAPPED + int(address) if address.version == 4 else int(address)


def trino_contains(network: str, address: int) -> bool | None:
    """Trino's `contains(network, address)` since Release 427 (PR trinodb/trino#18997), None where it
    raises (what TRY turns into NULL), the address as `trino_address` gives it.

    The network is `base/prefix`, both read as Trino does: the base like an address (16 bytes), the
    prefix like Java's Integer.parseInt (a sign allowed), negative refused. A base written as a dotted quad
    makes an IPv4 range: prefix at most 32, no host bits, and its prefix counts after the 96 bits of
    `::ffff:`. Any other base is IPv6 (even `::ffff:1.2.3.4`): prefix at most 128, host bits ignored.
    A prefix of 0 holds everything; otherwise the first `prefix` of the 128 bits must agree.
    (Where Trino fails the whole query, a prefix that is no 32-bit number, this says None too.)
    """
    base_text, slash, prefix_text = network.partition("/")
    if not slash:
        return None  # "Invalid CIDR"
    base = trino_address(base_text)
    if base is None:
        return None  # "Invalid network IP address"
    if not _JAVA_INT.fullmatch(prefix_text) or not INT32[0] <= int(prefix_text) <= INT32[1]:
        return None  # NumberFormatException
    prefix = int(prefix_text)
    if prefix < 0:
        return None  # "Invalid prefix length"
    if _IPV4_CIDR_BASE.fullmatch(base_text):
        if prefix > 32 or (base - _MAPPED) % (1 << (32 - prefix)):
            return None  # "Invalid CIDR"
        prefix += 96
    elif prefix > 128:
        return None  # "Invalid CIDR"
    if prefix == 0:
        return True
    return base >> (128 - prefix) == address >> (128 - prefix)


def hunt_network(indicator: str) -> tuple[str, int]:
    """The hunt's network text for an indicator and how many of the 128 bits it fixes (a bare address is
    /32 or /128; an IPv4 range's prefix counts after the 96 bits of `::ffff:`, as contains counts it)."""
    if "/" not in indicator:
        return (f"{indicator}/128", 128) if ":" in indicator else (f"{indicator}/32", 128)
    base, prefix = indicator.split("/", 1)
    return indicator, int(prefix) + (0 if ":" in base else 96)


def chosen_indicator(address: str | None, indicators: Iterable[str]) -> str | None:
    """The indicator a hunt reports for an address: of those whose range holds it, the narrowest (most
    bits fixed), ties by text (indicators counted once each; text that is not an address or a range is
    ignored)."""
    parsed = trino_address(address)
    if parsed is None:
        return None
    matches = []
    for indicator in set(indicators):
        if not _INDICATOR_TEXT.fullmatch(indicator):
            continue
        network, bits = hunt_network(indicator)
        if trino_contains(network, parsed):
            matches.append((-bits, indicator))
    return min(matches)[1] if matches else None


def _endpoint(address: str | None, port: int | None) -> str | None:
    """`address || ':' || CAST(port AS VARCHAR)`: NULL when either is."""
    return None if address is None or port is None else f"{address}:{port}"


def _utc_timestamp(epoch: int | None) -> datetime | None:
    """`CAST(from_unixtime(x) AS TIMESTAMP)` in a UTC session: a naive UTC datetime."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def expected_hunt(
    rows: Iterable[Row],
    indicators: Iterable[str | None],
    from_ts: int,
    to_ts: int,
    first_day: str | date,
    last_day: str | date,
    account: str | None = None,
    region: str | None = None,
    *,
    tgw: bool = False,
) -> list[tuple[object, ...]]:
    """`hunt`: the playbook's incident_vpc_flow_directional rows of the window (HUNT_COLUMNS tuples);
    with `tgw`, `tgw hunt`'s (TGW_HUNT_COLUMNS: the attachment for the interface, flow-direction for action).

    INBOUND: the destination is in an indicator's range (connecting_ip is the source); OUTBOUND: the
    source is (connecting_ip is the destination); a record with both sides matching gives both rows.
    Ordered by every column (starttime, endtime, sessiontime, interfaceid, connecting_ip, direction,
    source, destination, connecting_port, indicator, protocol, numpackets, numbytes, action, logstatus,
    account), NULLs last, so the order is total.
    """
    listed = {i for i in indicators if i is not None}
    out = []
    for r in scoped(rows, from_ts, to_ts, first_day, last_day, account, region):
        sides = (
            ("INBOUND", r.destinationaddress, r.sourceaddress, r.sourceport),
            ("OUTBOUND", r.sourceaddress, r.destinationaddress, r.destinationport),
        )
        for direction, matched, peer, peer_port in sides:
            indicator = chosen_indicator(matched, listed)
            if indicator is None:
                continue
            session = None if r.starttime is None or r.endtime is None else r.endtime - r.starttime
            out.append(
                (
                    r.account,
                    r.tgwattachmentid if tgw else r.interfaceid,
                    _endpoint(r.sourceaddress, r.sourceport),
                    _endpoint(r.destinationaddress, r.destinationport),
                    direction,
                    peer,
                    peer_port,
                    indicator,
                    r.protocol,
                    r.numpackets,
                    r.numbytes,
                    r.flowdirection if tgw else r.action,
                    r.logstatus,
                    _utc_timestamp(r.starttime),
                    _utc_timestamp(r.endtime),
                    session,
                )
            )
    order = (13, 14, 15, 1, 5, 4, 2, 3, 6, 7, 8, 9, 10, 11, 12, 0)
    out.sort(key=lambda t: tuple(_asc_nulls_last(t[i]) for i in order))
    return out
