"""What every engine does: run a template into a stream of rows (types in bot/query/results.py), or fail
saying why.

Results stream: a consumer (CSV writer, summary) pulls batches, so a million-row answer is never
held whole. Statistics are final once the batches are exhausted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from bot.query.catalog import QueryTemplate
from bot.query.results import Column, Estimate, Row, ScanStats, SentQuery
from bot.request import FlowRequest


class EngineError(RuntimeError):
    """The engine could not answer; the message is safe to show a responder.

    `stats` is what the query scanned before it failed or was stopped, when the engine knows (Athena
    bills a failed or cancelled query for what it read), so even a failure says what it cost.
    """

    def __init__(self, message: str, stats: ScanStats | None = None) -> None:
        super().__init__(message)
        self.stats = stats


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

    def filtered(self, keep: Callable[[list[Row]], list[Row]]) -> ResultStream:
        """The same answer with only the rows `keep` returns from each batch (a watch's new findings): the
        scan's stats are shared, the rows counted after filtering; the engine's CSV is not copied whole."""
        return ResultStream(self.columns, map(keep, self._batches), self.stats, self._started)

    def batches(self) -> Iterator[list[Row]]:
        """Rows in batches; counts rows and, unless the engine reported its own time, closes the clock."""
        for batch in self._batches:
            self.stats.rows += len(batch)
            yield batch
        if not self.stats.elapsed_ms:
            self.stats.elapsed_ms = round((time.perf_counter() - self._started) * 1000)


@dataclass(frozen=True)
class RunControl:
    """How a caller steers one run, in the one object every engine takes.

    `token` makes a retried job reuse its query (Athena's ClientRequestToken); `on_start` hears the
    engine's query id; `should_cancel` is asked between polls whether a responder cancelled it;
    `on_progress` hears the bytes scanned so far after each poll. An engine whose queries finish in seconds
    (local) may ignore all four. `on_sent` hears the exact SQL and bound values just before they are
    sent (every engine calls it).
    """

    token: str | None = None
    on_start: Callable[[str], None] | None = None
    should_cancel: Callable[[], bool] | None = None
    on_progress: Callable[[int], None] | None = None
    on_sent: Callable[[SentQuery], None] | None = None


UNSTEERED = RunControl()
"""A run nobody steers (a terminal's `flowbot ask`, a benchmark)."""


class Engine(Protocol):
    """Runs a template with a request's bound values."""

    name: str

    def run(
        self, template: QueryTemplate, request: FlowRequest, control: RunControl = UNSTEERED
    ) -> ResultStream:
        """Start the query; the returned stream yields its rows (see RunControl for `control`)."""
        ...

    def estimate(self, template: QueryTemplate, request: FlowRequest) -> Estimate | None:
        """What the query would read, before it runs (the pre-flight check); None when unknown."""
        ...
