"""Bytes read and time by layout: the same records as text in daily folders (the playbook's layout) and as
Parquet in Hive-style hourly folders, for `count`, `ratio IP` and `top src` over a 1-hour and a 1-day window.

    .venv/bin/python -m bench.bench_layouts [--scale 10] [--runs 3]

"Bytes read" is what the local engine reports as scanned: text files are read whole; of Parquet files, the
column chunks of the columns the query reads (what Athena bills for Parquet). The issue's goal: a 1-hour
`ratio` reads at most 1/50 of the text-daily bytes. Both layouts are written by `flowbot sample-data`'s
generator with the same seed, so the answers are checked equal before any figure is kept. Times are the
local engine's, warm cache, median of `runs`. Prints figures; asserts only that the answers agree.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import Figure, machine, markdown
from bot.flowlog_layouts import LAYOUTS
from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.local import LocalEngine
from bot.request import FlowRequest
from bot.samples.flow_logs import EXFIL_HOST, generate
from bot.settings import Settings

SECTION = "Flow-log layouts"
END = datetime(2026, 11, 20, tzinfo=UTC)
DAYS = 3
BASE, CHALLENGER = "text-daily", "parquet-hive-hourly"
QUERIES = ("count", f"ratio {EXFIL_HOST}", "top src")
WINDOWS = {
    # In the middle day, so that the text layout's next day (its delivery margin) is a full day too.
    "1-hour": (END - timedelta(hours=36), END - timedelta(hours=35)),
    "1-day": (END - timedelta(days=2), END - timedelta(days=1)),
}


def _request(text: str, start: datetime, end: datetime) -> FlowRequest:
    parsed = parse_command(
        f"{text} --from {start:%Y-%m-%dT%H:%M}Z --to {end:%Y-%m-%dT%H:%M}Z --limit 1000",
        load_catalog(),
        Settings(),
        END,
    )
    assert isinstance(parsed, FlowRequest)
    return parsed


def _run(engine: LocalEngine, request: FlowRequest) -> tuple[list[tuple[object, ...]], int, int, float]:
    """Rows, bytes read, files opened, seconds."""
    started = time.perf_counter()
    result = engine.run(load_catalog()[request.query], request)
    rows = [row for batch in result.batches() for row in batch]
    return rows, result.stats.bytes_scanned, result.stats.files_scanned or 0, time.perf_counter() - started


def figures(data_dir: Path, *, scale: float = 10.0, runs: int = 3) -> list[Figure]:
    """Generate both layouts under `data_dir`, run every query and window on each, and report."""
    roots = {}
    for name in (BASE, CHALLENGER):
        roots[name] = data_dir / f"{name}-x{scale:g}"
        if not (roots[name] / "AWSLogs").is_dir():
            generate(roots[name], end=END, days=DAYS, seed=7, scale=scale, layout=name)
    engines = {name: LocalEngine(root, layout=LAYOUTS[name]) for name, root in roots.items()}
    out: list[Figure] = []
    for window, (start, end) in WINDOWS.items():
        for text in QUERIES:
            request = _request(text, start, end)
            measured = {}
            for name, engine in engines.items():
                _run(engine, request)  # warm the page cache
                trials = [_run(engine, request) for _ in range(runs)]
                measured[name] = trials
            base_rows, base_bytes, base_files, _ = measured[BASE][0]
            rows, read, files, _ = measured[CHALLENGER][0]
            assert rows == base_rows, f"{text} over {window}: the layouts' answers differ"
            base_time = statistics.median(t[3] for t in measured[BASE])
            time_taken = statistics.median(t[3] for t in measured[CHALLENGER])
            verb = text.split()[0] if text != "top src" else text
            out += [
                Figure(
                    SECTION,
                    f"bytes read, `{verb}`, {window} window, {CHALLENGER}",
                    read / 1e3,
                    "KB",
                    base_bytes / 1e3,
                    f"{BASE}, {base_files:,} files",
                    note=f"{files:,} files; {len(rows):,} rows",
                ),
                Figure(
                    SECTION,
                    f"local engine time, `{verb}`, {window} window, {CHALLENGER}",
                    time_taken * 1000,
                    "ms",
                    base_time * 1000,
                    BASE,
                    note=f"median of {runs}",
                ),
            ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0, help="background traffic multiplier")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, help="keep the generated layouts here (default: a temp dir)")
    args = parser.parse_args()
    print(
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; scale {args.scale:g}, {DAYS} days."
    )
    if args.data_dir:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        print(markdown(figures(args.data_dir, scale=args.scale, runs=args.runs)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        print(markdown(figures(Path(tmp), scale=args.scale, runs=args.runs)))


if __name__ == "__main__":
    main()
