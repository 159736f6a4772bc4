"""Transit Gateway flow logs as a source: the local engine on generated gzip'd TGW flow logs (default TGW
format, FLOWBOT_LOG_FORMAT set to it) answers the `tgw` templates and the VPC templates a TGW format can
answer exactly as the pure-Python oracle (tests/flowlog_oracle.py) does; the planted incidents top their
lists; templates needing fields a TGW format lacks are refused, naming them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.flowlog_format import COLUMN_HEADERS, TGW_DEFAULT_FORMAT, format_columns, parse_log_format
from bot.parse.command import parse_command
from bot.query.catalog import LOGICAL_TABLE
from bot.query.engines.local import LocalEngine
from bot.request import FlowRequest
from bot.samples.flow_logs import MAIN_ACCOUNT, SECOND_ACCOUNT, V5_FORMAT
from bot.samples.tgw_logs import (
    BLACKHOLE_DESTINATION,
    BLACKHOLE_SOURCE,
    DROP_ATTACHMENT,
    EU_WEST_1,
    LATERAL_ATTACHMENTS,
    LATERAL_PEER,
    LATERAL_SOURCE,
    MAIN,
    NO_ROUTE_DESTINATION,
    NO_ROUTE_SOURCE,
    SECOND,
    TGW_INCIDENTS,
    US_EAST_1,
    generate_tgw,
)
from bot.settings import Settings
from bot.words import CommandError
from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import (
    TGW_ATTACHMENTS_COLUMNS,
    TGW_DROPS_COLUMNS,
    TGW_HUNT_COLUMNS,
    TGW_RECORD_COLUMNS,
    TGW_VPCS_COLUMNS,
    Row,
    expected_count,
    expected_hunt,
    expected_ratio,
    expected_tgw_attachments,
    expected_tgw_drops,
    expected_tgw_timeline,
    expected_tgw_vpcs,
    expected_top,
    load_rows,
    scope_of,
)
from tests.integration.test_hunt import write_iocs
from tests.query_cases import CATALOG, run
from tests.query_cases import expected as expected_console
from tests.query_cases import request as request_with

TGW = Settings(log_format=TGW_DEFAULT_FORMAT, max_limit=1_000_000)
TGW_COLUMNS = format_columns(TGW_DEFAULT_FORMAT)
DAY = timedelta(days=1)
MIDNIGHT = SAMPLE_END - DAY
WINDOWS: dict[str, tuple[datetime, datetime, dict[str, str]]] = {
    "the last day": (SAMPLE_END - DAY, SAMPLE_END, {}),
    "all three days, us-east-1": (SAMPLE_END - 3 * DAY, SAMPLE_END, {"region": US_EAST_1}),
    "an hour across midnight": (MIDNIGHT - timedelta(minutes=30), MIDNIGHT + timedelta(minutes=30), {}),
    "the middle day, main account in eu-west-1": (
        SAMPLE_END - 2 * DAY,
        SAMPLE_END - DAY,
        {"account": MAIN_ACCOUNT, "region": EU_WEST_1},
    ),
    "the second account (no files: the owner's folder holds them)": (
        SAMPLE_END - 3 * DAY,
        SAMPLE_END,
        {"account": SECOND_ACCOUNT},
    ),
}
TEXTS = [
    "tgw attachments",
    "tgw vpcs",
    "tgw drops",
    f"tgw timeline {LATERAL_SOURCE}",
    f"tgw timeline {BLACKHOLE_SOURCE}",
    "count",
    "top src",
    "top dst",
    f"ratio {LATERAL_SOURCE}",
    f"ratio {LATERAL_PEER}",
    "talkers",
    "pairs",
    "admin",
    "bytes ipv4",
    f"tcp {LATERAL_SOURCE}",
]
"""What runs on TGW logs: the `tgw` templates and the VPC templates whose fields a TGW format has."""
HUNT_INDICATORS = [LATERAL_PEER, "10.3.0.0/16", "192.168.10.0/24"]
"""The lateral transfer's peer, the blackholed VPC's range and the office's range (behind the VPN)."""


@pytest.fixture(scope="module")
def tgw_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tgw-flowlogs")
    generate_tgw(root, end=SAMPLE_END, days=3, seed=7, scale=0.25)
    return root


@pytest.fixture(scope="module")
def tgw_rows(tgw_root: Path) -> list[Row]:
    return load_rows(tgw_root)


@pytest.fixture(scope="module")
def engine(tgw_root: Path, tmp_path_factory: pytest.TempPathFactory) -> LocalEngine:
    iocs = write_iocs(tmp_path_factory.mktemp("tgw-iocs"), [HUNT_INDICATORS[:1], *HUNT_INDICATORS[1:]])
    return LocalEngine(tgw_root, log_format=parse_log_format(TGW_DEFAULT_FORMAT), ioc_dir=iocs)


def request(text: str, start: datetime, end: datetime, **scope: str) -> FlowRequest:
    """The command as a transit gateway's Flowbot parses it."""
    return request_with(text, TGW, start, end, **scope)


def expected(rows: list[Row], req: FlowRequest) -> list[Any]:
    """The oracle's answer to a request (the limit applied as the template applies it)."""
    scope = scope_of(req)
    ip = str(req.params["ip"]) if "ip" in req.params else ""
    limit = req.limit if CATALOG[req.query].uses_limit else None
    if req.query == "tgw_attachments":
        return expected_tgw_attachments(rows, limit, **scope)
    if req.query == "tgw_vpcs":
        return expected_tgw_vpcs(rows, limit, **scope)
    if req.query == "tgw_drops":
        return expected_tgw_drops(rows, limit, **scope)
    if req.query == "tgw_timeline":
        return expected_tgw_timeline(rows, ip, limit, **scope)
    if req.query == "tgw_hunt":
        return expected_hunt(rows, HUNT_INDICATORS, **scope, tgw=True)[:limit]
    if req.query == "count":
        return [(expected_count(rows, **scope),)]
    if req.query in ("top_src", "top_dst"):
        return expected_top(rows, req.query.removeprefix("top_"), **scope, limit=limit)
    if req.query == "ratio":
        return expected_ratio(rows, ip, **scope)[:limit]
    return expected_console(rows, req)


# --------------------------------------------------------------------------------------------------
# Every answer is the oracle's


def test_the_oracle_reads_the_tgw_fields(tgw_rows: list[Row]) -> None:
    ok = [r for r in tgw_rows if r.logstatus == "OK"]
    assert ok and all(r.interfaceid is None and r.action is None for r in tgw_rows)  # no such fields
    assert {r.resourcetype for r in tgw_rows} == {"TransitGateway"}
    assert {r.flowdirection for r in ok} == {"ingress", "egress"}
    assert {r.tgwattachmentid for r in ok} >= set(LATERAL_ATTACHMENTS)
    skipped = [r for r in tgw_rows if r.logstatus == "SKIPDATA"]
    assert skipped and all(r.numbytes is None and r.packetslostblackhole is None for r in skipped)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("text", [*TEXTS, "tgw hunt"])
def test_every_query_answers_as_the_oracle(
    engine: LocalEngine, tgw_rows: list[Row], text: str, window: str
) -> None:
    start, end, scope = WINDOWS[window]
    req = request(f"{text} --limit 1000000", start, end, **scope)
    assert run(engine, req) == expected(tgw_rows, req)


@pytest.mark.parametrize("text", [*TEXTS, "tgw hunt"])
def test_default_limits(engine: LocalEngine, tgw_rows: list[Row], text: str) -> None:
    start, end, _ = WINDOWS["all three days, us-east-1"]
    req = request(text, start, end)
    template = CATALOG[req.query]
    if template.default_limit is not None:
        assert req.limit == template.default_limit
    got = run(engine, req)
    assert got == expected(tgw_rows, req)
    if template.uses_limit:
        assert len(got) <= req.limit


def test_the_answers_are_not_empty(engine: LocalEngine) -> None:
    """So that the comparisons above compare something: every query finds rows in the last day."""
    start, end, _ = WINDOWS["the last day"]
    for text in [*TEXTS, "tgw hunt"]:
        assert run(engine, request(text, start, end)), text


def test_the_tgw_columns_are_the_oracles() -> None:
    for name, columns in (
        ("tgw_attachments", TGW_ATTACHMENTS_COLUMNS),
        ("tgw_vpcs", TGW_VPCS_COLUMNS),
        ("tgw_drops", TGW_DROPS_COLUMNS),
        ("tgw_timeline", TGW_RECORD_COLUMNS),
        ("tgw_hunt", TGW_HUNT_COLUMNS),
    ):
        assert tuple(c.name for c in CATALOG[name].columns) == columns, name


# --------------------------------------------------------------------------------------------------
# The planted incidents top their lists


def _last_day(engine: LocalEngine, text: str) -> list[tuple[Any, ...]]:
    start, end, _ = WINDOWS["the last day"]
    return run(engine, request(text, start, end))


def test_the_lateral_transfer_tops_the_vpc_pairs(engine: LocalEngine) -> None:
    (first, second, *_) = _last_day(engine, "tgw vpcs")
    assert first[:4] == (MAIN_ACCOUNT, MAIN.vpc_id, SECOND_ACCOUNT, SECOND.vpc_id)
    assert first[4] > 10 * second[4]


def test_the_lateral_transfer_tops_the_attachments_in_and_out(engine: LocalEngine) -> None:
    rows = {r[0]: r for r in _last_day(engine, "tgw attachments")}
    top_two = list(rows)[:2]
    assert set(top_two) == set(LATERAL_ATTACHMENTS)
    source, peer = rows[MAIN.id], rows[SECOND.id]
    assert source[2] > 10 * source[3], "the main VPC's attachment mostly takes traffic in"
    assert peer[3] > 10 * peer[2], "the second account's attachment mostly sends it out"
    third = list(rows.values())[2]
    assert min(source[1], peer[1]) > 10 * third[1]


def test_the_lateral_transfer_tops_its_hosts_ratio_and_talkers(engine: LocalEngine) -> None:
    assert _last_day(engine, f"ratio {LATERAL_SOURCE}")[0][:2] == (LATERAL_SOURCE, LATERAL_PEER)
    assert _last_day(engine, "pairs")[0][:2] == (LATERAL_SOURCE, LATERAL_PEER)
    assert {r[0] for r in _last_day(engine, "talkers")[:2]} == {LATERAL_SOURCE, LATERAL_PEER}


def test_the_planted_drops_top_the_drops(engine: LocalEngine) -> None:
    first, second, *rest = _last_day(engine, "tgw drops")
    assert first[:3] == (DROP_ATTACHMENT, BLACKHOLE_SOURCE, BLACKHOLE_DESTINATION)
    assert first[3] == first[5] > 0 and first[4] == 0, "all of them at the blackhole route"
    assert second[:3] == (DROP_ATTACHMENT, NO_ROUTE_SOURCE, NO_ROUTE_DESTINATION)
    assert second[3] == second[4] > 0 and second[5] == 0, "all of them for want of a route"
    assert rest and all(r[0] != DROP_ATTACHMENT for r in rest), "the others are elsewhere, and fewer"
    assert all(r[3] < second[3] for r in rest)
    assert {"mtu", "ttl"} == {"mtu" if r[6] else "ttl" for r in rest if r[6] or r[7]}


def test_a_flow_shows_on_both_attachments_in_the_timeline(engine: LocalEngine) -> None:
    rows = [
        dict(zip(TGW_RECORD_COLUMNS, r, strict=True))
        for r in _last_day(engine, f"tgw timeline {LATERAL_PEER}")
    ]
    lateral = [r for r in rows if r["sourceaddress"] == LATERAL_SOURCE]
    assert {(r["tgwattachmentid"], r["flowdirection"]) for r in lateral} == {
        (MAIN.id, "ingress"),
        (SECOND.id, "egress"),
    }


def test_the_tgw_hunt_finds_the_indicators(engine: LocalEngine) -> None:
    rows = [dict(zip(TGW_HUNT_COLUMNS, r, strict=True)) for r in _last_day(engine, "tgw hunt --limit 100000")]
    found = {(r["indicator"], r["direction"], r["connecting_ip"]) for r in rows}
    assert (LATERAL_PEER, "INBOUND", LATERAL_SOURCE) in found
    assert ("10.3.0.0/16", "INBOUND", BLACKHOLE_SOURCE) in found
    assert any(indicator == "192.168.10.0/24" for indicator, _, _ in found)


def test_the_incidents_name_commands_of_the_catalog() -> None:
    for incident in TGW_INCIDENTS:
        parsed = parse_command(incident.example_command, CATALOG, TGW, SAMPLE_END)
        assert isinstance(parsed, FlowRequest), incident.name


# --------------------------------------------------------------------------------------------------
# What a format cannot answer is refused, naming the fields it lacks


def _text(name: str) -> str:
    template = CATALOG[name]
    return " ".join([*template.command, *("10.0.1.25" for _ in template.params)])


@pytest.mark.parametrize("name", [t.name for t in CATALOG.for_table(LOGICAL_TABLE)])
def test_a_tgw_format_answers_what_its_fields_allow_and_refuses_the_rest_by_name(name: str) -> None:
    template = CATALOG[name]
    missing = template.fields_used - TGW_COLUMNS
    if not missing:
        assert isinstance(parse_command(_text(name), CATALOG, TGW, SAMPLE_END), FlowRequest)
        return
    with pytest.raises(CommandError, match="FLOWBOT_LOG_FORMAT") as refused:
        parse_command(_text(name), CATALOG, TGW, SAMPLE_END)
    for column in missing:
        assert COLUMN_HEADERS[column] in str(refused.value), (name, column)


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("rejected", ("action", "interface-id")),
        ("rejected tcp", ("action", "interface-id")),
        ("accepted", ("action", "interface-id")),
        ("sample", ("action", "interface-id")),
        ("timeline 10.0.1.25", ("action", "interface-id")),
        ("hunt", ("action", "interface-id")),
        ("talkers packets", ("pkt-dstaddr", "pkt-srcaddr")),
        ("talkers instances", ("instance-id",)),
        ("talkers subnets", ("subnet-id", "vpc-id")),
    ],
)
def test_vpc_only_templates_are_refused_on_a_tgw_format(text: str, fields: tuple[str, ...]) -> None:
    with pytest.raises(CommandError) as refused:
        parse_command(text, CATALOG, TGW, SAMPLE_END)
    assert f"needs the flow-log fields {', '.join(fields)}," in str(refused.value)


@pytest.mark.parametrize("log_format", [None, V5_FORMAT], ids=["default v2", "v5"])
@pytest.mark.parametrize("name", ["tgw_attachments", "tgw_vpcs", "tgw_drops", "tgw_timeline", "tgw_hunt"])
def test_tgw_templates_are_refused_on_a_vpc_format(name: str, log_format: str | None) -> None:
    settings = Settings() if log_format is None else Settings(log_format=log_format)
    with pytest.raises(CommandError, match="FLOWBOT_LOG_FORMAT") as refused:
        parse_command(_text(name), CATALOG, settings, SAMPLE_END)
    tgw_only = [h for h in parse_log_format(TGW_DEFAULT_FORMAT) if h.startswith(("tgw-", "packets-lost-"))]
    needed = {COLUMN_HEADERS[c] for c in CATALOG[name].fields_used}
    assert [h for h in tgw_only if h in needed], name
    for header in tgw_only:
        if header in needed:
            assert header in str(refused.value)


def test_a_vpc_format_still_answers_the_vpc_templates() -> None:
    """The TGW fields were appended: a VPC format parses as before and answers what it did."""
    for text in ("timeline 10.0.1.25", "hunt", "rejected", "talkers packets"):
        parsed = parse_command(text, CATALOG, Settings(log_format=V5_FORMAT), SAMPLE_END)
        assert isinstance(parsed, FlowRequest) and not parsed.query.startswith("tgw"), text
