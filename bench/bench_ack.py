"""How fast Flowbot acknowledges `/flow` under load, against Slack's 3-second limit.

An open-loop load generator sends signed slash commands at a fixed arrival rate (10, 50, 200, 400 a second,
each for a bounded time) to the real `flowbot serve` process; every command is distinct (its own trigger
id, one of 20 channels and 50 people), so each is verified, parsed, rate-limited, enqueued to Redis and
then announced to the (mock) Slack by a status message, as in production. Latency is counted from the
moment the request was due, not from when a client thread got round to sending it, so a stalled server
cannot hide its queue (no coordinated omission). The mock Slack runs in its own process, answering at
once or, for the second set of rates, after 150 ms a post, as a slow Slack would. The generator shares the 2
cores with the app, Redis and the mock, which this machine cannot avoid.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from redis import Redis
from rq import Queue

from bench.report import Figure, markdown, percentile
from bench.slack_side import BENCH_QUEUE, BENCH_REDIS_URL, app_env, mock_slack_process
from tests.scenarios.flowbot_processes import SECRET, WINDOW, serve
from tests.slack_signing import signed_headers, slash_command_body

SLACK_LIMIT_MS = 3000.0
GOAL_P99_MS = 100.0
CLIENT_THREADS = 32
CHANNELS, PEOPLE = 20, 50
SETTLE_SECONDS = 5.0
SLOW_SLACK_SECONDS = 0.15


@dataclass(frozen=True)
class LoadResult:
    rate: float
    sent: int
    latencies_ms: list[float]
    failures: int  # non-200 answers and requests Slack would have given up on (over 3 s)
    accepted: int  # answered 200
    achieved_rate: float


def _requests(count: int, rate: float) -> list[tuple[bytes, dict[str, str]]]:
    """Bodies and signed headers made before the clock starts, so signing costs the generator nothing."""
    made = []
    for i in range(count):
        body = slash_command_body(
            f"count {WINDOW}",
            trigger_id=f"bench.{rate:g}.{i}",
            channel_id=f"C0BENCH{i % CHANNELS:02d}",
            user_id=f"U0BENCH{i % PEOPLE:02d}",
        )
        made.append((body.encode(), signed_headers(SECRET, body)))
    return made


def run_load(url: str, rate: float, seconds: float) -> LoadResult:
    """Send `rate` commands a second for `seconds`; one latency per command."""
    target = urlsplit(url)
    count = int(rate * seconds)
    prepared = _requests(count, rate)
    due: queue.Queue[int | None] = queue.Queue()
    latencies: list[float] = []
    failures = accepted = 0
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def client() -> None:
        nonlocal failures, accepted
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=10)
        while (i := due.get()) is not None:
            when = start + i / rate
            pause = when - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            body, headers = prepared[i]
            try:
                connection.request("POST", target.path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(
                    target.hostname or "127.0.0.1", target.port, timeout=10
                )
                ok = False
            elapsed = (time.perf_counter() - when) * 1000
            with lock:
                latencies.append(elapsed)
                accepted += ok
                if not ok or elapsed > SLACK_LIMIT_MS:
                    failures += 1
        connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENT_THREADS)]
    gc.collect()
    gc.disable()  # a collection in the generator would stall its clients and be charged to the app
    try:
        for t in threads:
            t.start()
        for i in range(count):
            due.put(i)
        for _ in threads:
            due.put(None)
        for t in threads:
            t.join()
    finally:
        gc.enable()
    took = time.perf_counter() - start
    return LoadResult(rate, count, latencies, failures, accepted, count / took)


def figures(
    data: Path, rates: tuple[float, ...] = (10, 50, 200, 400), seconds: float = 10, latency: float = 0.0
) -> list[Figure]:
    redis = Redis.from_url(BENCH_REDIS_URL)
    redis.flushdb()
    out: list[Figure] = []
    with mock_slack_process(latency) as mock_url:
        app = serve(app_env(mock_url, data))
        url = next(app)
        try:
            run_load(url, 20, 1)  # warm up: imports, connections, Lua scripts loaded
            for rate in rates:
                redis.flushdb()
                result = run_load(url, rate, seconds)
                enqueued = Queue(BENCH_QUEUE, connection=redis).count  # no worker runs: every job waits
                if enqueued != result.accepted:  # an acknowledged command must be a queued job
                    raise RuntimeError(f"{result.accepted:,} commands acknowledged, {enqueued:,} enqueued")
                time.sleep(SETTLE_SECONDS)  # the status messages posted after each ack, before the next rate
                slow = f", Slack taking {latency * 1000:.0f} ms a post" if latency else ""
                section = f"Ack at {rate:g} commands/s{slow}"
                note = (
                    f"{result.sent:,} commands in {seconds:g} s (achieved {result.achieved_rate:.0f}/s), "
                    f"{enqueued:,} jobs enqueued, {result.failures} failed or over 3 s"
                )
                out += [
                    Figure(
                        section,
                        "p50",
                        percentile(result.latencies_ms, 0.5),
                        "ms",
                        SLACK_LIMIT_MS,
                        "Slack's limit",
                        note,
                    ),
                    Figure(
                        section,
                        "p99",
                        percentile(result.latencies_ms, 0.99),
                        "ms",
                        SLACK_LIMIT_MS,
                        "Slack's limit",
                        f"goal: under {GOAL_P99_MS:g} ms",
                    ),
                    Figure(section, "max", max(result.latencies_ms), "ms", SLACK_LIMIT_MS, "Slack's limit"),
                ]
        finally:
            app.close()
            redis.flushdb()
    return out


def suite(data: Path, seconds: float = 10) -> list[Figure]:
    """What `make bench` runs: the app's own cost (an instant mock), then a slow Slack: a listener holds
    its thread for the status message it posts after the ack, so Slack's speed bounds commands in flight."""
    return figures(data, (10, 50, 200, 400), seconds) + figures(data, (50, 200), seconds, SLOW_SLACK_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder holding AWSLogs/ (flowbot sample-data)"
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rates", default="10,50,200,400")
    parser.add_argument("--slack-latency", type=float, default=0.0, help="seconds the mock takes per post")
    args = parser.parse_args()
    rates = tuple(float(r) for r in args.rates.split(","))
    print(markdown(figures(args.data, rates, args.seconds, args.slack_latency)))


if __name__ == "__main__":
    main()
