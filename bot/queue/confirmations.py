"""Queries waiting for a responder to confirm their cost (FLOWBOT_CONFIRM_BYTES).

The worker that estimated a large scan parks the job's request and reply target here and ends; the
status message's *Run it* / *Don't run* buttons take the parked job back. `take` is one GETDEL, so of
two clicks (two people, a double tap, a Slack retry) exactly one gets the job: one run, one answer.
"""

from __future__ import annotations

import json
from typing import Any

from redis import Redis

from bot.redis_keys import CONFIRM_KEY, CONFIRM_TTL_SECONDS


class PendingConfirmations:
    """Parked jobs by job id: the JSON arguments their worker needs to run them."""

    def __init__(self, redis: Redis, ttl_seconds: int = CONFIRM_TTL_SECONDS) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds

    def park(self, job_id: str, request_data: dict[str, Any], target_data: dict[str, Any]) -> None:
        """Keep a job's arguments until someone answers its question (or the TTL passes)."""
        value = json.dumps({"request": request_data, "target": target_data})
        self.redis.set(CONFIRM_KEY.format(job_id=job_id), value, ex=self.ttl_seconds)

    def waiting(self, job_id: str) -> bool:
        """Whether the job is parked (its question is still open)."""
        return bool(self.redis.exists(CONFIRM_KEY.format(job_id=job_id)))

    def take(self, job_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The parked arguments, removed; None when they expired or another click took them first."""
        found = self.redis.getdel(CONFIRM_KEY.format(job_id=job_id))
        if found is None:
            return None
        parked = json.loads(found)
        return parked["request"], parked["target"]
