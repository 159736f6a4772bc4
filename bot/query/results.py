"""What a query returns and costs: columns with Athena types, rows, scan statistics, estimates.

These types cross layers (engines produce them, rendering and delivery read them), so they live apart from the
engines: a module that shows an answer needs no engine, SQL parser or database to do so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Row = tuple[Any, ...]
BYTES_PER_MB = 1 << 20
BYTES_PER_TB = 1 << 40
"""AWS bills in binary units (a GB is 2^30 bytes on its bills), so a TB here is 2^40 bytes."""
MIN_BILLED_BYTES = 10 * BYTES_PER_MB
"""Athena bills at least 10 MB a query, rounded up to whole megabytes."""


def scan_cost(bytes_scanned: int, price_per_tb: float) -> float:
    """What Athena bills for one query: whole MB, at least 10 MB, at the price per TB."""
    billed = max(-(-bytes_scanned // BYTES_PER_MB) * BYTES_PER_MB, MIN_BILLED_BYTES)
    return billed / BYTES_PER_TB * price_per_tb


@dataclass(frozen=True)
class Column:
    """An output column and its Athena type."""

    name: str
    type: str


@dataclass
class ScanStats:
    """What a query cost: rows returned, files and bytes read, wall time."""

    rows: int = 0
    files_scanned: int | None = 0
    bytes_scanned: int = 0
    elapsed_ms: int = 0
    cost_usd: float | None = None
    """What the scan cost at the configured price (Athena bills bytes scanned; local is free)."""
    reused: bool = False
    """Athena answered with the stored result of an identical earlier query (result reuse)."""


@dataclass(frozen=True)
class SentQuery:
    """The statement an engine sent, exactly as sent: its SQL text and the values bound to it (what an
    incident's evidence log keeps, bot/evidence/)."""

    sql: str
    positional: tuple[str, ...] = ()
    """Athena's ExecutionParameters, in the order of the `?` placeholders."""
    named: tuple[tuple[str, str | int], ...] = ()
    """DuckDB's named values (`$name`), in the order the SQL names them."""


@dataclass(frozen=True)
class Estimate:
    """What a query would read, known before it runs: the sizes of the objects its partitions hold.

    Text flow logs are read whole, so for them this is the bytes Athena bills, give or take what
    arrives meanwhile. `complete` is False when listing stopped at its bound: the figure is then a
    floor ("at least").
    """

    bytes: int
    objects: int
    prefixes: int
    """How many partition folders (account, region, day) the window and the projection open."""
    listed: int | None = None
    """How many of them were listed, when fewer than all (the figure is then extrapolated)."""
    complete: bool = True
