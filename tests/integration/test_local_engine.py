"""The local engine on real gzip'd flow logs, checked against answers computed in pure Python
(tests/flowlog_oracle.py reads the same files without DuckDB or SQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.flowlog_format import ALL_HEADERS
from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.base import ResultStream
from bot.query.engines.local import LocalEngine
from bot.request import FlowRequest
from bot.settings import Settings
from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import (
    Row,
    expected_count,
    expected_ratio,
    expected_timeline,
    expected_top,
    scope_of,
    scoped,
    timeline_key,
)

CATALOG = load_catalog()
EVERY_FIELD = " ".join(f"${{{h}}}" for h in ALL_HEADERS)
"""A format naming every field, so the parser lets every template through (v2 files give NULLs)."""
DAY = timedelta(days=1)
WINDOWS = {
    "all three days": (SAMPLE_END - 3 * DAY, SAMPLE_END),
    "last day": (SAMPLE_END - DAY, SAMPLE_END),
    "an hour across midnight": (
        SAMPLE_END - DAY - timedelta(minutes=30),
        SAMPLE_END - DAY + timedelta(minutes=30),
    ),
    "the middle day": (SAMPLE_END - 2 * DAY, SAMPLE_END - DAY),
}
SCOPES: list[dict[str, str]] = [
    {},
    {"account": "012345678901"},
    {"region": "eu-west-1"},
    {"account": "012345678901", "region": "us-east-1"},
]


def request(text: str, start: datetime, end: datetime, **scope: str) -> FlowRequest:
    options = "".join(f" --{k} {v}" for k, v in scope.items())
    parsed = parse_command(
        f"{text} --from {start:%Y-%m-%dT%H:%M:%S}Z --to {end:%Y-%m-%dT%H:%M:%S}Z{options}",
        CATALOG,
        Settings(max_limit=1_000_000, log_format=EVERY_FIELD),
        SAMPLE_END,
    )
    assert isinstance(parsed, FlowRequest)
    return parsed


def run(engine: LocalEngine, req: FlowRequest) -> tuple[ResultStream, list[tuple[Any, ...]]]:
    result = engine.run(CATALOG[req.query], req)
    rows = [row for batch in result.batches() for row in batch]
    return result, rows


@pytest.fixture(scope="module")
def engine(sample_root: Path, tmp_path_factory: pytest.TempPathFactory) -> LocalEngine:
    return LocalEngine(sample_root, ioc_dir=tmp_path_factory.mktemp("no-iocs"))


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: "+".join(s) or "everywhere")
def test_count(engine: LocalEngine, oracle_rows: list[Row], window: str, scope: dict[str, str]) -> None:
    req = request("count", *WINDOWS[window], **scope)
    _, rows = run(engine, req)
    assert rows == [(expected_count(oracle_rows, **scope_of(req)),)]


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("ip", ["10.0.1.25", "198.51.100.23", "192.0.2.77", "203.0.113.66"])
def test_ratio(engine: LocalEngine, oracle_rows: list[Row], window: str, ip: str) -> None:
    req = request(f"ratio {ip} --limit 1000000", *WINDOWS[window])
    _, rows = run(engine, req)
    assert rows == expected_ratio(oracle_rows, ip, **scope_of(req))


def test_ratio_finds_the_planted_exfiltration(engine: LocalEngine) -> None:
    _, rows = run(engine, request("ratio 10.0.1.25", *WINDOWS["last day"]))
    assert rows[0][:2] == ("10.0.1.25", "203.0.113.66")


@pytest.mark.parametrize("direction", ["src", "dst"])
@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("scope", SCOPES[:2], ids=lambda s: "+".join(s) or "everywhere")
def test_top(
    engine: LocalEngine, oracle_rows: list[Row], direction: str, window: str, scope: dict[str, str]
) -> None:
    req = request(f"top {direction} --limit 25", *WINDOWS[window], **scope)
    _, rows = run(engine, req)
    assert rows == expected_top(oracle_rows, direction, **scope_of(req), limit=25)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("ip", ["10.0.1.25", "198.51.100.23"])
def test_timeline(engine: LocalEngine, oracle_rows: list[Row], window: str, ip: str) -> None:
    req = request(f"timeline {ip} --limit 1000000", *WINDOWS[window])
    result, rows = run(engine, req)
    names = [c.name for c in result.columns]
    expected = expected_timeline(oracle_rows, ip, **scope_of(req))
    assert len(rows) == len(expected)
    as_dicts = [dict(zip(names, row, strict=True)) for row in rows]
    for got, want in zip(as_dicts, expected, strict=True):
        assert got["start_utc"] == datetime.fromtimestamp(want.starttime or 0, UTC).strftime(
            "%Y/%m/%d %H:%M:%S"
        )
        for name in names[1:]:
            assert got[name] == getattr(want, name), name
    keys = [timeline_key(r) for r in expected]
    assert keys == sorted(keys)


def test_sample_rows_are_records_of_the_window(engine: LocalEngine, oracle_rows: list[Row]) -> None:
    req = request("sample --limit 300", *WINDOWS["an hour across midnight"])
    result, rows = run(engine, req)
    in_window = scoped(oracle_rows, **scope_of(req))
    assert len(rows) == min(300, len(in_window))
    names = [c.name for c in result.columns]
    fields = names[1:]
    pool = {tuple(getattr(r, n) for n in fields) for r in in_window}
    assert all(tuple(row[1:]) in pool for row in rows)
    assert result.stats.rows == len(rows)


def test_window_edges_are_half_open(engine: LocalEngine, oracle_rows: list[Row]) -> None:
    midnight = int((SAMPLE_END - DAY).timestamp())
    at_midnight = [r for r in oracle_rows if r.starttime == midnight]
    before = [r for r in oracle_rows if r.starttime == midnight - 1]
    assert at_midnight and before, "the sample data plants records on both sides of midnight"
    one_second = timedelta(seconds=1)
    edge = SAMPLE_END - DAY
    _, [(n_at,)] = run(engine, request("count", edge, edge + one_second))
    _, [(n_before,)] = run(engine, request("count", edge - one_second, edge))
    assert (n_at, n_before) == (len(at_midnight), len(before))


def test_records_delivered_the_next_day_are_not_lost(engine: LocalEngine, oracle_rows: list[Row]) -> None:
    start, end = WINDOWS["the middle day"]
    late = [
        r
        for r in oracle_rows
        if r.starttime is not None
        and start.timestamp() <= r.starttime < end.timestamp()
        and r.date_partition == f"{end:%Y/%m/%d}"
    ]
    assert late, "the sample data has records whose file lies in the next day's folder"
    _, [(count,)] = run(engine, request("count", start, end))
    assert count == expected_count(
        oracle_rows, int(start.timestamp()), int(end.timestamp()), f"{start:%Y/%m/%d}", f"{end:%Y/%m/%d}"
    )


def test_a_one_day_window_opens_only_that_day_and_the_margin(engine: LocalEngine, sample_root: Path) -> None:
    start, end = WINDOWS["the middle day"]
    wanted_days = {f"{start:%Y/%m/%d}", f"{end:%Y/%m/%d}"}
    on_disk = [p for p in sample_root.rglob("*.log.gz")]
    expected = [p for p in on_disk if "/".join(p.parent.parts[-3:]) in wanted_days]
    assert 0 < len(expected) < len(on_disk)
    result, _ = run(engine, request("count", start, end))
    assert result.stats.files_scanned == len(expected)
    assert result.stats.bytes_scanned == sum(p.stat().st_size for p in expected)


def test_account_and_region_prune_files(engine: LocalEngine, sample_root: Path) -> None:
    start, end = WINDOWS["all three days"]
    result, _ = run(engine, request("count", start, end, account="111122223333"))
    expected = list((sample_root / "AWSLogs" / "111122223333").rglob("*.log.gz"))
    assert result.stats.files_scanned == len(expected) > 0


def test_a_window_with_no_files_answers_empty(engine: LocalEngine) -> None:
    start = SAMPLE_END + 30 * DAY
    result, rows = run(engine, request("ratio 10.0.1.25", start, start + DAY))
    assert rows == [] and result.stats.files_scanned == 0
    _, count = run(engine, request("count", start, start + DAY))
    assert count == [(0,)]


@pytest.mark.parametrize("template", [t.name for t in CATALOG.for_table("vpcflow")])
def test_types_are_athenas(engine: LocalEngine, template: str) -> None:
    t = CATALOG[template]
    text = " ".join([*t.command, *("10.0.1.25" for _ in t.params)])
    result, _ = run(engine, request(text, *WINDOWS["last day"]))
    assert [(c.name, c.type) for c in result.columns] == [(c.name, c.type) for c in t.columns]


def test_account_ids_keep_their_leading_zero(engine: LocalEngine) -> None:
    _, rows = run(engine, request("sample --limit 50", *WINDOWS["last day"], account="012345678901"))
    assert rows and {row[1] for row in rows} == {"012345678901"}
