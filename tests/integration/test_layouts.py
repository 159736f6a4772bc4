"""Every flow-log layout (text or Parquet, plain or Hive prefixes, daily or hourly folders) answers the
playbook's and the console's queries as Athena would: the local engine on real files of that layout, checked
against the pure-Python oracle (tests/flowlog_oracle.py).

Text layouts are read by the oracle from their own files (their keys parsed independently of bot/). The
oracle reads no Parquet, so a Parquet layout's answers are checked against the oracle's reading of the text
files of the same traffic (same seed, scale, end and format); `test_parquet_files_hold_the_text_records`
checks that the two hold the same records, read apart from the engine's SQL.

The console's 16 queries run on every layout over the hour across midnight (a day and an hour boundary, the
partition edges); the playbook's over that hour and the last day. Every query over a day on the default
layout is in tests/integration/test_console_queries.py and test_local_engine.py.
"""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bot.flowlog_layouts import LAYOUTS
from bot.query.engines.local import LocalEngine
from bot.samples.flow_logs import BRUTE_FORCE_SOURCE, EXFIL_HOST, EXFIL_PEER, MINING_POOL, V5_FORMAT, generate
from bot.settings import Settings
from bot.words import CommandError
from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import (
    Row,
    expected_count,
    expected_hunt,
    expected_ratio,
    expected_timeline,
    expected_top,
    load_rows,
    scope_of,
)
from tests.query_cases import ALL, CATALOG, expected, request, run

V5 = Settings(log_format=V5_FORMAT, max_limit=1_000_000)
DAY = timedelta(days=1)
MIDNIGHT = SAMPLE_END - DAY
WINDOWS = {
    "the last day": (SAMPLE_END - DAY, SAMPLE_END, {}),
    "an hour across midnight, us-east-1": (
        MIDNIGHT - timedelta(minutes=30),
        MIDNIGHT + timedelta(minutes=30),
        {"region": "us-east-1"},
    ),
}
PLAYBOOK = [
    "count",
    f"ratio {EXFIL_HOST}",
    f"ratio {BRUTE_FORCE_SOURCE}",
    "top src",
    "top dst",
    f"timeline {EXFIL_HOST}",
    "hunt",
]
INDICATORS = [EXFIL_PEER, "198.51.100.0/24", MINING_POOL]


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The session's sample traffic (v5 format) written once in every layout."""
    out = {}
    for name in LAYOUTS:
        root = tmp_path_factory.mktemp(f"layout-{name}")
        generate(root, end=SAMPLE_END, days=3, seed=7, scale=0.25, log_format=V5_FORMAT, layout=name)
        out[name] = root
    return out


@pytest.fixture(scope="module")
def text_rows(roots: dict[str, Path]) -> dict[str, list[Row]]:
    """The oracle's rows of each text layout, read from that layout's own files."""
    return {name: load_rows(root) for name, root in roots.items() if LAYOUTS[name].file_format == "text"}


@pytest.fixture(scope="module")
def iocs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An IOC store holding the planted incidents' peers, one submission (the IOC table's CSV layout)."""
    store = tmp_path_factory.mktemp("layout-iocs")
    (store / "table").mkdir()
    (store / "table" / "planted.csv").write_text("".join(f'"{ip}","planted"\n' for ip in INDICATORS))
    return store


NOT_IN_SECURITY_LAKE = {"pktsrcaddr", "pktdstaddr", "type", "trafficpath", "sublocationtype", "sublocationid"}
"""Fields Security Lake's OCSF records do not carry (bot/query/ocsf.py); the templates reading them are
refused on that layout."""


def _settings(layout: str) -> Settings:
    """The v5 settings, with the layout (Security Lake's decides which fields a template may read)."""
    return Settings(log_format=V5_FORMAT, max_limit=1_000_000, layout=layout)


def _oracle(name: str, text_rows: dict[str, list[Row]]) -> list[Row]:
    return text_rows[name] if name in text_rows else text_rows["text-daily"]


def _playbook_expected(rows: list[Row], text: str, req: Any) -> list[tuple[Any, ...]]:
    scope = scope_of(req)
    verb, _, ip = text.partition(" ")
    if verb == "count":
        return [(expected_count(rows, **scope),)]
    if verb == "ratio":
        return expected_ratio(rows, ip, **scope)
    if verb == "top":
        return expected_top(rows, ip, **scope, limit=req.limit)
    if verb == "hunt":
        b = req.bindings()
        return expected_hunt(
            rows,
            INDICATORS,
            int(b["from_ts"]),
            int(b["to_ts"]),
            str(b["first_day"]),
            str(b["last_day"]),
            account=req.account,
            region=req.region,
        )
    raise AssertionError(f"no oracle for {text}")


@pytest.mark.parametrize("window", list(WINDOWS)[1:])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_console_queries_on_every_layout(
    roots: dict[str, Path], text_rows: dict[str, list[Row]], layout: str, window: str
) -> None:
    engine = LocalEngine(roots[layout], layout=LAYOUTS[layout])
    rows = _oracle(layout, text_rows)
    start, end, scope = WINDOWS[window]
    settings = _settings(layout)
    for template, text in ALL:
        if CATALOG[template].fields_used & NOT_IN_SECURITY_LAKE and layout == "security-lake":
            with pytest.raises(CommandError, match="Security Lake's OCSF records do not carry"):
                request(f"{text} --limit 1000000", settings, start, end, **scope)
            continue
        req = request(f"{text} --limit 1000000", settings, start, end, **scope)
        assert req.query == template
        assert run(engine, req) == expected(rows, req), text


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_playbook_queries_on_every_layout(
    roots: dict[str, Path], text_rows: dict[str, list[Row]], iocs: Path, layout: str, window: str
) -> None:
    engine = LocalEngine(roots[layout], layout=LAYOUTS[layout], ioc_dir=iocs)
    rows = _oracle(layout, text_rows)
    start, end, scope = WINDOWS[window]
    for text in PLAYBOOK:
        req = request(f"{text} --limit 1000000", _settings(layout), start, end, **scope)
        got = run(engine, req)
        if text.startswith("timeline"):
            names = [c.name for c in CATALOG["timeline"].columns]
            want = expected_timeline(rows, text.split()[1], **scope_of(req))
            assert [
                (
                    datetime.fromtimestamp(w.starttime or 0, UTC).strftime("%Y/%m/%d %H:%M:%S"),
                    *(getattr(w, n) for n in names[1:]),
                )
                for w in want
            ] == got, text
            continue
        assert got == _playbook_expected(rows, text, req), text
    assert rows, "the oracle read records"


def test_the_exfiltration_shows_in_every_layout(roots: dict[str, Path]) -> None:
    """The planted incident tops its ratio list whatever the layout (a smoke test a reader can follow)."""
    for name, root in roots.items():
        req = request(f"ratio {EXFIL_HOST}", V5, SAMPLE_END - DAY, SAMPLE_END)
        top = run(LocalEngine(root, layout=LAYOUTS[name]), req)[0]
        assert top[:2] == (EXFIL_HOST, EXFIL_PEER), name


_FOLDER = re.compile(
    r"/(?:year=|eventDay=)?(\d{4})/?(?:month=)?(\d{2})/?(?:day=)?(\d{2})(?:/(?:hour=)?(\d{2}))?$"
)
"""A delivery folder's day and hour, plain (`2026/11/19/05`), Hive (`year=2026/.../hour=05`) or Security
Lake's event day (`eventDay=20261119`)."""


def test_a_layout_opens_only_the_windows_partitions(roots: dict[str, Path]) -> None:
    """An hour's question opens the files of that hour and the next (the delivery margin) in an hourly
    layout, and of that day and the next in a daily one (Security Lake's: event days)."""
    start = MIDNIGHT + timedelta(hours=5)
    req = request("count", V5, start, start + timedelta(hours=1))
    hours = {(start + timedelta(hours=h)).strftime("%Y%m%d%H") for h in (0, 1)}
    days = {(start + timedelta(days=d)).strftime("%Y%m%d") for d in (0, 1)}
    for name, layout in LAYOUTS.items():
        result = LocalEngine(roots[name], layout=layout).run(CATALOG["count"], req)
        list(result.batches())
        wanted = 0
        for path in roots[name].rglob(f"*{layout.suffix}"):
            match = _FOLDER.search(path.parent.as_posix())
            assert match is not None, path
            y, m, d, h = match.groups()
            assert (h is not None) == layout.hourly, path
            wanted += f"{y}{m}{d}{h}" in hours if layout.hourly else f"{y}{m}{d}" in days
        assert 0 < result.stats.files_scanned == wanted, name  # type: ignore[operator]
        opened = [p for p in roots[name].rglob(f"*{layout.suffix}") if _FOLDER.search(p.parent.as_posix())]
        if layout.file_format == "text":  # text is read whole
            assert result.stats.bytes_scanned == sum(
                p.stat().st_size for p in opened if _in_scope(p, layout.hourly, hours, days)
            ), name
        else:  # columnar: only the chunks of the columns `count` reads, never nothing
            assert (
                0
                < result.stats.bytes_scanned
                < sum(p.stat().st_size for p in opened if _in_scope(p, layout.hourly, hours, days))
            ), name


def _in_scope(path: Path, hourly: bool, hours: set[str], days: set[str]) -> bool:
    match = _FOLDER.search(path.parent.as_posix())
    assert match is not None
    y, m, d, h = match.groups()
    return f"{y}{m}{d}{h}" in hours if hourly else f"{y}{m}{d}" in days


NUMERIC = {
    "version",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "tcp-flags",
    "traffic-path",
}
"""The fields AWS's Parquet DDL types as numbers (https://docs.aws.amazon.com/athena/latest/ug/
vpc-flow-logs-parquet.html); every other field is a string."""


def test_parquet_files_hold_the_text_records(roots: dict[str, Path]) -> None:
    """Read apart from the engine: every Parquet file's rows, field by field, are the text file's of the
    same delivery (a numeric `-` is NULL, a string `-` stays `-`), its columns named as AWS names them."""
    text_root, parquet_root = roots["text-daily"], roots["parquet-hive-hourly"]
    text_files = {p.name.rsplit("_", 1)[0]: p for p in text_root.rglob("*.log.gz")}
    parquet_files = {p.name.rsplit("_", 1)[0]: p for p in parquet_root.rglob("*.log.parquet")}
    assert text_files.keys() == parquet_files.keys()
    con = duckdb.connect()
    for key in sorted(text_files)[::97]:  # a spread of deliveries
        lines = gzip.decompress(text_files[key].read_bytes()).decode().splitlines()
        headers = lines[0].split()
        got = con.execute(
            "SELECT * FROM read_parquet(?, hive_partitioning = false)", [str(parquet_files[key])]
        ).fetchall()
        assert [d[0] for d in con.description or []] == [h.replace("-", "_") for h in headers]
        want = [
            tuple(
                (None if value == "-" else int(value)) if header in NUMERIC else value
                for header, value in zip(headers, line.split(" "), strict=True)
            )
            for line in lines[1:]
        ]
        assert got == want, key
