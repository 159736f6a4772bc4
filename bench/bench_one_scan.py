"""What one answer reads: `talkers` and `hunt` before and after they read the window once.

Trino shares no scan between the arms of a UNION ALL, so a template that reads the window in two arms is
billed twice on Athena. For `talkers` and `hunt`, in the SQL as it is now and as it was at `--before` (a git
revision; its templates are read with `git show`), this prints:
- how many times the Athena SQL (`to_athena`'s output) reads the flow table;
- on the local engine over the one-day dataset (10M records, see bench/datasets.py): the bytes the process
  read while answering (`rchar` of /proc/self/io, every read() DuckDB made, page cache included), and the
  time to the last row;
- `hunt` with 10, 1,000 and 10,000 indicators, time to the last row, before and after.

Run from the repo root with the venv (the first run generates the one-day dataset, ~1 minute):

    .venv/bin/python -m bench.bench_one_scan [--data-dir bench/.data] [--before REV] [--runs 1]

The indicators are fixed: five addresses the dataset's internet peers use (so hunts find flows), one wide
range (/12, matching nothing), and for the rest, seeded random public /32s, a tenth of them /24 ranges
and one in a hundred IPv6 /128s, none inside the dataset's peer blocks. Prints figures; asserts only that
before and after give the same rows.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlglot
from sqlglot import exp

from bench import datasets
from bench.report import Figure, machine, markdown
from bot.parse.command import parse_command
from bot.query.catalog import Catalog, QueryTemplate, load_catalog
from bot.query.engines.athena import to_athena
from bot.query.engines.local import LocalEngine
from bot.query.results import Row
from bot.request import FlowRequest
from bot.settings import Settings

SECTION = "One read per answer"
TEMPLATES = ("talkers", "hunt")
BEFORE = "2fdfbcf"
"""The last commit whose `talkers` and `hunt` read the window in two UNION ALL arms."""
INDICATOR_COUNTS = (10, 1_000, 10_000)
PEERS_HIT = ("198.51.100.7", "203.0.113.9", "192.0.2.77", "52.216.20.35", "54.239.28.85")
"""Addresses of the dataset's internet peers (`datasets.EXTERNAL_PREFIXES`): each is in thousands of flows."""
WIDE = "172.16.0.0/12"
_PEER_BLOCKS = [ipaddress.ip_network(f"{prefix}.0/24") for prefix in datasets.EXTERNAL_PREFIXES]


def indicators(count: int, seed: int = 7) -> list[str]:
    """`count` indicators: the five peers, one wide range, then seeded random ones that match nothing."""
    rng = random.Random(seed)
    out = [*PEERS_HIT, WIDE][:count]
    while len(out) < count:
        roll = rng.random()
        if roll < 0.01:
            out.append(f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}")
            continue
        address = ipaddress.IPv4Address(rng.randrange(1 << 24, 224 << 24))
        if not address.is_global or any(address in block for block in _PEER_BLOCKS):
            continue
        out.append(f"{ipaddress.ip_network(f'{address}/24', strict=False)}" if roll < 0.11 else str(address))
    return out


def _request(catalog: Catalog, text: str, day: date) -> FlowRequest:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    request = parse_command(
        f"{text} --from {start:%Y-%m-%dT%H:%M}Z --to {end:%Y-%m-%dT%H:%M}Z", catalog, Settings(), end
    )
    assert isinstance(request, FlowRequest), request
    return request


def template_at(revision: str, template: QueryTemplate) -> QueryTemplate:
    """The template with its SQL as it was at `revision` (same spec: the columns did not change)."""
    done = subprocess.run(
        ["git", "show", f"{revision}:query_templates/{template.name}.sql"],
        capture_output=True,
        text=True,
        check=True,
    )
    return QueryTemplate(**{**template.model_dump(exclude={"sql"}), "sql": done.stdout})


def athena_reads(template: QueryTemplate, request: FlowRequest) -> int:
    """How many times the SQL Athena would run reads the flow table."""
    sql, _ = to_athena(template.sql, Settings(), request.bindings())
    real = Settings().athena_table
    return sum(1 for t in sqlglot.parse_one(sql, read="trino").find_all(exp.Table) if t.name == real)


def _rchar() -> int:
    """Bytes this process has read through read()/pread() so far (Linux /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise RuntimeError("no rchar in /proc/self/io")


def run_local(
    engine: LocalEngine, template: QueryTemplate, request: FlowRequest
) -> tuple[float, int, list[Row]]:
    """Seconds to the last row, bytes read meanwhile, and the rows."""
    read_before = _rchar()
    started = time.perf_counter()
    stream = engine.run(template, request)
    rows = [row for batch in stream.batches() for row in batch]
    return time.perf_counter() - started, _rchar() - read_before, rows


def _write_iocs(folder: Path, values: Iterable[str]) -> None:
    table = folder / "table"
    table.mkdir(parents=True, exist_ok=True)
    lines = "".join(f'"{v}","bench"\n' for v in values)
    (table / "iocs.csv").write_text(lines, encoding="utf-8")


def _best(
    engine: LocalEngine, template: QueryTemplate, request: FlowRequest, runs: int
) -> tuple[float, int, list[Row]]:
    """The fastest of `runs` (the bytes read are the same each run); each run's time goes to stderr."""
    results = []
    for _ in range(runs):
        results.append(run_local(engine, template, request))
        print(f"  {template.name} ({len(results[-1][2]):,} rows): {results[-1][0]:.1f} s", file=sys.stderr)
    return min(results, key=lambda r: r[0])


def figures(
    data: datasets.Dataset,
    *,
    before: str | None = BEFORE,
    runs: int = 1,
    counts: tuple[int, ...] = INDICATOR_COUNTS,
) -> list[Figure]:
    """Every figure of this benchmark on a generated dataset (`before=None`: the current SQL only)."""
    catalog = load_catalog()
    day = max(data.records_by_day)
    out: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        ioc_dir = Path(tmp)
        engine = LocalEngine(data.root, ioc_dir=ioc_dir)
        _write_iocs(ioc_dir, indicators(max(counts)))
        for name in TEMPLATES:
            now = catalog[name]
            then = template_at(before, now) if before else None
            request = _request(catalog, name, day)
            label = f"{name}, 1 day, {data.records:,} records"
            if then is not None:
                reads, reads_before = athena_reads(now, request), athena_reads(then, request)
                what = f"{name}: flow-table reads in the Athena SQL"
                out.append(Figure(SECTION, what, reads, "reads", reads_before, f"at {before}"))
            seconds, read, rows = _best(engine, now, request, runs)
            ref_seconds: float | None = None
            ref_mb: float | None = None
            if then is not None:
                ref_seconds, ref_read, ref_rows = _best(engine, then, request, runs)
                ref_mb = ref_read / 1e6
                assert ref_rows == rows, f"{name}: before and after differ"
            note = f"{len(rows):,} rows; gzip on disk {data.gzip_bytes / 1e6:,.0f} MB"
            out.append(
                Figure(SECTION, f"{label}: bytes read", read / 1e6, "MB", ref_mb, f"at {before}", note)
            )
            out.append(Figure(SECTION, f"{label}: time", seconds, "s", ref_seconds, f"at {before}", note))
        hunt = catalog["hunt"]
        then_hunt = template_at(before, hunt) if before else None
        request = _request(catalog, "hunt", day)
        for count in counts:
            _write_iocs(ioc_dir, indicators(count))
            seconds, _, rows = _best(engine, hunt, request, runs)
            ref_seconds = None
            if then_hunt is not None:
                ref_seconds, _, ref_rows = _best(engine, then_hunt, request, runs)
                assert ref_rows == rows, f"hunt with {count} indicators: before and after differ"
            what = f"hunt, {count:,} indicators, {data.records:,} records: time"
            out.append(
                Figure(SECTION, what, seconds, "s", ref_seconds, f"at {before}", f"{len(rows):,} rows")
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=datasets.DEFAULT_DIR)
    parser.add_argument("--before", default=BEFORE, help="git revision of the 'before' SQL ('' for none)")
    parser.add_argument("--runs", type=int, default=1, help="runs per query; the fastest is shown")
    args = parser.parse_args()
    data = datasets.one_day(args.data_dir)
    print(f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; {data.describe()}")
    print(markdown(figures(data, before=args.before or None, runs=args.runs)))


if __name__ == "__main__":
    main()
