"""What every engine returns: columns with Athena types, rows in batches, and what was scanned.

Results stream: a consumer (CSV writer, summary) pulls batches, so a million-row answer is never
held whole. Statistics are final once the batches are exhausted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    files_scanned: int = 0
    bytes_scanned: int = 0
    elapsed_ms: int = 0


@dataclass
class ResultStream:
    """An answer being read: columns now, rows batch by batch, stats complete at the end."""

    columns: list[Column]
    _batches: Iterator[list[Row]]
    stats: ScanStats = field(default_factory=ScanStats)
    _started: float = field(default_factory=time.perf_counter)

    def batches(self) -> Iterator[list[Row]]:
        """Rows in batches; counts rows and closes the clock when the last batch is read."""
        for batch in self._batches:
            self.stats.rows += len(batch)
            yield batch
        self.stats.elapsed_ms = round((time.perf_counter() - self._started) * 1000)


class Engine(Protocol):
    """Runs a template with a request's bound values."""

    name: str

    def run(self, template: QueryTemplate, request: FlowRequest) -> ResultStream:
        """Start the query; the returned stream yields its rows."""
        ...
