"""A channel's daily scan budget: bytes its queries may read per UTC day (FLOWBOT_CHANNEL_DAILY_BYTES).

A query reserves its pre-flight estimate before it runs and settles to what it really scanned after,
so two large queries started together cannot both slip under the budget. Reservations are kept per
job in one Redis hash per channel and day: a job that runs again (a retry after its worker died)
finds its own reservation and does not count twice. A job that dies keeps its estimate on the books,
which errs on the side of the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from redis.client import Pipeline

from bot.redis_keys import BUDGET_KEY, BUDGET_TTL_SECONDS


@dataclass(frozen=True)
class Reservation:
    """Where a job's bytes are booked: the channel's hash for the day it started."""

    key: str
    job_id: str


@dataclass(frozen=True)
class Refusal:
    """Why a query may not run: the channel's budget would be exceeded."""

    spent: int
    wanted: int
    budget: int


class ChannelBudget:
    """Reserve, settle and read a channel's bytes for the day; `daily_bytes` None means no budget."""

    def __init__(self, redis: Redis, daily_bytes: int | None, *, now: datetime | None = None) -> None:
        self.redis = redis
        self.daily_bytes = daily_bytes
        self._now = now

    def key(self, team_id: str, channel_id: str) -> str:
        """Today's (UTC) hash for the channel."""
        day = (self._now or datetime.now(UTC)).strftime("%Y%m%d")
        return BUDGET_KEY.format(team=team_id, channel=channel_id, day=day)

    def spent(self, team_id: str, channel_id: str, *, without: str | None = None) -> int:
        """Bytes booked today in the channel (reserved or scanned), leaving out one job's own."""
        return _total(self.redis.hgetall(self.key(team_id, channel_id)), without)

    def reserve(self, team_id: str, channel_id: str, job_id: str, wanted: int) -> Reservation | Refusal:
        """Book `wanted` bytes for the job unless the day's total would pass the budget.

        Checked and written in one WATCH/MULTI transaction, so concurrent jobs see each other.
        """
        key = self.key(team_id, channel_id)
        outcome: list[Reservation | Refusal] = []

        def book(pipe: Pipeline) -> None:
            spent = _total(pipe.hgetall(key), job_id)
            if self.daily_bytes is not None and spent + wanted > self.daily_bytes:
                outcome.append(Refusal(spent=spent, wanted=wanted, budget=self.daily_bytes))
                return
            pipe.multi()
            pipe.hset(key, job_id, str(wanted))
            pipe.expire(key, BUDGET_TTL_SECONDS)
            outcome.clear()
            outcome.append(Reservation(key=key, job_id=job_id))

        self.redis.transaction(book, key)
        return outcome[-1]

    def settle(self, reservation: Reservation, scanned: int) -> None:
        """Replace the job's estimate with what it really scanned."""
        self.redis.hset(reservation.key, reservation.job_id, str(scanned))
        self.redis.expire(reservation.key, BUDGET_TTL_SECONDS)


def _total(booked: dict[bytes | str, bytes | str], without: str | None) -> int:
    """Bytes booked in a day's hash, leaving out one job's own booking."""
    return sum(int(v) for k, v in booked.items() if _text(k) != without)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
