"""Pace Flowbot's messages per channel, across every worker, to Slack's ~1 message a second.

Several workers answering in one incident channel at once would each be within their own limits
and together over Slack's. A Redis key per channel, set with NX and a millisecond expiry, is the
shared "last post" mark: whoever sets it may post; the others wait out its remaining time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis import Redis

PACE_KEY = "flowbot:pace:{channel}"
MAX_WAIT_SECONDS = 30.0
"""Past this, post anyway: a late answer beats none, and Slack's own 429 handling still applies."""


class ChannelPacer:
    """Waits until a channel may take another message from Flowbot."""

    def __init__(
        self,
        redis: Redis,
        interval_seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.interval_ms = int(interval_seconds * 1000)
        self._sleep = sleep
        self._clock = clock

    def wait(self, channel: str) -> float:
        """Block until this channel's turn; return the seconds waited."""
        if self.interval_ms <= 0:
            return 0.0
        key = PACE_KEY.format(channel=channel)
        started = self._clock()
        while not self.redis.set(key, "1", nx=True, px=self.interval_ms):
            waited = self._clock() - started
            if waited >= MAX_WAIT_SECONDS:
                break
            remaining_ms = self.redis.pttl(key)
            pause = remaining_ms / 1000 if isinstance(remaining_ms, int) and remaining_ms > 0 else 0.05
            self._sleep(min(pause, MAX_WAIT_SECONDS - waited))
        return self._clock() - started
