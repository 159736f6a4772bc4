"""The one-sentence finding: every template's sentence fills from a first row, values shown as cells."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.query.catalog import ColumnSpec, QueryTemplate, finding_fields, load_catalog
from bot.query.results import Column, Row
from bot.rendering.digest import DigestLine, digest_for
from bot.rendering.finding import finding_sentence
from bot.request import FlowRequest, Window

CATALOG = load_catalog()
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
END = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
PHONE = 110
"""Characters a finding may take on a phone with everyday values (IPv4 addresses, GB, thousands)."""


def request(template: QueryTemplate, limit: int = 10_000) -> FlowRequest:
    params = {p.name: "10.0.1.25" for p in template.params}
    return FlowRequest(
        query=template.name,
        params=params,  # type: ignore[arg-type]
        window=Window(start=START, end=END),
        limit=limit,
        text=" ".join([*template.command, *params.values()]),
    )


def columns_of(template: QueryTemplate) -> list[Column]:
    return [Column(c.name, c.type) for c in template.columns]


def plausible(spec: ColumnSpec, template: QueryTemplate) -> object:
    """A value an engine could return for the column, chosen so that its cell text is easy to spot."""
    if spec.name in {p.name for p in template.params}:
        return "10.0.1.25"  # a column named as a parameter holds its value (json_timeline's `ip`)
    if spec.type == "timestamp":
        return datetime(2026, 11, 25, 9, 7, 12, tzinfo=UTC)
    if spec.kind == "time":
        return "2026-11-25T09:07:12Z" if template.table == "vpc_flow_logs" else "2026/11/25 09:07:12"
    by_kind: dict[str, object] = {
        "ip": "198.51.100.77",
        "bytes": 4_200_000_000,
        "count": 1_204,
        "epoch": 1_795_597_632,
        "port": 443,
        "number": 6,
    }
    if spec.kind in by_kind:
        return by_kind[spec.kind]
    words = {"action": "REJECT", "direction": "INBOUND", "instanceid": "i-0123456789abcdef0"}
    return 6 if spec.type in {"integer", "bigint", "smallint"} else words.get(spec.name, "eni-0a1b2c3d")


@pytest.mark.parametrize("template", list(CATALOG), ids=[t.name for t in CATALOG])
def test_every_templates_finding_fills_from_a_first_row(template: QueryTemplate) -> None:
    row = tuple(plausible(c, template) for c in template.columns)
    text = finding_sentence(template, columns_of(template), [row], 12, request(template))
    assert "{" not in text and "}" not in text and "·" not in text, text
    assert len(text) <= PHONE, text
    kinds = {c.name: c.kind for c in template.columns}
    for field in finding_fields(template.finding):
        shown = {"bytes": "4.2 GB", "count": "1,204", "time": "11-25 09:07:12", "epoch": "11-25 09:07:12"}
        if field == "rows":
            assert "12" in text
        elif field in kinds and kinds[field] in shown:
            assert shown[kinds[field]] in text, (field, text)
        elif field in {p.name for p in template.params}:
            assert "10.0.1.25" in text


def test_the_ratio_finding_reads_as_the_issue_asks() -> None:
    ratio = CATALOG["ratio"]
    row = ("10.0.1.25", "198.51.100.77", 1_204, 4_200_000_000, 3_488_372, "2026/11/25 08:01:00", None)
    assert (
        finding_sentence(ratio, columns_of(ratio), [row], 12, request(ratio))
        == "10.0.1.25 sent 4.2 GB to 198.51.100.77 over 1,204 flows (largest of 12 pairs)"
    )


def test_a_query_stopped_at_its_limit_says_there_may_be_more() -> None:
    talkers = CATALOG["talkers"]
    row = ("10.0.1.25", 1_500, 1_000, 500, 3)
    text = finding_sentence(talkers, columns_of(talkers), [row], 50, request(talkers, limit=50))
    assert text == "10.0.1.25 is the top talker of 50+ addresses: 1.5 KB (1.0 KB sent, 500 B received)"
    below = finding_sentence(talkers, columns_of(talkers), [row], 49, request(talkers, limit=50))
    assert "of 49 addresses" in below


def test_an_aggregate_states_its_number_whatever_the_limit() -> None:
    count = CATALOG["count"]
    assert not count.uses_limit
    text = finding_sentence(count, columns_of(count), [(1_234_567,)], 1, request(count, limit=1))
    assert text == "1,234,567 flow-log records in this window"


def test_nulls_read_as_the_table_shows_them() -> None:
    talkers = CATALOG["talkers"]
    row = ("10.0.1.25", None, None, None, 0)
    text = finding_sentence(talkers, columns_of(talkers), [row], 1, request(talkers))
    assert text == "10.0.1.25 is the top talker of 1 addresses: · (· sent, · received)"
    timeline = CATALOG["timeline"]
    nulls: Row = (None,) * len(timeline.columns)
    assert "· to · port ·" in finding_sentence(timeline, columns_of(timeline), [nulls], 1, request(timeline))


def test_a_row_shorter_than_its_columns_reads_as_nulls() -> None:
    pairs = CATALOG["pairs"]
    text = finding_sentence(pairs, columns_of(pairs), [("10.0.1.25",)], 1, request(pairs))
    assert text == "10.0.1.25 sent · to · over · flows (largest of 1 pairs)"


@pytest.mark.parametrize("name", ["ratio", "count", "hunt"])
def test_an_empty_answer_says_to_widen_the_window(name: str) -> None:
    template = CATALOG[name]
    req = request(template)
    digest: list[DigestLine] | None = [] if name == "hunt" else None
    text = finding_sentence(template, columns_of(template), [], 0, req, digest)
    assert text == (
        f"No records matched `{req.text}` in 2026-11-25 08:00 → 2026-11-25 14:00 UTC — try a wider window."
    )


def _digest(rows: list[Row]) -> list[DigestLine]:
    columns = [
        Column(n, "varchar")
        for n in ("direction", "connecting_ip", "indicator", "numbytes", "starttime", "endtime")
    ]
    digest = digest_for(columns)
    assert digest is not None
    digest.feed(rows)
    return digest.top()


def test_a_hunt_speaks_of_its_biggest_host_and_indicator() -> None:
    t0 = datetime(2026, 11, 25, 9, 7, tzinfo=UTC)
    lines = _digest(
        [
            ("INBOUND", "10.0.1.25", "198.51.100.77", 4_000_000_000, t0, t0),
            ("INBOUND", "10.0.1.25", "198.51.100.77", 200_000_000, t0, t0),
            ("OUTBOUND", "10.0.1.25", "198.51.100.77", 500, t0, t0),
            ("INBOUND", "10.0.2.40", "192.0.2.0/24", 700, t0, t0),
            ("OUTBOUND", "10.0.3.20", "203.0.113.9", 900, t0, t0),
        ]
    )
    hunt = CATALOG["hunt"]
    text = finding_sentence(hunt, columns_of(hunt), [], 5, request(hunt), lines)
    assert text == (
        "10.0.1.25 sent 4.2 GB to indicator 198.51.100.77 over 2 flows (3 hosts, 3 indicators matched)"
    )


def test_a_hunt_says_when_the_indicator_was_the_sender() -> None:
    t0 = datetime(2026, 11, 25, 9, 7, tzinfo=UTC)
    lines = _digest([("OUTBOUND", "10.0.1.25", "203.0.113.9", 1_000, t0, t0)])
    hunt = CATALOG["hunt"]
    text = finding_sentence(hunt, columns_of(hunt), [], 1, request(hunt), lines)
    assert text == "Indicator 203.0.113.9 sent 1.0 KB to 10.0.1.25 over 1 flow (1 host, 1 indicator matched)"
