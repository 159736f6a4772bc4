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


class EngineError(RuntimeError):
    """The engine could not answer; the message is safe to show a responder."""


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
