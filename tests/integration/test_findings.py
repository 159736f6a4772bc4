"""The one-sentence finding of real answers: the local engine runs the templates on the sample flow logs,
and each sentence must equal one written here from the oracle's rows (tests/flowlog_oracle.py), with
bytes and counts formatted by the small functions below, not by `bot/`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.local import LocalEngine
from bot.rendering.finding import finding_sentence
from bot.request import FlowRequest
from bot.samples.flow_logs import EXFIL_HOST, EXFIL_PEER
from bot.settings import Settings
from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import Row, expected_count, expected_ratio, expected_talkers, expected_top, scope_of

CATALOG = load_catalog()
SETTINGS = Settings(max_limit=1_000_000)
DAY = timedelta(days=1)
WINDOWS = {
    "three days": (SAMPLE_END - 3 * DAY, SAMPLE_END),
    "a day": (SAMPLE_END - DAY, SAMPLE_END),
    "an hour across midnight": (
        SAMPLE_END - DAY - timedelta(minutes=30),
        SAMPLE_END - DAY + timedelta(minutes=30),
    ),
}
UNITS = ("KB", "MB", "GB", "TB", "PB")


def human(value: int | None) -> str:
    """The summary's byte rule: decimal units; whole bytes below 1,000, else one decimal of the largest
    unit that keeps the number under 1,000 (PB at most); NULL is a dot."""
    if value is None:
        return "·"
    if abs(value) < 1000:
        return f"{value} B"
    for power, unit in enumerate(UNITS, start=1):
        if abs(value) < 1000 ** (power + 1) or unit == UNITS[-1]:
            return f"{value / 1000**power:.1f} {unit}"
    raise AssertionError("unreachable")


def rows_said(everything: int, limit: int) -> str:
    """How many rows a limited answer has: all of them, or the limit and a `+` when it was reached."""
    return f"{limit:,}+" if everything >= limit else f"{everything:,}"


def request(text: str, window: str) -> FlowRequest:
    start, end = WINDOWS[window]
    parsed = parse_command(
        f"{text} --from {start:%Y-%m-%dT%H:%M:%S}Z --to {end:%Y-%m-%dT%H:%M:%S}Z",
        CATALOG,
        SETTINGS,
        SAMPLE_END,
    )
    assert isinstance(parsed, FlowRequest)
    return parsed


def finding(engine: LocalEngine, req: FlowRequest) -> str:
    """The sentence as an answer would lead with it: from the first rows and the answer's row count."""
    template = CATALOG[req.query]
    result = engine.run(template, req)
    rows = [row for batch in result.batches() for row in batch]
    return finding_sentence(template, result.columns, rows[:10], result.stats.rows, req)


@pytest.fixture(scope="module")
def engine(sample_root: Path) -> LocalEngine:
    return LocalEngine(sample_root)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("limit", ["", " --limit 3"])
def test_ratio(engine: LocalEngine, oracle_rows: list[Row], window: str, limit: str) -> None:
    req = request(f"ratio {EXFIL_HOST}{limit}", window)
    pairs = expected_ratio(oracle_rows, EXFIL_HOST, **scope_of(req))
    src, dst, records, total, *_ = pairs[0]
    assert finding(engine, req) == (
        f"{src} sent {human(total)} to {dst} over {records:,} flows "
        f"(largest of {rows_said(len(pairs), req.limit)} pairs)"
    )


@pytest.mark.parametrize("window", WINDOWS)
def test_top_src(engine: LocalEngine, oracle_rows: list[Row], window: str) -> None:
    req = request("top src", window)
    sources = expected_top(oracle_rows, "src", **scope_of(req))
    address, records, total = sources[0]
    assert finding(engine, req) == (
        f"{address} sent the most flows: {records:,} ({human(total)}), "
        f"top of {rows_said(len(sources), req.limit)} sources"
    )


@pytest.mark.parametrize("window", WINDOWS)
def test_talkers(engine: LocalEngine, oracle_rows: list[Row], window: str) -> None:
    req = request("talkers", window)
    talkers = expected_talkers(oracle_rows, **scope_of(req))
    address, total, sent, received, _ = talkers[0]
    assert finding(engine, req) == (
        f"{address} is the top talker of {rows_said(len(talkers), req.limit)} addresses: "
        f"{human(total)} ({human(sent)} sent, {human(received)} received)"
    )


@pytest.mark.parametrize("window", WINDOWS)
def test_count(engine: LocalEngine, oracle_rows: list[Row], window: str) -> None:
    req = request("count", window)
    assert (
        finding(engine, req)
        == f"{expected_count(oracle_rows, **scope_of(req)):,} flow-log records in this window"
    )


def test_an_empty_answer_says_to_widen_the_window(engine: LocalEngine, oracle_rows: list[Row]) -> None:
    quiet = "192.0.2.254"
    req = request(f"ratio {quiet}", "an hour across midnight")
    assert expected_ratio(oracle_rows, quiet, **scope_of(req)) == []
    start, end = WINDOWS["an hour across midnight"]
    assert finding(engine, req) == (
        f"No records matched `{req.text}` in {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC"
        " — try a wider window."
    )


def test_the_findings_name_the_planted_exfiltration(engine: LocalEngine) -> None:
    """What a responder reads first, on the day of the incident."""
    assert finding(engine, request(f"ratio {EXFIL_HOST}", "a day")).startswith(f"{EXFIL_HOST} sent ")
    assert f" to {EXFIL_PEER} over " in finding(engine, request(f"ratio {EXFIL_HOST}", "a day"))
    assert finding(engine, request("talkers", "a day")).startswith(f"{EXFIL_HOST} is the top talker")
