"""What every engine returns: columns with Athena types, rows in batches, and what was scanned.

Results stream: a consumer (CSV writer, summary) pulls batches, so a million-row answer is never
held whole. Statistics are final once the batches are exhausted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from bot.catalog import QueryTemplate
from bot.request import FlowRequest

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


class EngineError(RuntimeError):
    """The engine could not answer; the message is safe to show a responder.

    `stats` is what the query scanned before it failed or was stopped, when the engine knows (Athena
    bills a failed or cancelled query for what it read), so even a failure says what it cost.
    """

    def __init__(self, message: str, stats: ScanStats | None = None) -> None:
        super().__init__(message)
        self.stats = stats


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


@dataclass
class ResultStream:
    """An answer being read: columns now, rows batch by batch, stats complete at the end."""

    columns: list[Column]
    _batches: Iterator[list[Row]]
    stats: ScanStats = field(default_factory=ScanStats)
    _started: float = field(default_factory=time.perf_counter)
    csv_copier: Callable[[TextIO], None] | None = None
    """Set by an engine whose whole result already exists as a CSV (Athena's result object): it copies
    that file to the output as a stream, so the rows need not pass through Python one by one."""

    def batches(self) -> Iterator[list[Row]]:
        """Rows in batches; counts rows and, unless the engine reported its own time, closes the clock."""
        for batch in self._batches:
            self.stats.rows += len(batch)
            yield batch
        if not self.stats.elapsed_ms:
            self.stats.elapsed_ms = round((time.perf_counter() - self._started) * 1000)


class Engine(Protocol):
    """Runs a template with a request's bound values."""

    name: str

    def run(
        self,
        template: QueryTemplate,
        request: FlowRequest,
        *,
        token: str | None = None,
        on_start: Callable[[str], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> ResultStream:
        """Start the query; the returned stream yields its rows.

        `token` makes a retried job reuse its query (Athena's ClientRequestToken); `on_start` hears the
        engine's query id; `should_cancel` is asked between polls whether a responder cancelled it;
        `on_progress` hears the bytes scanned so far after each poll. An engine whose queries finish in
        seconds (local) may ignore all four.
        """
        ...

    def estimate(self, template: QueryTemplate, request: FlowRequest) -> Estimate | None:
        """What the query would read, before it runs (the pre-flight check); None when unknown."""
        ...
