"""Phone summary and CSV: humanised, bounded, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.results import Column, ScanStats
from bot.rendering.cells import cell, human_bytes
from bot.rendering.csv_out import safe_cell, write_csv
from bot.rendering.digest import digest_for
from bot.rendering.summary import Summary
from bot.request import FlowRequest
from bot.settings import Settings

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 KB"), (1_234_567, "1.2 MB"), (5 * 10**12, "5.0 TB")],
)
def test_human_bytes(value: int, text: str) -> None:
    assert human_bytes(value) == text


def test_cells_by_kind() -> None:
    assert cell(1795478400, "epoch") == "11-24 00:00:00"
    assert cell("2026/11/24 13:05:09", "time") == "11-24 13:05:09"
    assert cell("2026-11-24T13:05:09Z", "time") == "11-24 13:05:09"
    assert cell(12345, "count") == "12,345"
    assert cell(None, "bytes") == "·"
    assert len(cell("x" * 100, "text")) == 39


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        ("-", "-"),
        ("10.0.1.25", "10.0.1.25"),
        (42, 42),
        (None, ""),
    ],
)
def test_csv_cells_are_neutralised(value: object, written: object) -> None:
    assert safe_cell(value) == written


def test_csv_streams_every_batch_and_passes_batches_on() -> None:
    out = io.StringIO()
    batches = [[("a", 1), ("=b", None)], [("c", 3)]]
    passed = list(write_csv(out, [Column("s", "varchar"), Column("n", "bigint")], iter(batches)))
    assert passed == batches
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["s", "n"], ["a", "1"], ["'=b", ""], ["c", "3"]]


def _summary(rows: int, head: int) -> Summary:
    catalog = load_catalog()
    request = parse_command("ratio 10.0.1.25 --last 6h", catalog, Settings(), NOW)
    assert isinstance(request, FlowRequest)
    template = catalog["ratio"]
    columns = [Column(c.name, c.type) for c in template.columns]
    row = (
        "10.0.1.25",
        "203.0.113.66",
        4,
        3_000_000_000,
        750_000_000,
        "2026/11/25 08:01:00",
        "2026/11/25 13:59:00",
    )
    stats = ScanStats(rows=rows, files_scanned=36, bytes_scanned=2_500_000, elapsed_ms=420)
    return Summary(request, template, columns, [row] * head, stats, "local")


def test_summary_is_phone_sized_and_says_what_it_scanned() -> None:
    summary = _summary(rows=25, head=10)
    table = summary.table().splitlines()
    assert table[0].split() == ["src", "dst", "bytes", "bytes/rec"]
    assert len(table) == 11
    assert all(len(line) <= 60 for line in table)
    assert "3.0 GB" in table[1] and "750.0 MB" in table[1]
    scope = summary.scope_line()
    assert "2026-11-25 08:00 → 2026-11-25 14:00 UTC" in scope
    assert "25 rows (first 10 shown, all in the CSV)" in scope
    assert "scanned 2.5 MB in 36 files" in scope
    assert "0.4 s" in scope
    blocks = summary.blocks(asked_by="U1")
    assert [b["type"] for b in blocks] == ["section", "context", "context", "table"]
    assert (
        blocks[0]["text"]["text"]
        == "*10.0.1.25 sent 3.0 GB to 203.0.113.66 over 4 flows (largest of 25 pairs)*"
    )
    assert "<@U1>" in blocks[1]["elements"][0]["text"]
    assert [c["text"] for c in blocks[3]["rows"][0]] == ["src", "dst", "bytes", "bytes/rec"]
    assert len(blocks[3]["rows"]) == 11
    plain = summary.blocks(asked_by="U1", rich_table=False)  # when Slack refuses the table block
    assert [b["type"] for b in plain] == ["section", "context", "section", "context"]
    assert plain[2]["text"]["text"].startswith("```")
    assert table[1] in plain[2]["text"]["text"]


def test_athena_answers_state_their_cost() -> None:
    summary = _summary(rows=1, head=1)
    summary.stats.cost_usd, summary.stats.files_scanned = 0.004, None
    assert "scanned 2.5 MB (< $0.01)" in summary.scope_line()
    summary.stats.cost_usd = 12.5
    assert "($12.50)" in summary.scope_line()


def test_empty_answer_says_why() -> None:
    summary = _summary(rows=0, head=0)
    assert summary.table() == ""
    assert "No records matched." in summary.text()


def test_a_hunt_summary_leads_with_hosts_and_indicators() -> None:
    columns = [
        Column(n, "varchar")
        for n in ("direction", "connecting_ip", "indicator", "numbytes", "starttime", "endtime")
    ]
    t0 = datetime(2026, 11, 19, 4, 7, tzinfo=UTC)
    rows = [
        ("INBOUND", "10.0.1.25", "203.0.113.66", 9_000_000, t0, t0.replace(minute=9)),
        (
            "INBOUND",
            "10.0.1.25",
            "203.0.113.66",
            1_000_000,
            t0.replace(hour=8),
            t0.replace(hour=8, minute=10),
        ),
        ("OUTBOUND", "10.0.1.25", "203.0.113.66", 500, t0, t0),
        ("INBOUND", "10.0.2.40", "192.0.2.0/24", 700, t0, t0),
    ]
    digest = digest_for(columns)
    assert digest is not None
    digest.feed(rows[:2])
    digest.feed(rows[2:])
    lines = digest.top()
    assert [(d.host, d.indicator, d.to_indicator, d.records, d.bytes) for d in lines] == [
        ("10.0.1.25", "203.0.113.66", True, 2, 10_000_000),
        ("10.0.2.40", "192.0.2.0/24", True, 1, 700),
        ("10.0.1.25", "203.0.113.66", False, 1, 500),
    ]
    summary = _summary(rows=4, head=4)
    summary = Summary(summary.request, summary.template, columns, [], summary.stats, "local", lines)
    table = summary.table().splitlines()
    assert table[1].split() == ["10.0.1.25", "→", "203.0.113.66", "10.0", "MB", "11-19", "04:07-08:10"]
    assert "← 203.0.113.66" in table[3] and "INBOUND" in table[-1]
    assert "4 flows in 3 host/indicator pairs" in summary.scope_line()
    assert digest_for([Column("sourceaddress", "varchar")]) is None
