"""The full result as CSV, written batch by batch so a large answer never sits whole in memory.

Cells a spreadsheet would evaluate (starting with = + - @, tab or carriage return) get a leading
apostrophe: a flow-log field is attacker-influenced text. A lone `-`, the flow-log mark for a
missing value, is left as it is: no spreadsheet evaluates it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, TextIO

from bot.query.results import Column, Row

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as written to CSV: NULL empty, times ISO 8601, risky text neutralised."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, str) and value.startswith(_FORMULA_START) and value != "-":
        return "'" + value
    return value


def write_csv(
    out: TextIO,
    columns: list[Column],
    batches: Iterable[list[Row]],
    extend: Callable[[Row], Row] | None = None,
) -> Iterator[list[Row]]:
    """Write the header, then each batch as it passes; yields the batches on for other consumers.

    `extend` adds cells to each written row (the names of its addresses: `columns` then lists them too);
    the batches yielded on are the rows as they came."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for batch in batches:
        rows = batch if extend is None else map(extend, batch)
        writer.writerows([safe_cell(v) for v in row] for row in rows)
        yield batch
