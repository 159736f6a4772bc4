"""How one value looks in the phone summary: bytes humanised, times in UTC, nothing too wide."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.query.catalog import ColumnKind

MAX_CELL = 39  # the longest IPv6 address; anything longer is cut with an ellipsis
_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def human_bytes(value: int) -> str:
    """1234567 → `1.2 MB` (decimal units, as AWS bills and reports them)."""
    size = float(value)
    for unit in _UNITS:
        if abs(size) < 1000 or unit == _UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def human_count(value: int) -> str:
    """12345 → `12,345`."""
    return f"{value:,}"


def short_time(moment: datetime) -> str:
    """A UTC time short enough for a phone column: `11-24 13:05:09`.

    A naive time (DuckDB's `timestamp`, Athena's too) already is UTC: it must not be read as the
    machine's local time.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%m-%d %H:%M:%S")


def cell(value: Any, kind: ColumnKind) -> str:
    """The text shown for a value of a column of this kind."""
    if value is None:
        return "·"
    if kind == "bytes" and isinstance(value, int):
        text = human_bytes(value)
    elif kind == "count" and isinstance(value, int):
        text = human_count(value)
    elif kind == "epoch" and isinstance(value, int):
        text = short_time(datetime.fromtimestamp(value, UTC))
    elif kind == "time" and isinstance(value, str) and len(value) == 19:  # '%Y/%m/%d %H:%M:%S'
        text = value[5:].replace("/", "-")
    elif kind == "time" and isinstance(value, str) and len(value) == 20 and value.endswith("Z"):  # ISO 8601
        text = value[5:19].replace("T", " ")
    elif isinstance(value, datetime):
        text = short_time(value)
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"
