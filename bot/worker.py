"""`flowbot worker`: an RQ worker on the Flowbot queue."""

from __future__ import annotations

from redis import Redis
from rq import Queue, Worker

from bot.catalog import load_catalog
from bot.settings import Settings


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Validate the templates, then take jobs until stopped (or until the queue is empty with burst)."""
    load_catalog()
    redis = Redis.from_url(settings.redis_url)
    redis.ping()
    queue = Queue(settings.queue_name, connection=redis)
    Worker([queue], connection=redis).work(burst=burst)
