"""A standing watch as plain data: the query it repeats, where it answers, and its intervals.

`/flow watch hunt every 15m` repeats a query over the flow logs delivered since its last run. Interval `n`
covers record start times [anchor + n·every - lag, anchor + (n+1)·every - lag), so consecutive intervals
meet exactly: no gap, no overlap, whatever the clock says when a run actually happens. It runs once
due, at the end of its window plus the delivery lag (FLOWBOT_WATCH_DELIVERY_LAG_SECONDS), so that the
logs of the window have been delivered; a late run (a worker restarting) reads the same window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bot.request import FlowRequest, ReplyTarget, Window

WATCH_ID = re.compile(r"^w[0-9a-f]{7}$")
"""A watch's id as Flowbot shows it (`w3f2a9c1`): short enough to type on a phone."""


class Watch(BaseModel):
    """One standing watch; stored as JSON in Redis (bot/queue/watch_book.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=WATCH_ID.pattern)
    request: FlowRequest
    """The query each interval runs, its window replaced by the interval's."""
    target: ReplyTarget
    """The channel the findings go to, and who started the watch."""
    every_seconds: int = Field(ge=1)
    lag_seconds: int = Field(ge=0)
    anchor: AwareDatetime
    """When the watch began: interval 0 ends here plus one interval (minus the lag)."""
    ends: AwareDatetime
    """No interval is due after this (FLOWBOT_WATCH_MAX_DAYS after it began)."""

    @property
    def every(self) -> timedelta:
        return timedelta(seconds=self.every_seconds)

    def window(self, n: int) -> Window:
        """Interval `n`'s window of record start times."""
        start = self.anchor + n * self.every - timedelta(seconds=self.lag_seconds)
        return Window(start=start, end=start + self.every)

    def due(self, n: int) -> datetime:
        """When interval `n` runs: its window's end plus the delivery lag."""
        return self.anchor + (n + 1) * self.every

    def last_interval(self) -> int:
        """The last interval the watch runs: the last one due by `ends`."""
        return max(int((self.ends - self.anchor).total_seconds() // self.every_seconds) - 1, 0)

    def interval_request(self, n: int) -> FlowRequest:
        """The query of interval `n`, as any query is: typed, with a bounded window."""
        return self.request.model_copy(update={"window": self.window(n)})

    def describe_every(self) -> str:
        """`every 15m`, `every 1h`, `every 30s`."""
        return f"every {short_duration(self.every_seconds)}"


def short_duration(seconds: int) -> str:
    """`15m`, `1h`, `2d`, `90s`: the largest unit that divides it."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class WatchCreate:
    """`/flow watch <query> every <interval>`."""

    request: FlowRequest
    every_seconds: int


@dataclass(frozen=True)
class WatchList:
    """`/flow watch list`: the channel's watches."""


@dataclass(frozen=True)
class WatchStop:
    """`/flow watch stop <id>`."""

    watch_id: str


WatchRequest = WatchCreate | WatchList | WatchStop
