"""Time from `/flow` to the answer in Slack, and the jobs a second the queue sustains, with 1 and 4 workers.

The real path: a signed slash command to `flowbot serve`, Redis, `flowbot worker` processes running the
local engine on the sample data, and the recording mock Slack Web API; an answer has arrived when its CSV
upload is completed (`files.completeUploadExternal`, the last call of a job). Each command asks in its own
channel, so Flowbot's per-channel pacing (Slack's ~1 message a second) does not enter the figures.

Reference for one command: the same query through `answer()` in this process (engine and CSV only), so
the ratio is what the queue, the worker and Slack's round trips add. Reference for 4 workers: 1 worker.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from redis import Redis
from rq import Queue, Worker

from bench.report import Figure, markdown, percentile
from bench.slack_side import BENCH_QUEUE, BENCH_REDIS_URL, app_with_recording_slack
from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.local import LocalEngine
from bot.request import FlowRequest
from bot.settings import Settings
from bot.worker.answer import answer
from tests.conftest import SAMPLE_END
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import WINDOW, slash

QUESTION = f"ratio 10.0.1.25 {WINDOW}"
DONE = "files.completeUploadExternal"


def direct_ms(data: Path, runs: int) -> float:
    """The query and its CSV through `answer()` in-process: the floor a Slack answer cannot beat."""
    catalog = load_catalog()
    request = parse_command(QUESTION, catalog, Settings(), SAMPLE_END + timedelta(hours=1))
    assert isinstance(request, FlowRequest)
    engine = LocalEngine(data)
    times = []
    for _ in range(runs):
        with open(os.devnull, "w") as sink:
            started = time.perf_counter()
            answer(request, catalog=catalog, engine=engine, summary_rows=10, csv_out=sink)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _wait_for_workers(redis: Redis, count: int, timeout: float = 60) -> None:
    """Every worker registered with the queue: starting four Pythons is not part of any answer."""
    deadline = time.monotonic() + timeout
    while Worker.count(connection=redis, queue=Queue(BENCH_QUEUE, connection=redis)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} workers did not register within {timeout:g} s")
        time.sleep(0.2)
    time.sleep(1)  # registered a moment before they first block on the queue


def _answers(mock: MockSlack, channels: list[str], timeout: float) -> dict[str, float]:
    """Arrival time of each channel's answer."""
    mock.wait_for(DONE, count=len(channels), timeout=timeout)
    return {str(call.params.get("channel_id")): call.at for call in mock.calls(DONE)}


def burst(url: str, mock: MockSlack, count: int, tag: str) -> tuple[list[float], float]:
    """`count` commands sent back to back, each in its own channel; per-command latency and jobs/s."""
    mock.reset()
    channels = [f"C0{tag}{i:03d}" for i in range(count)]
    sent: dict[str, float] = {}
    for i, channel in enumerate(channels):
        sent[channel] = time.time()
        status, _ = slash(url, QUESTION, channel_id=channel, trigger_id=f"bench.{tag}.{i}")
        assert status == 200
    arrived = _answers(mock, channels, timeout=600)
    latencies = [(arrived[c] - sent[c]) * 1000 for c in channels]
    span = max(arrived.values()) - min(sent.values())
    return latencies, count / span


def figures(data: Path, count: int = 40, alone: int = 5) -> list[Figure]:
    redis = Redis.from_url(BENCH_REDIS_URL)
    floor = direct_ms(data, alone)
    out: list[Figure] = []
    with app_with_recording_slack(data) as (url, mock, env):
        one_worker_rate = 0.0
        for workers in (1, 4):
            redis.flushdb()
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "worker"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(workers)
            ]
            try:
                _wait_for_workers(redis, workers)
                section = f"Command to answer, {workers} worker{'s' if workers > 1 else ''}"
                if workers == 1:
                    singles = []
                    for i in range(alone):
                        latencies, _ = burst(url, mock, 1, f"ONE{i}")
                        singles += latencies
                    out.append(
                        Figure(
                            section,
                            "one command alone (median)",
                            statistics.median(singles),
                            "ms",
                            floor,
                            "the query and CSV in-process",
                            f"median of {alone}; the rest is queue, worker and Slack round trips",
                        )
                    )
                latencies, rate = burst(url, mock, count, f"B{workers}")
                note = f"{count} commands sent back to back, each in its own channel"
                out += [
                    Figure(section, f"burst of {count}: p50", percentile(latencies, 0.5), "ms", note=note),
                    Figure(section, f"burst of {count}: max", max(latencies), "ms"),
                ]
                if workers == 1:
                    one_worker_rate = rate
                    out.append(Figure(section, "jobs/s sustained", rate, "jobs/s"))
                else:
                    out.append(
                        Figure(
                            section,
                            "jobs/s sustained",
                            rate,
                            "jobs/s",
                            one_worker_rate,
                            "1 worker",
                            "2 cores: 4 workers share them with the app, Redis and the mock",
                        )
                    )
            finally:
                for proc in procs:
                    proc.terminate()
                for proc in procs:
                    proc.wait(timeout=60)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder holding AWSLogs/ (flowbot sample-data)"
    )
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args()
    print(markdown(figures(args.data, args.count)))


if __name__ == "__main__":
    main()
