"""`/flow cancel <job>`: stop a query a responder no longer needs, without the listener waiting on it.

Replies show a job by the first 8 characters of its id; `remember` maps those back. A queued job is
cancelled in RQ at once (and its one final answer is the cancellation). A running job gets a flag in
Redis that its engine checks between polls (Athena then stops the query, so it stops billing too);
the job's final answer says it was cancelled. A local query cannot be interrupted midway; it is fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from bot.redis_keys import CANCEL_KEY, SHORT_KEY

SHORT_LENGTH = 8


class CancelStatus(Enum):
    """What `/flow cancel` found."""

    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    STOPPING = "stopping"
    FINISHED = "finished"


@dataclass(frozen=True)
class CancelOutcome:
    """The result of a cancel request, for the listener's reply."""

    status: CancelStatus
    job_id: str | None = None
    asked: str | None = None
    args: tuple[Any, ...] = ()
    """The job's arguments (request and reply target), to update its status message."""


def short_id(job_id: str) -> str:
    """The id a responder sees and types."""
    return job_id[:SHORT_LENGTH]


def remember(redis: Redis, job_id: str, ttl_seconds: int) -> None:
    """Let `/flow cancel <short id>` find this job."""
    redis.set(SHORT_KEY.format(short=short_id(job_id)), job_id, ex=ttl_seconds)


def is_cancelled(redis: Redis, job_id: str) -> bool:
    """Whether a responder asked to stop this job."""
    return bool(redis.exists(CANCEL_KEY.format(job_id=job_id)))


def cancelled_by(redis: Redis, job_id: str) -> str | None:
    """Who asked to stop this running job (a Slack user id), if anyone did."""
    found = redis.get(CANCEL_KEY.format(job_id=job_id))
    return found.decode() if isinstance(found, bytes) else found


def request_cancel(redis: Redis, ref: str, ttl_seconds: int, by: str = "") -> CancelOutcome:
    """Cancel a queued job now, or flag a running one for its engine to stop."""
    found = redis.get(SHORT_KEY.format(short=ref[:SHORT_LENGTH]))
    job_id = found.decode() if isinstance(found, bytes) else found
    if not job_id or not job_id.startswith(ref):
        return CancelOutcome(CancelStatus.UNKNOWN)
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        return CancelOutcome(CancelStatus.UNKNOWN)
    asked = str(job.args[0].get("text", "")) if job.args else None
    args = tuple(job.args)
    status = job.get_status(refresh=True)
    if status in {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}:
        job.cancel()
        return CancelOutcome(CancelStatus.CANCELLED, job_id, asked, args)
    if status == JobStatus.STARTED:
        redis.set(CANCEL_KEY.format(job_id=job_id), by or "?", ex=ttl_seconds)
        return CancelOutcome(CancelStatus.STOPPING, job_id, asked, args)
    return CancelOutcome(CancelStatus.FINISHED, job_id, asked, args)
