"""Putting a parsed request on the Redis queue, once, however often Slack delivers it.

The job id is derived from the Slack request (team and trigger id), and a SET NX key remembers it,
so a retried delivery of the same command finds the key and makes no second job.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from redis import Redis
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from bot.evidence.request import EvidenceRequest
from bot.iocs.commands import IocRequest
from bot.iocs.store import Source
from bot.queue.cancel import CancelOutcome, remember, request_cancel
from bot.redis_keys import REQUEST_KEY, RQ_FAILURE_TTL_SECONDS, RQ_RESULT_TTL_SECONDS
from bot.request import FlowRequest, GuardDutyRequest, ReplyTarget
from bot.settings import Settings

FLOW_JOB = "bot.worker.jobs.run_flow_job"
IOC_JOB = "bot.worker.jobs.run_ioc_job"
EVIDENCE_JOB = "bot.worker.evidence_export.run_evidence_job"
GUARDDUTY_JOB = "bot.worker.guardduty.run_guardduty_job"
ON_FAILURE = "bot.worker.jobs.report_failure"
"""The worker's job functions, by dotted path (RQ imports them in the worker): the Slack app that enqueues
never imports the job module, nor the engines, SQL parser and database behind it."""
IOC_JOB_TIMEOUT_SECONDS = 120
GUARDDUTY_JOB_TIMEOUT_SECONDS = 120
PARKING_WAIT_SECONDS = 3.0


def job_id_for(team_id: str, request_id: str) -> str:
    """A stable job id for one Slack request: the same delivery retried gives the same id."""
    return hashlib.sha256(f"{team_id}:{request_id}".encode()).hexdigest()[:32]


class FlowQueue:
    """The queue the Slack app enqueues to; the Redis connection is passed in, never global."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.queue = Queue(settings.queue_name, connection=redis)

    def submit(self, request: FlowRequest, target: ReplyTarget) -> bool:
        """Enqueue a query; False when this request was already enqueued (a Slack retry)."""
        args = (request.model_dump(mode="json"), target.model_dump(mode="json"))
        return self._enqueue_once(
            target,
            FLOW_JOB,
            args,
            self.settings.query_timeout_seconds,
            request.text,
            retries=self.settings.job_retries,
        )

    def submit_ioc(self, request: IocRequest, target: ReplyTarget, source: Source) -> bool:
        """Enqueue an indicator request; False when it was already enqueued (a Slack retry).

        Not retried: a change the store took before its worker died would be recorded twice; the
        failure is reported instead and the responder submits again.
        """
        args = (request.model_dump(mode="json"), target.model_dump(mode="json"), source)
        return self._enqueue_once(target, IOC_JOB, args, IOC_JOB_TIMEOUT_SECONDS, f"ioc {request.kind}")

    def submit_evidence(self, request: EvidenceRequest, target: ReplyTarget) -> bool:
        """Enqueue a channel's evidence export (bot/worker/evidence_export.py); False on a Slack retry."""
        args = (request.model_dump(mode="json"), target.model_dump(mode="json"))
        return self._enqueue_once(target, EVIDENCE_JOB, args, IOC_JOB_TIMEOUT_SECONDS, request.text)

    def submit_guardduty(self, request: GuardDutyRequest, target: ReplyTarget) -> bool:
        """Enqueue a GuardDuty pivot (bot/worker/guardduty.py); False when it was already enqueued (a Slack
        retry). Retried like a query: a re-run posts no second header and queues no query twice."""
        args = (request.model_dump(mode="json"), target.model_dump(mode="json"))
        return self._enqueue_once(
            target,
            GUARDDUTY_JOB,
            args,
            GUARDDUTY_JOB_TIMEOUT_SECONDS,
            request.text,
            retries=self.settings.job_retries,
        )

    def _enqueue_once(
        self,
        target: ReplyTarget,
        job: str,
        args: tuple[Any, ...],
        timeout: int,
        what: str,
        retries: int = 0,
    ) -> bool:
        key = REQUEST_KEY.format(job_id=target.job_id)
        if not self.redis.set(key, "1", nx=True, ex=self.settings.dedupe_ttl_seconds):
            return False
        try:
            self._enqueue(target.job_id, job, args, timeout, what, retries)
        except Exception:
            self.redis.delete(key)
            raise
        remember(self.redis, target.job_id, self.settings.dedupe_ttl_seconds)
        return True

    def _enqueue(
        self,
        job_id: str,
        job: str,
        args: tuple[Any, ...],
        timeout: int,
        what: str,
        retries: int = 0,
    ) -> None:
        self.queue.enqueue(
            job,
            *args,
            job_id=job_id,
            job_timeout=timeout,
            result_ttl=RQ_RESULT_TTL_SECONDS,
            failure_ttl=RQ_FAILURE_TTL_SECONDS,
            on_failure=Callback(ON_FAILURE),
            retry=Retry(max=retries) if retries else None,
            description=f"/flow {what}",
        )

    def submit_confirmed(self, request_data: dict[str, Any], target_data: dict[str, Any], by: str) -> None:
        """Run a parked query (bot/queue/confirmations.py) that `by` confirmed, under its own job id.

        The id stays the job's: its status message, `/flow cancel`, its one final answer and its
        failure report all find it as before. The finished RQ job that parked it is deleted first,
        as RQ keeps one job per id. Only the one click that took the parked job calls this.
        """
        job_id = str(target_data["job_id"])
        try:
            parked = Job.fetch(job_id, connection=self.redis)
            deadline = time.monotonic() + PARKING_WAIT_SECONDS
            while parked.get_status(refresh=True) == JobStatus.STARTED and time.monotonic() < deadline:
                time.sleep(0.05)  # the parking job shows its buttons just before it ends: let it end
            parked.delete()
        except NoSuchJobError:
            pass
        args = (request_data, target_data, by)
        text = str(request_data.get("text", ""))
        self._enqueue(
            job_id, FLOW_JOB, args, self.settings.query_timeout_seconds, text, self.settings.job_retries
        )
        remember(self.redis, job_id, self.settings.dedupe_ttl_seconds)

    def position(self, job_id: str) -> int | None:
        """How many jobs are ahead of this one; None once a worker has taken it."""
        return self.queue.get_job_position(job_id)

    def cancel(self, ref: str, by: str) -> CancelOutcome:
        """Cancel a queued job, or ask a running one to stop, for the Slack user `by`
        (bot/queue/cancel.py)."""
        return request_cancel(self.redis, ref, self.settings.query_timeout_seconds + 60, by)
