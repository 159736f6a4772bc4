"""The VPC console's 16 predefined Athena queries, run by the local engine on real gzip'd flow logs in a
custom (version 5) format and in the default one, checked against answers computed in pure Python by
tests/flowlog_oracle.py (which reads the same files without DuckDB, SQL or `bot/`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.parse.command import parse_command
from bot.query.engines.local import LocalEngine
from bot.request import FlowRequest
from bot.samples.flow_logs import MAIN_ACCOUNT, NAT_GATEWAY, PATCH_MIRROR, SECOND_ACCOUNT, V5_FORMAT, generate
from bot.settings import Settings
from bot.words import CommandError
from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import Row, load_rows
from tests.query_cases import ALL, CATALOG, CONSOLE, NEEDS_V3, ON_V2, SOURCE, expected, request, run

V5 = Settings(log_format=V5_FORMAT, max_limit=1_000_000)
V2 = Settings(max_limit=1_000_000)
DAY = timedelta(days=1)
MIDNIGHT = SAMPLE_END - DAY
CASES: dict[str, tuple[datetime, datetime, dict[str, str]]] = {
    "a day": (SAMPLE_END - DAY, SAMPLE_END, {}),
    "an hour across midnight": (MIDNIGHT - timedelta(minutes=30), MIDNIGHT + timedelta(minutes=30), {}),
    "main account in us-east-1, the middle day": (
        SAMPLE_END - 2 * DAY,
        SAMPLE_END - DAY,
        {"account": MAIN_ACCOUNT, "region": "us-east-1"},
    ),
    "second account, six hours": (
        SAMPLE_END - timedelta(hours=30),
        SAMPLE_END - DAY,
        {"account": SECOND_ACCOUNT},
    ),
}


@pytest.fixture(scope="session")
def v5_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's sample traffic (same seed, scale and end as `sample_root`) in the custom v5 format."""
    root = tmp_path_factory.mktemp("flowlogs-v5")
    generate(root, end=SAMPLE_END, days=3, seed=7, scale=0.25, log_format=V5_FORMAT)
    return root


@pytest.fixture(scope="session")
def v5_rows(v5_root: Path) -> list[Row]:
    return load_rows(v5_root)


@pytest.fixture(scope="module")
def v5_engine(v5_root: Path) -> LocalEngine:
    return LocalEngine(v5_root)


@pytest.fixture(scope="module")
def v2_engine(sample_root: Path) -> LocalEngine:
    return LocalEngine(sample_root)


def test_the_catalogue_holds_the_16_console_queries() -> None:
    console = {t.name: t for t in CATALOG if t.source.startswith(SOURCE)}
    assert {name: t.source.removeprefix(SOURCE) for name, t in console.items()} == CONSOLE
    commands = [t.command for t in CATALOG.for_table("vpcflow")]
    assert len(commands) == len(set(commands))
    for t in console.values():
        assert len(t.summary_columns) <= 4
        assert t.uses_limit == (t.default_limit is not None or bool(t.params)), t.name
        assert t.default_limit in (None, 10, 50, 1000), t.name


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("template", "text"), ALL, ids=[text for _, text in ALL])
def test_console_query_on_v5_logs(
    v5_engine: LocalEngine, v5_rows: list[Row], template: str, text: str, case: str
) -> None:
    start, end, scope = CASES[case]
    req = request(f"{text} --limit 1000000", V5, start, end, **scope)
    assert req.query == template
    got = run(v5_engine, req)
    assert got == expected(v5_rows, req)


@pytest.mark.parametrize("case", list(CASES)[:2])
@pytest.mark.parametrize(("template", "text"), ON_V2, ids=[text for _, text in ON_V2])
def test_console_query_on_default_format_logs(
    v2_engine: LocalEngine, oracle_rows: list[Row], template: str, text: str, case: str
) -> None:
    start, end, scope = CASES[case]
    req = request(f"{text} --limit 1000000", V2, start, end, **scope)
    assert req.query == template
    assert run(v2_engine, req) == expected(oracle_rows, req)


@pytest.mark.parametrize(("template", "text"), ALL, ids=[text for _, text in ALL])
def test_default_limits(v5_engine: LocalEngine, v5_rows: list[Row], template: str, text: str) -> None:
    start, end, _ = CASES["a day"]
    req = request(text, V5, start, end)
    default = CATALOG[template].default_limit
    if default is not None:
        assert req.limit == default
    got = run(v5_engine, req)
    assert got == expected(v5_rows, req)
    if CATALOG[template].uses_limit:
        assert len(got) <= req.limit
    else:
        assert len(got) == 1, "an aggregate answers one row"


@pytest.mark.parametrize("text", sorted(" ".join(CATALOG[n].command) for n in NEEDS_V3))
def test_the_default_format_cannot_answer_packet_instance_or_subnet_queries(text: str) -> None:
    with pytest.raises(CommandError, match="FLOWBOT_LOG_FORMAT") as refused:
        parse_command(f"{text} --last 1h", CATALOG, Settings(), SAMPLE_END)
    assert any(field in str(refused.value) for field in ("pkt-srcaddr", "instance-id", "subnet-id"))
    assert isinstance(parse_command(f"{text} --last 1h", CATALOG, V5, SAMPLE_END), FlowRequest)


def test_the_default_format_answers_the_others() -> None:
    for name in sorted(set(CONSOLE) - NEEDS_V3):
        text = " ".join([*CATALOG[name].command, *("10.0.1.25" for _ in CATALOG[name].params)])
        assert isinstance(parse_command(text, CATALOG, Settings(), SAMPLE_END), FlowRequest), name


# --------------------------------------------------------------------------------------------------
# The planted incidents, as the console's queries show them


def _last_day(engine: LocalEngine, text: str) -> list[tuple[Any, ...]]:
    return run(engine, request(text, V5, SAMPLE_END - DAY, SAMPLE_END))


def test_ssh_shows_the_brute_force(v5_engine: LocalEngine) -> None:
    rows = _last_day(v5_engine, "ssh")
    attempts = [r for r in rows if r[3] == "198.51.100.23"]
    assert attempts and all(r[6] == 22 for r in attempts)
    assert {r[12] for r in attempts} == {"ACCEPT", "REJECT"}, "rejected but by the bastions"


def test_rejected_tcp_shows_the_scanners(v5_engine: LocalEngine) -> None:
    sources = {r[3] for r in _last_day(v5_engine, "rejected tcp --limit 1000000")}
    assert {"198.51.100.23", "192.0.2.14"} <= sources


def test_from_the_reporting_server_shows_the_exfiltration(v5_engine: LocalEngine) -> None:
    rows = _last_day(v5_engine, "from 10.0.1.25")
    assert "203.0.113.66" in {r[5] for r in rows}
    to_rows = _last_day(v5_engine, "to 203.0.113.66")
    assert to_rows and {r[3] for r in to_rows} == {"10.0.1.25"}


def test_tcp_pairs_and_talkers_put_the_exfiltration_first(v5_engine: LocalEngine) -> None:
    assert _last_day(v5_engine, "tcp 10.0.1.25")[0][:2] == ("203.0.113.66", 443)
    assert _last_day(v5_engine, "pairs")[0][:2] == ("10.0.1.25", "203.0.113.66")
    address, total, sent, received, _ = _last_day(v5_engine, "talkers")[0]
    assert address == "10.0.1.25" and sent > 10 * received and total == sent + received


def test_packet_level_queries_see_through_the_nat_gateway(v5_engine: LocalEngine) -> None:
    start, end = SAMPLE_END - 3 * DAY, SAMPLE_END
    everything = " --limit 1000000"
    talkers = {r[0]: r[4] for r in run(v5_engine, request("talkers" + everything, V5, start, end))}
    packets = {r[0]: r[4] for r in run(v5_engine, request("talkers packets" + everything, V5, start, end))}
    # host <-> gateway records count for the mirror at packet level; the gateway keeps its outside legs
    assert talkers[NAT_GATEWAY] == 2 * packets[NAT_GATEWAY]
    assert packets[PATCH_MIRROR] - talkers[PATCH_MIRROR] == talkers[NAT_GATEWAY] - packets[NAT_GATEWAY] > 0
    pairs = {r[:2] for r in run(v5_engine, request("pairs" + everything, V5, start, end))}
    packet_pairs = {r[:2] for r in run(v5_engine, request("pairs packets" + everything, V5, start, end))}
    assert pairs != packet_pairs
    assert {p for p in pairs - packet_pairs if p[1] == NAT_GATEWAY} <= {
        (h, NAT_GATEWAY) for h in ("10.0.3.20", "10.0.3.21")
    }
    assert {(h, PATCH_MIRROR) for h in ("10.0.3.20", "10.0.3.21")} & packet_pairs
    assert {(PATCH_MIRROR, NAT_GATEWAY), (NAT_GATEWAY, PATCH_MIRROR)} <= pairs & packet_pairs
    instances = run(v5_engine, request("talkers instances" + everything, V5, start, end))
    assert instances and "-" not in {r[0] for r in instances}


def test_bytes_by_family_add_up_to_every_record_with_an_address(
    v5_engine: LocalEngine, v5_rows: list[Row]
) -> None:
    (v4_records, _, v4_bytes), *_ = _last_day(v5_engine, "bytes ipv4")
    (v6_records, _, v6_bytes), *_ = _last_day(v5_engine, "bytes ipv6")
    assert v6_records > 0 and v4_bytes > 100 * v6_bytes
    start, end = int((SAMPLE_END - DAY).timestamp()), int(SAMPLE_END.timestamp())
    with_address = [r for r in v5_rows if start <= (r.starttime or 0) < end and r.sourceaddress != "-"]
    assert v4_records + v6_records == len(with_address)


def test_admin_ports_show_the_bastion(v5_engine: LocalEngine) -> None:
    rows = _last_day(v5_engine, "admin")
    assert len(rows) == 10 and rows[0][0] == "10.0.1.10"
