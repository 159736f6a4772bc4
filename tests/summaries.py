"""A query answer to deliver, for the tests of delivery and re-delivery: `ratio 10.0.1.25 --last 6h`, its rows
written here (not computed by the engine under test)."""

from __future__ import annotations

from datetime import datetime

from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.results import Column, ScanStats
from bot.rendering.summary import Summary
from bot.request import FlowRequest
from bot.settings import Settings


def ratio_summary(now: datetime, rows: int = 3) -> Summary:
    """`rows` copies of one ratio row, as a worker would have them to post at `now`."""
    catalog = load_catalog()
    request = parse_command("ratio 10.0.1.25 --last 6h", catalog, Settings(), now)
    assert isinstance(request, FlowRequest)
    template = catalog["ratio"]
    row = ("10.0.1.25", "203.0.113.66", 4, 3_000, 750, "2026/11/25 08:01:00", "2026/11/25 13:59:00")
    stats = ScanStats(rows=rows, files_scanned=2, bytes_scanned=2_500, elapsed_ms=42)
    columns = [Column(c.name, c.type) for c in template.columns]
    return Summary(request, template, columns, [row] * rows, stats, "local")
