"""`flowbot worker`: an RQ worker on the Flowbot queue.

RQ's own warm shutdown is what a deployment needs: on SIGTERM (or Ctrl-C) the worker finishes the job
in hand, then exits 0; a second signal stops it at once (the job is then retried; see bot/jobs.py).
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import Queue, Worker
from rq.job import Job

from bot.catalog import load_catalog
from bot.jobs import report_dead_horse
from bot.logs import bind
from bot.settings import Settings

HEARTBEAT_GRACE_SECONDS = 15
"""How long past a missed heartbeat a running job counts as abandoned. RQ pads 60 s
(`Worker.get_heartbeat_ttl`); with that, a job whose worker and work horse died waited 5 to 6 minutes
(issue #16). 15 s on a 10 s heartbeat still rides out a worker that is a few seconds late."""
WAKE_EVERY_FRACTION = 2
"""An idle worker waits for a job at most a maintenance interval over this, then looks again: RQ runs its
maintenance (which finds abandoned jobs) only between waits, and by default waits `worker_ttl - 15` s
(405 s) for a job."""
TARGET_FIELDS = ("team_id", "channel_id", "user_id")
"""Which parts of a job's reply target (its second argument) go on its log lines."""


def job_log_fields(job: Job) -> dict[str, str]:
    """The job id, and where the job was asked from when its arguments say so."""
    fields = {"job_id": job.id}
    try:
        args: Any = job.args
    except Exception:  # arguments that cannot be read fail the job, not its log lines
        return fields
    target = args[1] if isinstance(args, tuple | list) and len(args) > 1 else None
    if isinstance(target, dict):
        fields |= {k: str(target[k]) for k in TARGET_FIELDS if target.get(k)}
    return fields


class FlowWorker(Worker):
    """RQ's forking worker, with every log line about a job (its own and RQ's) carrying the job id.

    The fields are bound around `execute_job`: the work horse forked inside it inherits them, and the
    worker's own lines about the job (its end, a killed horse, the failure callback) carry them too.
    """

    def execute_job(self, job: Job, queue: Queue) -> None:
        with bind(**job_log_fields(job)):
            super().execute_job(job, queue)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """RQ's TTL for a running job's heartbeat, with HEARTBEAT_GRACE_SECONDS in place of its 60 s."""
        padded = super().get_heartbeat_ttl(job, working_time)
        return max(padded - 60 + HEARTBEAT_GRACE_SECONDS, 1)


def make_worker(settings: Settings, redis: Redis) -> FlowWorker:
    """The worker, proving it is alive every FLOWBOT_WORKER_HEARTBEAT_SECONDS and looking for jobs of
    dead workers every FLOWBOT_WORKER_MAINTENANCE_SECONDS, idle or not.

    RQ waits for a job for `worker_ttl - 15` s (`Worker.dequeue_timeout`): the TTL is set so that an idle
    worker looks up from its wait at least twice per maintenance interval."""
    wait = max(settings.worker_maintenance_seconds // WAKE_EVERY_FRACTION, 1)
    return FlowWorker(
        [Queue(settings.queue_name, connection=redis)],
        connection=redis,
        job_monitoring_interval=settings.worker_heartbeat_seconds,
        maintenance_interval=settings.worker_maintenance_seconds,
        worker_ttl=wait + 15,
        work_horse_killed_handler=report_dead_horse,
    )


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Validate the templates, then take jobs until stopped (or until the queue is empty with burst)."""
    load_catalog()
    redis = Redis.from_url(settings.redis_url)
    redis.ping()
    make_worker(settings, redis).work(burst=burst, logging_level=settings.log_level)
