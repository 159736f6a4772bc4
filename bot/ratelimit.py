"""Per-person and per-channel query limits per rolling minute, shared by every app process through Redis.

Why a sliding-window log (a sorted set per person and per channel, one member per admitted query):
it is exact ("at most N in any 60 seconds", where a fixed INCR+EXPIRE window lets 2N through across a
boundary), it tells the asker precisely when a slot frees, and its member is the request's id, which makes
a check idempotent: the same Slack request checked twice holds one slot. The cost (one member per query
for a minute) is nothing at these rates.

Why Lua: pruning, counting both keys and adding to both must happen as one step, or two app processes
could each see N-1 and both admit. The script runs atomically in Redis and reads Redis's clock, so app
processes on different hosts agree on time (needs Redis 5 or later, for writes after TIME).
"""

from __future__ import annotations

import logging
import math
import uuid

from redis import Redis
from redis.exceptions import RedisError

from bot.redis_keys import RATELIMIT_CHANNEL_KEY, RATELIMIT_USER_KEY
from bot.settings import Settings

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
USER_REFUSED = ":hourglass: You have started {count} queries in the last minute; try again in {wait} s."
CHANNEL_REFUSED = (
    ":hourglass: This channel has started {count} queries in the last minute; try again in {wait} s."
)

# KEYS: the person's log, the channel's log. ARGV: their limits, the window (ms), the request's id.
# Returns {0} when admitted (or admitted before), else {which key (1 or 2), its count, ms until a slot frees}.
_ADMIT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window = tonumber(ARGV[3])
local limits = {tonumber(ARGV[1]), tonumber(ARGV[2])}
for i = 1, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
end
if redis.call('ZSCORE', KEYS[1], ARGV[4]) or redis.call('ZSCORE', KEYS[2], ARGV[4]) then
  return {0}
end
for i = 1, 2 do
  local count = redis.call('ZCARD', KEYS[i])
  if count >= limits[i] then
    local freeing = redis.call('ZRANGE', KEYS[i], count - limits[i], count - limits[i], 'WITHSCORES')
    return {i, count, tonumber(freeing[2]) + window - now}
  end
end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[i], window)
end
return {0}
"""


class RateLimiter:
    """Admits a query when neither its asker nor its channel has reached the limit in the last minute."""

    def __init__(self, redis: Redis, settings: Settings, window_seconds: float = WINDOW_SECONDS) -> None:
        self.redis = redis
        self.user_limit = settings.user_queries_per_minute
        self.channel_limit = settings.channel_queries_per_minute
        self.window_ms = int(window_seconds * 1000)
        self._admit = redis.register_script(_ADMIT)

    @staticmethod
    def _keys(team_id: str, channel_id: str, user_id: str) -> list[str]:
        return [
            RATELIMIT_USER_KEY.format(team=team_id, user=user_id),
            RATELIMIT_CHANNEL_KEY.format(team=team_id, channel=channel_id),
        ]

    def check(self, team_id: str, channel_id: str, user_id: str, request_id: str | None = None) -> str | None:
        """Take a slot and return None, or return the line to show (no slot taken). Raises RedisError.

        The same `request_id` (a Slack retry of one request) takes one slot however often it is checked
        within the window; without one, every call counts."""
        member = request_id or uuid.uuid4().hex
        reply = self._admit(
            keys=self._keys(team_id, channel_id, user_id),
            args=[self.user_limit, self.channel_limit, self.window_ms, member],
        )
        if int(reply[0]) == 0:
            return None
        which, count, wait_ms = (int(x) for x in reply)
        wait = max(1, math.ceil(wait_ms / 1000))
        line = USER_REFUSED if which == 1 else CHANNEL_REFUSED
        return line.format(count=count, wait=wait)

    def release(self, team_id: str, channel_id: str, user_id: str, request_id: str) -> None:
        """Give back the slot `request_id` took (its job was never enqueued). Never raises: at worst the
        slot is held for the rest of the minute."""
        try:
            pipe = self.redis.pipeline(transaction=True)
            for key in self._keys(team_id, channel_id, user_id):
                pipe.zrem(key, request_id)
            pipe.execute()
        except RedisError:
            log.warning("could not release the rate-limit slot of %s", request_id)
