"""What a responder needs first from a hunt: which hosts talked with which indicators, how much, when.

A hunt returns one row per flow (the playbook's directional view); this folds them, as they stream
past, into one line per (host, indicator, direction). The playbook labels a flow INBOUND when its
destination is the indicator, so `connecting_ip` is always the other side: the host to look at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.query.results import Column, Row

TO_INDICATOR = "INBOUND"
"""The playbook's label for a flow whose destination is the indicator."""
DIRECTIONAL_COLUMNS = frozenset(
    {"direction", "connecting_ip", "indicator", "numbytes", "starttime", "endtime"}
)


def digest_for(columns: list[Column]) -> HuntDigest | None:
    """A digest for results shaped like the playbook's directional view (a hunt), else None."""
    return HuntDigest(columns) if DIRECTIONAL_COLUMNS <= {c.name for c in columns} else None


@dataclass
class DigestLine:
    """All flows between one host and one indicator in one direction."""

    host: str
    indicator: str
    to_indicator: bool
    records: int = 0
    bytes: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def add(self, numbytes: Any, start: Any, end: Any) -> None:
        self.records += 1
        self.bytes += numbytes or 0
        if isinstance(start, datetime) and (self.first is None or start < self.first):
            self.first = start
        if isinstance(end, datetime) and (self.last is None or end > self.last):
            self.last = end


@dataclass
class HuntDigest:
    """Folds hunt rows into digest lines; feed it every batch."""

    columns: list[Column]
    lines: dict[tuple[str, str, bool], DigestLine] = field(default_factory=dict)

    def feed(self, batch: list[Row]) -> None:
        index = {c.name: i for i, c in enumerate(self.columns)}
        for row in batch:
            host, indicator = str(row[index["connecting_ip"]]), str(row[index["indicator"]])
            to_indicator = row[index["direction"]] == TO_INDICATOR
            key = (host, indicator, to_indicator)
            line = self.lines.get(key) or self.lines.setdefault(
                key, DigestLine(host, indicator, to_indicator)
            )
            line.add(row[index["numbytes"]], row[index["starttime"]], row[index["endtime"]])

    def top(self) -> list[DigestLine]:
        """Most bytes first, then most recent."""
        return sorted(
            self.lines.values(),
            key=lambda d: (-d.bytes, -(d.last.timestamp() if d.last else 0), d.host, d.indicator),
        )
