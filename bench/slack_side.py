"""The Slack side of the Slack benchmarks: the mock Web API in a process of its own, and the app's env.

The mock answers every status message the app posts; run in the bench's own process it would share the
GIL with the load generator and slow the very clock that measures the app, so the ack bench runs it as a
separate process (`python -m bench.slack_side` prints its URL, serves until stdin closes).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis

from tests.mock_slack import MockSlack, child_env
from tests.scenarios.flowbot_processes import SECRET, serve

BENCH_REDIS_URL = "redis://127.0.0.1:6379/12"
BENCH_QUEUE = "flowbot-bench"


def app_env(mock_url: str, data: Path, **extra: str) -> dict[str, str]:
    """Settings for the app and workers under bench: the mock Slack, bench Redis db, the sample data.

    One bench user sends hundreds of commands a minute: the per-person and per-channel limits are lifted,
    or most commands would be (quickly) refused instead of enqueued.
    """
    return child_env(
        FLOWBOT_SLACK_BOT_TOKEN="xoxb-bench",
        FLOWBOT_SLACK_SIGNING_SECRET=SECRET,
        FLOWBOT_SLACK_API_URL=mock_url,
        FLOWBOT_REDIS_URL=BENCH_REDIS_URL,
        FLOWBOT_LOCAL_DATA_DIR=str(data),
        FLOWBOT_HTTP_HOST="127.0.0.1",
        FLOWBOT_QUEUE_NAME=BENCH_QUEUE,
        FLOWBOT_USER_QUERIES_PER_MINUTE="1000000",
        FLOWBOT_CHANNEL_QUERIES_PER_MINUTE="1000000",
        FLOWBOT_LOG_LEVEL="WARNING",
        **extra,
    )


@contextmanager
def app_with_recording_slack(data: Path) -> Iterator[tuple[str, MockSlack, dict[str, str]]]:
    """`flowbot serve` on the bench's Redis database, with the recording mock Slack in this process (the
    benchmarks that wait for answers read its calls); yields the app's URL, the mock and the app's env."""
    redis = Redis.from_url(BENCH_REDIS_URL)
    redis.flushdb()
    with MockSlack() as mock:
        env = app_env(mock.base_url, data)
        app = serve(env)
        try:
            yield next(app), mock, env
        finally:
            app.close()
            redis.flushdb()


@contextmanager
def mock_slack_process(latency: float = 0.0) -> Iterator[str]:
    """The mock Web API in a child process, answering chat.postMessage after `latency` seconds (the real
    Slack takes tens to hundreds of milliseconds); yields its base URL."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.slack_side", str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield child.stdout.readline().strip()
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)


if __name__ == "__main__":
    with MockSlack() as mock:
        if float(sys.argv[1]) > 0:
            mock.slow_next("chat.postMessage", float(sys.argv[1]), times=sys.maxsize)
        print(mock.base_url, flush=True)
        sys.stdin.read()
