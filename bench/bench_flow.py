"""What a responder feels, measured: ack time of `/flow`, time to the answer, query time per template.

Run from the repo root with the venv (a Redis on 127.0.0.1:6379 is needed for the Slack part):

    .venv/bin/python -m bench.bench_flow [--requests 200] [--scale 1.0]

Prints figures; asserts nothing. Uses database 12 of the local Redis and flushes it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.answer import answer
from bot.catalog import load_catalog
from bot.engines.local import LocalEngine
from bot.parsing import parse_command
from bot.request import FlowRequest
from bot.sample_data import generate
from bot.settings import Settings
from tests.mock_slack import MockSlack, child_env
from tests.scenarios.flowbot_processes import SECRET, serve, slash

END = datetime(2026, 11, 20, tzinfo=UTC)
REDIS_URL = "redis://127.0.0.1:6379/12"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_queries(root: Path, runs: int) -> None:
    catalog = load_catalog()
    engine = LocalEngine(root)
    print(f"\n## Query time on the local engine ({runs} runs each; median, min)")
    print(f"{'query':40} {'window':7} {'median':>8} {'min':>8} {'rows':>8} {'files':>6} {'scanned':>9}")
    for text in ("count", "sample", "top src", "top dst", "timeline 198.51.100.23", "ratio 10.0.1.25"):
        for days in (1, 3):
            start = END - timedelta(days=days)
            request = parse_command(
                f"{text} --from {start:%Y-%m-%dT%H:%M}Z --to {END:%Y-%m-%dT%H:%M}Z", catalog, Settings(), END
            )
            assert isinstance(request, FlowRequest)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                result = answer(request, catalog=catalog, engine=engine, summary_rows=10)
                times.append((time.perf_counter() - started) * 1000)
            stats = result.summary.stats
            print(
                f"{text:40} {days:>2} day{'s' if days > 1 else ' '} {statistics.median(times):>6.0f}ms "
                f"{min(times):>6.0f}ms {stats.rows:>8,} {stats.files_scanned:>6,} "
                f"{stats.bytes_scanned / 1e6:>7.1f}MB"
            )


def _peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """Run `flowbot ask` in a child process; its wall time and peak resident memory."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot.cli", "ask", *args], capture_output=True, check=True)
    del done
    elapsed = time.perf_counter() - started
    # RUSAGE_CHILDREN keeps the largest child so far: run the small query first.
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def bench_csv_memory(root: Path) -> None:
    window = f"--from {END - timedelta(days=3):%Y-%m-%dT%H:%M}Z --to {END:%Y-%m-%dT%H:%M}Z"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "all.csv"
        base_s, base_mb = _peak_rss_mb(
            ["--data", str(root), "--format", "csv", "--out", str(out), *f"count {window}".split()]
        )
        all_s, all_mb = _peak_rss_mb(
            [
                "--data",
                str(root),
                "--format",
                "csv",
                "--out",
                str(out),
                *f"sample --limit 1000000 {window}".split(),
            ]
        )
        size = out.stat().st_size
        rows = sum(1 for _ in out.open()) - 1
    print("\n## Whole-table CSV export (`flowbot ask --format csv sample --limit 1000000`, 3 days)")
    print(
        f"{rows:,} rows, {size / 1e6:.1f} MB of CSV in {all_s:.2f} s; peak RSS {all_mb:.0f} MB "
        f"(a `count` over the same files: {base_mb:.0f} MB, {base_s:.2f} s)"
    )


def bench_slack(root: Path, requests: int) -> None:
    from redis import Redis

    Redis.from_url(REDIS_URL).flushdb()
    with MockSlack() as mock:
        env = child_env(
            FLOWBOT_SLACK_BOT_TOKEN="xoxb-bench",
            FLOWBOT_SLACK_SIGNING_SECRET=SECRET,
            FLOWBOT_SLACK_API_URL=mock.base_url,
            FLOWBOT_REDIS_URL=REDIS_URL,
            FLOWBOT_LOCAL_DATA_DIR=str(root),
            FLOWBOT_HTTP_HOST="127.0.0.1",
            FLOWBOT_QUEUE_NAME="flowbot-bench",
            # One bench user sends hundreds of commands a minute: lift the per-person and per-channel
            # limits, or most commands would be (quickly) refused instead of enqueued.
            FLOWBOT_USER_QUERIES_PER_MINUTE="1000000",
            FLOWBOT_CHANNEL_QUERIES_PER_MINUTE="1000000",
        )
        app = serve(env)
        url = next(app)
        worker = None
        try:
            window = f"--from {END - timedelta(days=1):%Y-%m-%dT%H:%M}Z --to {END:%Y-%m-%dT%H:%M}Z"
            acks = []
            for i in range(requests):
                started = time.perf_counter()
                slash(url, f"count {window}", trigger_id=f"bench-ack-{i}")
                acks.append((time.perf_counter() - started) * 1000)
            print(
                f"\n## Slash command ack ({requests} signed requests, parse + enqueue to Redis, sequential)"
            )
            print(
                f"p50 {_pct(acks, 0.5):.1f} ms, p95 {_pct(acks, 0.95):.1f} ms, max {max(acks):.1f} ms "
                "(Slack's limit: 3000 ms)"
            )

            Redis.from_url(REDIS_URL).flushdb()
            mock.reset()
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            answered = []
            for i in range(10):
                started = time.perf_counter()
                slash(url, f"ratio 10.0.1.25 {window}", trigger_id=f"bench-answer-{i}")
                mock.wait_for("files.completeUploadExternal", count=i + 1, timeout=60)
                answered.append((time.perf_counter() - started) * 1000)
            print("\n## Time to answer (`ratio 10.0.1.25`, 1-day window, one worker, summary + CSV in Slack)")
            print(f"median {statistics.median(answered):.0f} ms, max {max(answered):.0f} ms over 10 commands")
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
            app.close()
    Redis.from_url(REDIS_URL).flushdb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        report = generate(root, end=END, days=3, scale=args.scale)
        print(
            f"# Flowbot bench — {report.records:,} records in {report.files:,} files "
            f"({sum(p.stat().st_size for p in root.rglob('*.gz')) / 1e6:.1f} MB gzip), "
            f"generated in {time.perf_counter() - started:.1f} s"
        )
        bench_csv_memory(root)
        bench_queries(root, args.runs)
        bench_slack(root, args.requests)


if __name__ == "__main__":
    main()
