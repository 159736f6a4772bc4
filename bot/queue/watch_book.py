"""Standing watches in Redis, and their runs on RQ's scheduler.

Each interval of a watch is one RQ job, scheduled with `Queue.enqueue_at` for the moment it is due and
run by a worker started with RQ's scheduler (`Worker.work(with_scheduler=True)`, bot/worker/runner.py).
The scheduler keeps scheduled jobs in Redis (RQ's ScheduledJobRegistry), so watches outlive every Flowbot
process. A run schedules the next interval before it queries; the job id names the watch and the interval
(`watch-w3f2a9c1-12`) and is scheduled with `unique=True`, which RQ checks atomically, so one interval is
one job however often a run is repeated, and a run that finds its interval done (`WATCH_DONE_KEY`) stops.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime, timedelta

from redis import Redis
from rq import Callback, Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.registry import ScheduledJobRegistry

from bot.redis_keys import (
    CHANNEL_WATCHES_KEY,
    RQ_FAILURE_TTL_SECONDS,
    RQ_RESULT_TTL_SECONDS,
    WATCH_AFTERLIFE_SECONDS,
    WATCH_DONE_KEY,
    WATCH_KEY,
    WATCH_SEEN_KEY,
    WATCH_STOPPED_KEY,
)
from bot.request import ReplyTarget
from bot.settings import Settings
from bot.watches import Watch, WatchCreate
from bot.words import CommandError

WATCH_JOB = "bot.worker.watch.run_watch_interval"
WATCH_FAILED = "bot.worker.watch.report_watch_failure"
"""The worker's functions, by dotted path (the app never imports the worker)."""


def watch_id_for(team_id: str, request_id: str) -> str:
    """A watch's id from the Slack request that made it: a retried delivery makes no second watch."""
    return "w" + hashlib.sha256(f"watch:{team_id}:{request_id}".encode()).hexdigest()[:7]


def interval_job_id(watch_id: str, interval: int) -> str:
    return f"watch-{watch_id}-{interval}"


class WatchBook:
    """Watches: made, listed and stopped in the listener; read, scheduled and marked by the worker."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.queue = Queue(settings.queue_name, connection=redis)

    def create(self, asked: WatchCreate, target: ReplyTarget, now: datetime) -> tuple[Watch, bool]:
        """The watch `asked` for, scheduled from `now`; False with the existing one when this request
        already made it (Slack delivered it again). CommandError when the channel has its most."""
        watch_id = watch_id_for(target.team_id, target.job_id)
        known = self.get(watch_id)
        if known is not None:
            return known, False
        if (
            len(self.channel_watches(target.team_id, target.channel_id, now))
            >= self.settings.watches_per_channel
        ):
            raise CommandError(
                f"this channel has {self.settings.watches_per_channel} watches already "
                "(FLOWBOT_WATCHES_PER_CHANNEL); stop one first: `watch list`, `watch stop <id>`"
            )
        anchor = now.replace(microsecond=0)
        watch = Watch(
            id=watch_id,
            request=asked.request,
            target=target.model_copy(update={"job_id": watch_id, "response_url": None, "thread_ts": None}),
            every_seconds=asked.every_seconds,
            lag_seconds=self.settings.watch_delivery_lag_seconds,
            anchor=anchor,
            ends=anchor + timedelta(days=self.settings.watch_max_days),
        )
        expires = int(watch.ends.timestamp()) + WATCH_AFTERLIFE_SECONDS
        if not self.redis.set(
            WATCH_KEY.format(watch_id=watch_id), watch.model_dump_json(), nx=True, exat=expires
        ):
            existing = self.get(watch_id)
            if existing is not None:
                return existing, False
        channel_key = CHANNEL_WATCHES_KEY.format(team=target.team_id, channel=target.channel_id)
        self.redis.sadd(channel_key, watch_id)
        self.redis.expireat(channel_key, expires)  # the newest watch ends last
        self.schedule(watch, 0)
        return watch, True

    def get(self, watch_id: str) -> Watch | None:
        raw = self.redis.get(WATCH_KEY.format(watch_id=watch_id))
        return Watch.model_validate_json(raw) if raw else None

    def channel_watches(self, team_id: str, channel_id: str, now: datetime) -> list[Watch]:
        """The channel's watches still running, oldest first."""
        ids = sorted(
            x.decode() if isinstance(x, bytes) else str(x)
            for x in self.redis.smembers(CHANNEL_WATCHES_KEY.format(team=team_id, channel=channel_id))
        )
        watches = [w for w in (self.get(i) for i in ids) if w is not None]
        live = [w for w in watches if w.ends > now and self.stopped_by(w.id) is None]
        return sorted(live, key=lambda w: w.anchor)

    def stop(self, watch_id: str, team_id: str, channel_id: str, by: str, now: datetime) -> Watch:
        """Stop a watch of this channel; CommandError when the channel has no such watch running."""
        watch = self.get(watch_id)
        if watch is None or (watch.target.team_id, watch.target.channel_id) != (team_id, channel_id):
            raise CommandError(f"this channel has no watch `{watch_id}`; `watch list` shows its watches")
        if self.stopped_by(watch_id) is not None or watch.ends <= now:
            raise CommandError(f"watch `{watch_id}` has already ended")
        expires = int(watch.ends.timestamp()) + WATCH_AFTERLIFE_SECONDS
        self.redis.set(WATCH_STOPPED_KEY.format(watch_id=watch_id), by, exat=expires)
        registry = ScheduledJobRegistry(queue=self.queue)  # type: ignore[no-untyped-call]
        current = int((now - watch.anchor).total_seconds() // watch.every_seconds)
        for interval in range(max(current - 1, 0), current + 2):  # the one scheduled (a run may be late)
            with contextlib.suppress(NoSuchJobError):  # not scheduled (ran, or not yet)
                registry.remove(interval_job_id(watch_id, interval), delete_job=True)
        return watch

    def stopped_by(self, watch_id: str) -> str | None:
        raw = self.redis.get(WATCH_STOPPED_KEY.format(watch_id=watch_id))
        return raw.decode() if isinstance(raw, bytes) else raw

    def schedule(self, watch: Watch, interval: int) -> bool:
        """Interval `interval` scheduled for when it is due; False when it already was (or ran)."""
        try:
            self.queue.enqueue_at(
                watch.due(interval),
                WATCH_JOB,
                watch.id,
                interval,
                job_id=interval_job_id(watch.id, interval),
                unique=True,
                job_timeout=self.settings.query_timeout_seconds,
                result_ttl=RQ_RESULT_TTL_SECONDS,
                failure_ttl=RQ_FAILURE_TTL_SECONDS,
                retry=Retry(max=self.settings.job_retries) if self.settings.job_retries else None,
                on_failure=Callback(WATCH_FAILED),
                description=f"/flow watch {watch.id} interval {interval}",
            )
        except DuplicateJobError:
            return False
        return True

    def is_done(self, watch: Watch, interval: int) -> bool:
        return bool(self.redis.exists(WATCH_DONE_KEY.format(watch_id=watch.id, interval=interval)))

    def mark_done(self, watch: Watch, interval: int) -> None:
        expires = int(watch.ends.timestamp()) + WATCH_AFTERLIFE_SECONDS
        self.redis.set(WATCH_DONE_KEY.format(watch_id=watch.id, interval=interval), "1", exat=expires)

    def unseen(self, watch: Watch, digests: list[str]) -> list[bool]:
        """For each finding digest, whether the watch has not posted it yet."""
        if not digests:
            return []
        seen = self.redis.smismember(WATCH_SEEN_KEY.format(watch_id=watch.id), digests)
        return [not s for s in seen]

    def remember(self, watch: Watch, digests: list[str]) -> None:
        """These findings are posted: never post them again."""
        if not digests:
            return
        key = WATCH_SEEN_KEY.format(watch_id=watch.id)
        self.redis.sadd(key, *digests)
        self.redis.expireat(key, int(watch.ends.timestamp()) + WATCH_AFTERLIFE_SECONDS)
