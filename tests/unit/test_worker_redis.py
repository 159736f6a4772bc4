"""The worker's Redis client waits out an outage of about FLOWBOT_WORKER_REDIS_OUTAGE_SECONDS, and a worker
whose RQ loop quit on a Redis error serves again instead of exiting (issue #16). The end-to-end proof, a Redis
SIGKILLed and restarted under running jobs, is tests/bench/test_benchmarks_run.py's fault suite."""

from __future__ import annotations

import pytest
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.settings import Settings
from bot.worker import runner as worker_module
from bot.worker.runner import FlowWorker, redis_retries, run_worker, worker_redis


def waited(retries: int) -> float:
    """Seconds redis-py's Retry sleeps across `retries` failed attempts with the worker's backoff."""
    backoff = ExponentialBackoff(cap=2.0, base=0.1)
    return sum(backoff.compute(n) for n in range(1, retries + 1))


@pytest.mark.parametrize("outage", [1, 5, 60, 600])
def test_the_retries_span_the_configured_outage_and_little_more(outage: int) -> None:
    spans = waited(redis_retries(outage))
    assert outage <= spans < outage + 5


def test_the_worker_client_carries_that_retry_and_a_connect_timeout() -> None:
    client = worker_redis(Settings(redis_url="redis://127.0.0.1:1/0", worker_redis_outage_seconds=60))
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["retry"].get_retries() == redis_retries(60)
    assert kwargs["socket_connect_timeout"] == 5.0


class Quitting(FlowWorker):
    """A worker whose RQ loop quits at once, as on a Redis outage longer than its retries."""

    runs = 0

    def work(self, *args: object, **kwargs: object) -> bool:
        type(self).runs += 1
        if type(self).runs == 3:
            self.stopping = True  # SIGTERM arrives during the third run
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_worker_whose_loop_quit_on_redis_serves_again_until_asked_to_stop(
    monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    pings: list[int] = []
    monkeypatch.setattr(worker_module, "make_worker", lambda settings, redis: Quitting([], connection=redis))
    monkeypatch.setattr(worker_module, "_wait_for_redis", lambda redis, worker: pings.append(1))
    run_worker(Settings(redis_url=redis_url))
    assert Quitting.runs == 3  # ran again twice, then ended on the stop
    assert len(pings) == 2
