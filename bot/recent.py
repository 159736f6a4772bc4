"""Each person's recent queries, for their App Home: what they asked, how it went, where the answer is.

Layout in Redis (both keys expire `RECENT_TTL_SECONDS` after their last write):

    flowbot:recent:job:<job_id>                  a string: the job's `RecentQuery` as JSON
    flowbot:recent:user:<team_id>:<user_id>      a sorted set: job ids, scored by first-seen time

The slash-command listener records a job as `queued`, the worker records it again as `running`, then
`answered`, `failed` or `cancelled`; these may run in different processes, in any order. Without Lua:

* The per-job key is updated with optimistic locking (WATCH the key, read it, MULTI/EXEC the write;
  EXEC fails and the update is retried when another process wrote the key meanwhile), so no update is
  lost, and a late `queued` never overwrites an `answered` (statuses only move forward).
* The sorted set is only changed inside that same MULTI, with commands that commute: `ZADD NX` adds a
  job once, scored by the time it was first recorded (so a status update keeps its place and never
  duplicates it), then `ZREMRANGEBYRANK` keeps the newest `keep`. Two processes recording different
  jobs of one person at once therefore need no lock: whatever order their transactions run in, the set
  ends up holding the newest `keep` jobs.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError

from bot.redis_keys import RECENT_JOB_KEY, RECENT_TTL_SECONDS, RECENT_USER_KEY
from bot.request import ReplyTarget
from bot.settings import Settings

log = logging.getLogger(__name__)

MAX_TEXT = 500
"""Longer query text or findings are cut: the Home shows a line of each, and Redis need not hold more."""

Status = Literal["queued", "running", "awaiting confirmation", "answered", "failed", "cancelled"]
STATUS_STEP: dict[str, int] = {
    "queued": 0,
    "running": 1,
    "awaiting confirmation": 1,
    "answered": 2,
    "failed": 2,
    "cancelled": 2,
}
"""Statuses only move forward: a `queued` that arrives after `answered` (another process) is ignored."""


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _cut(value: str) -> str:
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def _cut_optional(value: str | None) -> str | None:
    return None if value is None else _cut(value)


def _now() -> datetime:
    return datetime.now(UTC)


class RecentQuery(BaseModel):
    """One query someone asked, as their App Home lists it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str = Field(min_length=1)
    team_id: str
    user_id: str = Field(min_length=1)
    channel_id: str
    text: Annotated[str, AfterValidator(_cut)]
    status: Status
    finding: Annotated[str | None, AfterValidator(_cut_optional)] = None
    permalink: str | None = None
    at: Annotated[AwareDatetime, AfterValidator(_utc)] = Field(default_factory=_now)
    """When the query was first recorded (asked); later updates keep it."""


def merge(stored: RecentQuery | None, update: RecentQuery) -> RecentQuery | None:
    """What to store after `update`; None when it is stale (an earlier status than the stored one).

    The first-recorded `at` is kept, and a finding or permalink already known is not erased by an
    update that lacks one.
    """
    if stored is None:
        return update
    if STATUS_STEP[update.status] < STATUS_STEP[stored.status]:
        return None
    return update.model_copy(
        update={
            "at": stored.at,
            "finding": update.finding if update.finding is not None else stored.finding,
            "permalink": update.permalink if update.permalink is not None else stored.permalink,
        }
    )


def _parse(raw: Any) -> RecentQuery | None:
    if raw is None:
        return None
    try:
        return RecentQuery.model_validate_json(raw)
    except ValidationError as exc:
        log.warning("recent queries: skipping an unreadable record: %s", exc)
        return None


class RecentQueries:
    """Record jobs as they move along and list a person's newest `keep`; the Redis connection is passed in."""

    def __init__(self, redis: Redis, keep: int) -> None:
        if keep < 1:
            raise ValueError("keep at least one recent query")
        self.redis = redis
        self.keep = keep

    def record(self, query: RecentQuery) -> None:
        """Insert or update the job; safe when several processes record at once (see the module doc)."""
        job_key = RECENT_JOB_KEY.format(job_id=query.job_id)
        user_key = RECENT_USER_KEY.format(team_id=query.team_id, user_id=query.user_id)

        def write(pipe: Pipeline) -> None:
            merged = merge(_parse(pipe.get(job_key)), query)
            if merged is None:
                return
            pipe.multi()
            pipe.set(job_key, merged.model_dump_json(), ex=RECENT_TTL_SECONDS)
            pipe.zadd(user_key, {merged.job_id: merged.at.timestamp()}, nx=True)
            pipe.zremrangebyscore(user_key, "-inf", f"({time.time() - RECENT_TTL_SECONDS}")
            pipe.zremrangebyrank(user_key, 0, -(self.keep + 1))
            pipe.expire(user_key, RECENT_TTL_SECONDS)

        self.redis.transaction(write, job_key)

    def for_user(self, team_id: str, user_id: str) -> list[RecentQuery]:
        """The person's newest `keep` queries, newest first (expired or unreadable ones left out)."""
        user_key = RECENT_USER_KEY.format(team_id=team_id, user_id=user_id)
        members = self.redis.zrevrange(user_key, 0, self.keep - 1)
        if not members:
            return []
        ids = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
        raws = self.redis.mget([RECENT_JOB_KEY.format(job_id=job_id) for job_id in ids])
        return [query for query in map(_parse, raws) if query is not None]


def note_query(
    redis: Redis,
    settings: Settings,
    target: ReplyTarget,
    text: str,
    status: Status,
    finding: str | None = None,
    permalink: str | None = None,
) -> None:
    """Note the query in its asker's recent queries (their App Home); never fails the job for it."""
    try:
        RecentQueries(redis, settings.recent_queries).record(
            RecentQuery(
                job_id=target.job_id,
                team_id=target.team_id,
                user_id=target.user_id,
                channel_id=target.channel_id,
                text=text,
                status=status,
                finding=finding,
                permalink=permalink,
            )
        )
    except RedisError:
        log.warning("could not note job %s in recent queries", target.job_id)
