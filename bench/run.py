"""Every benchmark, one table: `make bench` (or `.venv/bin/python -m bench.run [--write]`).

Needs the local Redis (database 12 is flushed; the naming bench writes, then deletes, one key of database
10). Prints each figure beside its reference, measured in the same run; `--write` also records the table in
bench/RESULTS.md. It asserts nothing: the tests never time anything, and a slow figure here is a finding, not
a failure.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import (
    bench_ack,
    bench_answer,
    bench_athena,
    bench_deadlines,
    bench_enrich,
    bench_export,
    bench_layouts,
    bench_scan,
    datasets,
)
from bench.report import Figure, machine, markdown
from tests.conftest import SAMPLE_END

RESULTS = Path(__file__).with_name("RESULTS.md")
COMMAND = "make bench"


START, END = "<!-- measured: written by `make bench` -->", "<!-- /measured -->"


def record(measured: str) -> None:
    """Replace the measured part of bench/RESULTS.md, keeping the reading of it written around it."""
    text = (
        RESULTS.read_text(encoding="utf-8")
        if RESULTS.exists()
        else f"# Benchmark results\n\n{START}\n{END}\n"
    )
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    RESULTS.write_text(f"{before}{START}\n{measured}\n{END}{after}", encoding="utf-8")


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record the table in bench/RESULTS.md")
    parser.add_argument("--data-dir", type=Path, default=datasets.DEFAULT_DIR, help="cache of big datasets")
    parser.add_argument("--quick", action="store_true", help="small sizes: check the suite runs, not speed")
    args = parser.parse_args()

    header = f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, commit {_commit()}."
    print(header)
    started = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp)
        # In a child: the load generator's process stays small, so its garbage collections stay short.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "sample-data",
                str(sample),
                "--end",
                f"{SAMPLE_END:%Y-%m-%dT%H:%M}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        steps = [
            ("ack", lambda: bench_ack.suite(sample, seconds=2 if args.quick else 10)),
            ("deadlines", lambda: bench_deadlines.figures(sample, count=3 if args.quick else 10)),
            (
                "answer",
                lambda: bench_answer.figures(
                    sample, count=4 if args.quick else 40, alone=2 if args.quick else 5
                ),
            ),
        ]
        for name, step in steps:
            print(f"… {name}", flush=True)
            figures += step()
    print("… scan", flush=True)
    figures += bench_scan.figures(args.data_dir, runs=1 if args.quick else 3)
    print("… export", flush=True)
    day = datasets.one_day(args.data_dir)
    start = datetime.combine(datasets.DAY, datetime.min.time(), tzinfo=UTC)
    figures += bench_export.figures(
        day.root,
        start,
        start + timedelta(days=1),
        sizes=(1_000, 10_000) if args.quick else (100_000, 1_000_000),
    )
    print("… layouts", flush=True)
    figures += bench_layouts.figures(
        args.data_dir, scale=1 if args.quick else 10, runs=1 if args.quick else 3
    )
    print("… athena", flush=True)
    figures += bench_athena.figures(rows=10_000 if args.quick else 1_000_000)
    print("… enrich", flush=True)
    figures += (
        bench_enrich.figures(sizes=(100, 1_000), ipv4=900, ipv6=300, rows=10_000, runs=1)
        if args.quick
        else bench_enrich.figures()
    )
    table = markdown(figures)
    took = time.perf_counter() - started
    print(f"\n{table}\n\n({took / 60:.1f} minutes)")
    if args.write:
        kind = "quick" if args.quick else "full"
        record(f"`{COMMAND}` ({kind} run, {took / 60:.1f} minutes). {header}\n\n{table}")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
