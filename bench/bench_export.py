"""Peak memory and time of a worker streaming a large result to CSV and uploading it to Slack: 100k rows
against 1M rows (memory must stay flat as rows grow), and a one-row `count` as the worker's own floor.

The real path: a signed `/flow sample --limit N` to `flowbot serve`, then `flowbot worker --burst` runs
the job (the local engine streams batches into the CSV file, the upload streams the file to the mock
Slack's upload URL) and exits. Its peak resident memory, work horse included, is read by a small wrapper
process (`getrusage(RUSAGE_CHILDREN)` covers every descendant it waited for); the CSV that reached the mock
is counted, so a figure for a short upload cannot pass unnoticed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import resource
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from redis import Redis

from bench.report import Figure, markdown
from bench.slack_side import BENCH_REDIS_URL, app_with_recording_slack
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import slash

DONE = "files.completeUploadExternal"


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run `command` under the wrapper; its wall time (s) and the peak RSS (MB) of it and its children."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_export", "--wrap", json.dumps(command)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, float(done.stdout.strip().splitlines()[-1])


def export(
    url: str, mock: MockSlack, env: dict[str, str], text: str, tag: str
) -> tuple[float, float, int, int]:
    """One job end to end: seconds, peak MB, data rows in the uploaded CSV, its bytes."""
    Redis.from_url(BENCH_REDIS_URL).flushdb()
    mock.reset()
    status, _ = slash(url, text, channel_id=f"C0EXP{tag}", trigger_id=f"bench.export.{tag}")
    assert status == 200
    seconds, peak = measured([sys.executable, "-m", "bot.cli", "worker", "--burst"], env)
    mock.wait_for(DONE, timeout=60)
    uploaded = b"".join(mock.uploads.values())
    rows = sum(1 for _ in csv.reader(io.StringIO(uploaded.decode()))) - 1
    return seconds, peak, rows, len(uploaded)


def figures(
    data: Path, start: datetime, end: datetime, sizes: tuple[int, ...] = (100_000, 1_000_000)
) -> list[Figure]:
    window = f"--from {start:%Y-%m-%dT%H:%M}Z --to {end:%Y-%m-%dT%H:%M}Z"
    out: list[Figure] = []
    with app_with_recording_slack(data) as (url, mock, env):
        export(url, mock, env, f"count {window}", "warm")  # file cache and imports warm for every run
        floor_s, floor_mb, _, _ = export(url, mock, env, f"count {window}", "floor")
        section = "CSV export and upload"
        out.append(
            Figure(
                section,
                "worker peak RSS, `count` (1 row)",
                floor_mb,
                "MB",
                note=f"{floor_s:.1f} s: the worker's start, one job, exit",
            )
        )
        first: tuple[int, float, float] | None = None
        for size in sizes:
            seconds, peak, rows, size_bytes = export(
                url, mock, env, f"sample --limit {size} {window}", str(size)
            )
            if rows != size:
                raise RuntimeError(f"asked for {size:,} rows, the uploaded CSV holds {rows:,}")
            note = f"{rows:,} rows, {size_bytes / 1e6:.0f} MB of CSV uploaded"
            if first is None:
                first = (size, seconds, peak)
                out += [
                    Figure(section, f"peak RSS, {size:,} rows", peak, "MB", floor_mb, "`count`", note),
                    Figure(section, f"time, {size:,} rows", seconds, "s", floor_s, "`count`"),
                ]
            else:
                out += [
                    Figure(
                        section,
                        f"peak RSS, {size:,} rows",
                        peak,
                        "MB",
                        first[2],
                        f"{first[0]:,} rows",
                        note + "; flat memory: ratio near 1",
                    ),
                    Figure(
                        section,
                        f"time, {size:,} rows",
                        seconds,
                        "s",
                        first[1],
                        f"{first[0]:,} rows",
                        f"{rows / seconds:,.0f} rows/s end to end",
                    ),
                ]
    return out


def _wrap(command: list[str]) -> None:
    """Run the command, then print the peak RSS (MB) of it and everything it waited for."""
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wrap", help=argparse.SUPPRESS)
    parser.add_argument(
        "--data", type=Path, help="folder holding AWSLogs/ with at least 1M records in the window"
    )
    parser.add_argument("--from", dest="start", type=datetime.fromisoformat)
    parser.add_argument("--to", dest="end", type=datetime.fromisoformat)
    args = parser.parse_args()
    if args.wrap:
        _wrap(json.loads(args.wrap))
        return
    if not (args.data and args.start and args.end):
        parser.error("--data, --from and --to are required")
    print(markdown(figures(args.data, args.start, args.end)))


if __name__ == "__main__":
    main()
