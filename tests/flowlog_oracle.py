"""An independent reader of flow-log files and the answers Athena would give, in plain Python.

The local engine answers with DuckDB and translated SQL; this module answers the same questions with
no SQL and no code from `bot/`, so that a test comparing the two catches a mistake in either. It follows
what Athena does with the playbook's `vpcflow` table (ROW FORMAT DELIMITED, fields terminated by one
space, `skip.header.line.count` = 1, no `serialization.null.format`, partition projection on the path):

- lines end at `\\n`, `\\r\\n` or `\\r`; each is split on every single space; missing trailing fields
  are NULL, extra ones are ignored;
- a string column keeps its text as is (`-` stays the string "-", an empty field is ""), except the
  default null sequence `\\N`, which is NULL;
- an integer column is NULL when its text is empty, `\\N`, not a number or out of the column's range;
  an optional sign and a decimal part (digits only, dropped) are accepted, as Trino's text reader does;
- the partition columns come from the folders: `AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<MM>/<dd>/`.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

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


def parse_line(line: str, date_partition: str, region: str, account: str) -> Row:
    """One data line of a file, split on single spaces as the delimited SerDe does."""
    fields: list[str | None] = list(line.split(" "))
    fields += [None] * (14 - len(fields))
    return Row(
        version=parse_int(fields[0]),
        account=parse_str(fields[1]),
        interfaceid=parse_str(fields[2]),
        sourceaddress=parse_str(fields[3]),
        destinationaddress=parse_str(fields[4]),
        sourceport=parse_int(fields[5]),
        destinationport=parse_int(fields[6]),
        protocol=parse_int(fields[7]),
        numpackets=parse_int(fields[8]),
        numbytes=parse_int(fields[9], INT64),
        starttime=parse_int(fields[10]),
        endtime=parse_int(fields[11]),
        action=parse_str(fields[12]),
        logstatus=parse_str(fields[13]),
        date_partition=date_partition,
        region_partition=region,
        account_partition=account,
    )


def load_rows(root: Path) -> list[Row]:
    """Every record under root/AWSLogs, each file's first (header) line skipped, in path order."""
    rows: list[Row] = []
    base = Path(root) / "AWSLogs"
    for path in sorted(base.rglob("*.log.gz")):
        parts = path.relative_to(base).parts
        if len(parts) != 7 or parts[1] != "vpcflowlogs":
            continue
        account, _, region, yyyy, mm, dd, _ = parts
        with gzip.open(path, "rb") as f:
            data = f.read()
        for line in split_lines(data)[1:]:
            rows.append(parse_line(line, f"{yyyy}/{mm}/{dd}", region, account))
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
