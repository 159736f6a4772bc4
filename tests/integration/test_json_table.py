"""The playbook's JSON table on the local engine, against answers computed with the json module."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.flowlog_format import JSON_FIELDS
from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.local import LocalEngine
from bot.request import FlowRequest
from bot.samples.json_logs import write_json_sample
from bot.settings import Settings
from bot.words import CommandError
from tests.conftest import SAMPLE_END

CATALOG = load_catalog()
JSON_SETTINGS = Settings(table_kind="json")
DAY = timedelta(days=1)
WINDOWS = [(SAMPLE_END - 3 * DAY, SAMPLE_END), (SAMPLE_END - DAY - timedelta(hours=1), SAMPLE_END - DAY)]
COLUMNS = [name for name, _ in JSON_FIELDS]


@pytest.fixture(scope="module")
def json_root(sample_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("json")
    (root / "AWSLogs").symlink_to(sample_root / "AWSLogs")
    write_json_sample(root)
    with gzip.open(root / "vpc_flow_logs" / "zz_malformed.json.gz", "wt") as handle:
        handle.write(
            '{"ip": "203.0.113.99", "start_time": "2026-11-19T12:00:00Z", "local_port": "22"}\n{not json\n'
        )
    return root


@pytest.fixture(scope="module")
def records(json_root: Path) -> list[dict[str, Any]]:
    """Every line as the OpenX SerDe sees it: missing keys NULL, a malformed line a row of NULLs."""
    out = []
    for path in sorted((json_root / "vpc_flow_logs").glob("*.json.gz")):
        with gzip.open(path, "rt") as handle:
            for line in handle:
                try:
                    data = json.loads(line)
                except json.JSONDecodeError:
                    data = {}
                out.append({c: data.get(c) for c in COLUMNS})
    for r in out:
        if isinstance(r["local_port"], str):
            r["local_port"] = int(r["local_port"])
    return out


def run(root: Path, text: str) -> list[tuple[Any, ...]]:
    request = parse_command(text, CATALOG, JSON_SETTINGS, SAMPLE_END)
    assert isinstance(request, FlowRequest)
    assert CATALOG[request.query].table == "vpc_flow_logs"
    result = LocalEngine(root).run(CATALOG[request.query], request)
    return [row for batch in result.batches() for row in batch]


def window(start: Any, end: Any) -> str:
    return f"--from {start:%Y-%m-%dT%H:%M:%S}Z --to {end:%Y-%m-%dT%H:%M:%S}Z"


def in_window(r: dict[str, Any], start: Any, end: Any) -> bool:
    t = r["start_time"]
    return t is not None and f"{start:%Y-%m-%dT%H:%M:%S}Z" <= t < f"{end:%Y-%m-%dT%H:%M:%S}Z"


@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_count(json_root: Path, records: list[dict[str, Any]], start: Any, end: Any) -> None:
    assert run(json_root, f"count {window(start, end)}") == [
        (sum(in_window(r, start, end) for r in records),)
    ]


@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_top(json_root: Path, records: list[dict[str, Any]], start: Any, end: Any) -> None:
    counts = Counter(r["ip"] for r in records if in_window(r, start, end))
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))[:100]
    assert run(json_root, f"top {window(start, end)}") == expected


@pytest.mark.parametrize("ip", ["203.0.113.66", "198.51.100.23", "203.0.113.99"])
def test_timeline(json_root: Path, records: list[dict[str, Any]], ip: str) -> None:
    start, end = WINDOWS[0]
    hits = [r for r in records if r["ip"] == ip and in_window(r, start, end)]
    assert hits, "the planted incidents show in the JSON table too"

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            (r[c] is None, r[c] or "") for c in ("start_time", "end_time", "interface_local_ips")
        ) + tuple((r[c] is None, r[c] or 0) for c in ("local_port", "remote_port"))

    rows = run(json_root, f"timeline {ip} --limit 100000 {window(start, end)}")
    assert [key(dict(zip(COLUMNS, row, strict=True))) for row in rows] == sorted(key(r) for r in hits)
    assert sorted(rows, key=repr) == sorted((tuple(r[c] for c in COLUMNS) for r in hits), key=repr)


def test_sample_rows_come_from_the_window(json_root: Path, records: list[dict[str, Any]]) -> None:
    start, end = WINDOWS[1]
    pool = {tuple(r[c] for c in COLUMNS) for r in records if in_window(r, start, end)}
    rows = run(json_root, f"sample --limit 200 {window(start, end)}")
    assert len(rows) == min(200, len(pool)) and set(rows) <= pool


@pytest.mark.parametrize("template", [t.name for t in CATALOG.for_table("vpc_flow_logs")])
def test_types_are_athenas(json_root: Path, template: str) -> None:
    t = CATALOG[template]
    text = " ".join([*t.command, *("203.0.113.66" for _ in t.params), window(*WINDOWS[0])])
    request = parse_command(text, CATALOG, JSON_SETTINGS, SAMPLE_END)
    assert isinstance(request, FlowRequest)
    result = LocalEngine(json_root).run(t, request)
    assert [(c.name, c.type) for c in result.columns] == [(c.name, c.type) for c in t.columns]


def test_filters_the_json_table_cannot_apply_are_refused_not_ignored() -> None:
    with pytest.raises(CommandError, match="cannot filter by --account"):
        parse_command("count --account 012345678901", CATALOG, JSON_SETTINGS, SAMPLE_END)


def test_vpcflow_commands_are_refused_with_the_reason() -> None:
    with pytest.raises(CommandError, match="reads the `vpcflow` table"):
        parse_command("ratio 10.0.1.25", CATALOG, JSON_SETTINGS, SAMPLE_END)
