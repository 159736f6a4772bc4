"""`flowbot worker`: an RQ worker on the Flowbot queue.

RQ's own warm shutdown is what a deployment needs: on SIGTERM (or Ctrl-C) the worker finishes the job
in hand, then exits 0; a second signal stops it at once (the job is then retried; see bot/worker/jobs.py).

A Redis outage does not end a worker (issue #16). Its Redis client (redis-py's own `Retry`) reconnects
with backoff for up to FLOWBOT_WORKER_REDIS_OUTAGE_SECONDS on every call, so the worker, and the job its work
horse is running, wait for Redis and carry on where they were: the job delivers its answer when Redis is
back. An outage longer than that makes RQ's loop quit ("found an unhandled exception"); `run_worker` then
waits for Redis and starts a new worker, whose maintenance re-runs (or reports) the job the old one lost.
"""

from __future__ import annotations

import logging
import math
import time
from types import FrameType
from typing import Any

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from rq import Queue, Worker
from rq.job import Job

from bot.logs import bind
from bot.query.catalog import load_catalog
from bot.query.sql_checks import check_catalog
from bot.settings import Settings
from bot.worker.jobs import report_dead_horse
from bot.worker.redelivery import resend_due

log = logging.getLogger(__name__)

HEARTBEAT_GRACE_SECONDS = 15
"""How long past a missed heartbeat a running job counts as abandoned. RQ pads 60 s
(`Worker.get_heartbeat_ttl`); with that, a job whose worker and work horse died waited 5 to 6 minutes
(issue #16). 15 s on a 10 s heartbeat still rides out a worker that is a few seconds late."""
WAKE_EVERY_FRACTION = 2
"""An idle worker waits for a job at most a maintenance interval over this, then looks again: RQ runs its
maintenance (which finds abandoned jobs) only between waits, and by default waits `worker_ttl - 15` s
(405 s) for a job."""
REDIS_BACKOFF_BASE_SECONDS = 0.1
REDIS_BACKOFF_CAP_SECONDS = 2.0
"""redis-py's exponential backoff between reconnection attempts: 0.2, 0.4, 0.8, 1.6, then every 2 s."""
REDIS_CONNECT_TIMEOUT_SECONDS = 5.0
"""How long one connection attempt may take (a Redis host that drops packets instead of refusing)."""
RESTART_PAUSE_CAP_SECONDS = 30.0
"""The longest `run_worker` waits between two looks at a Redis that is still down."""
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

    stopping = False
    """Whether a stop was asked for (SIGTERM, Ctrl-C): only then does `run_worker` let the worker end."""
    settings: Settings | None = None
    """Flowbot's settings, for the maintenance this worker adds to RQ's (set by `make_worker`)."""

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]  # unannotated in rq

    def execute_job(self, job: Job, queue: Queue) -> None:
        with bind(**job_log_fields(job)):
            super().execute_job(job, queue)

    def run_maintenance_tasks(self) -> None:
        """RQ's maintenance (abandoned jobs, registries), then the answers Slack would not take that are
        due again (bot/worker/redelivery.py). It runs on RQ's own schedule, every
        FLOWBOT_WORKER_MAINTENANCE_SECONDS,
        idle or between jobs, in each worker: kept answers are on the disk of the worker that kept them
        (FLOWBOT_UNDELIVERED_DIR), so an RQ job, which any worker may take, would not find them."""
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]  # unannotated in rq
        if self.settings is not None:
            resend_due(self.settings, self.connection)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """RQ's TTL for a running job's heartbeat, with HEARTBEAT_GRACE_SECONDS in place of its 60 s."""
        padded = super().get_heartbeat_ttl(job, working_time)
        return max(padded - 60 + HEARTBEAT_GRACE_SECONDS, 1)


def redis_retries(outage_seconds: int) -> int:
    """How many reconnection attempts, with the backoff above, span `outage_seconds`."""
    first_four = sum(min(REDIS_BACKOFF_CAP_SECONDS, REDIS_BACKOFF_BASE_SECONDS * 2.0**n) for n in range(1, 5))
    return 4 + math.ceil(max(outage_seconds - first_four, 0) / REDIS_BACKOFF_CAP_SECONDS)


def worker_redis(settings: Settings) -> Redis:
    """The worker's Redis client. Every call, the work horse's included (it inherits the client), waits out
    an outage of about FLOWBOT_WORKER_REDIS_OUTAGE_SECONDS, reconnecting with redis-py's own `Retry`, before
    it fails. The app's listeners keep redis-py's short default: Slack waits 3 s for them."""
    retry = Retry(
        ExponentialBackoff(cap=REDIS_BACKOFF_CAP_SECONDS, base=REDIS_BACKOFF_BASE_SECONDS),
        redis_retries(settings.worker_redis_outage_seconds),
    )
    return Redis.from_url(
        settings.redis_url, retry=retry, socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS
    )


def make_worker(settings: Settings, redis: Redis) -> FlowWorker:
    """The worker, proving it is alive every FLOWBOT_WORKER_HEARTBEAT_SECONDS and looking for jobs of
    dead workers every FLOWBOT_WORKER_MAINTENANCE_SECONDS, idle or not.

    RQ waits for a job for `worker_ttl - 15` s (`Worker.dequeue_timeout`): the TTL is set so that an idle
    worker looks up from its wait at least twice per maintenance interval."""
    wait = max(settings.worker_maintenance_seconds // WAKE_EVERY_FRACTION, 1)
    worker = FlowWorker(
        [Queue(settings.queue_name, connection=redis)],
        connection=redis,
        job_monitoring_interval=settings.worker_heartbeat_seconds,
        maintenance_interval=settings.worker_maintenance_seconds,
        worker_ttl=wait + 15,
        work_horse_killed_handler=report_dead_horse,
    )
    worker.settings = settings
    return worker


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Validate the templates, then take jobs until stopped (or until the queue is empty with burst).

    RQ's loop quits on a Redis error it did not expect (an outage longer than the client's retries): unless a
    stop was asked for, wait until Redis answers and serve again, as a new worker (RQ names each one)."""
    check_catalog(load_catalog())  # a bad template stops start-up, not a responder's query
    redis = worker_redis(settings)
    redis.ping()  # a worker that never reached Redis exits 1: its configuration is what is wrong
    while True:
        worker = make_worker(settings, redis)
        try:
            # RQ's scheduler, beside the worker, queues watch intervals when due (bot/queue/watch_book.py)
            worker.work(burst=burst, logging_level=settings.log_level, with_scheduler=True)
        except RedisError as exc:  # RQ's own clean-up (registering the worker's death) failed too
            log.warning("worker %s lost Redis (%s)", worker.name, exc)
        if burst or worker.stopping:
            return
        _wait_for_redis(redis, worker)


def _wait_for_redis(redis: Redis, worker: FlowWorker) -> None:
    """Until Redis answers (each ping waits out the client's retries first), or a stop is asked for."""
    pause = 1.0
    while not worker.stopping:
        try:
            redis.ping()
            log.warning("Redis answers again; worker starting anew")
            return
        except RedisError as exc:
            log.warning("Redis still unreachable (%s); looking again in %.0f s", exc, pause)
            time.sleep(pause)
            pause = min(pause * 2, RESTART_PAUSE_CAP_SECONDS)
