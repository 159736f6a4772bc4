"""Pace Flowbot's messages per channel, across every worker, to Slack's ~1 message a second.

Several workers answering in one incident channel at once would each be within their own limits
and together over Slack's. Slack allows short bursts above one a second, and a single job posts two
or three messages at once (its status, its summary, a note in the thread), so the rule is "at most
`BURST` messages in any `BURST` times interval seconds": a sliding log per channel (a sorted set), pruned,
counted and added to by one Lua script so two workers cannot both take the last place, on Redis's
clock so workers on different hosts agree.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from redis import Redis

from bot.redis_keys import PACE_KEY

BURST = 3
MAX_WAIT_SECONDS = 30.0
"""Past this, post anyway: a late answer beats none, and Slack's own 429 handling still applies."""

# KEYS: the channel's log. ARGV: burst, window (ms), this post's id. Returns 0 when the post may go
# now (and records it), else the milliseconds until a place frees.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local burst, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < burst then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], count - burst, count - burst, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + window - now, 1)
"""


class ChannelPacer:
    """Waits until a channel may take another message from Flowbot."""

    def __init__(
        self,
        redis: Redis,
        interval_seconds: float,
        *,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.max_wait = max_wait_seconds
        self.window_ms = int(interval_seconds * 1000 * BURST)
        self._take = redis.register_script(_TAKE)
        self._sleep = sleep
        self._clock = clock

    def wait(self, channel: str) -> float:
        """Block until this channel's turn (at most `max_wait_seconds`); return the seconds waited."""
        if self.window_ms <= 0:
            return 0.0
        key, post = PACE_KEY.format(channel=channel), uuid.uuid4().hex
        started = self._clock()
        while (wait_ms := int(self._take(keys=[key], args=[BURST, self.window_ms, post]))) > 0:
            waited = self._clock() - started
            if waited >= self.max_wait:
                break
            self._sleep(min(wait_ms / 1000, self.max_wait - waited))
        return self._clock() - started
