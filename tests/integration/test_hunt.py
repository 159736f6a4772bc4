"""`hunt` on the local engine: the playbook's directional IOC view over real gzip'd flow logs and IOC files
written in the store's layout, compared row for row (every column, in order) with the pure-Python oracle
(tests/flowlog_oracle.py `expected_hunt`, which matches ranges with the `ipaddress` module)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.base import EngineError, ResultStream
from bot.query.engines.local import LocalEngine
from bot.request import FlowRequest
from bot.samples.flow_logs import BRUTE_FORCE_SOURCE, EXFIL_HOST, EXFIL_PEER, MINING_POOL, SECOND_ACCOUNT
from bot.settings import Settings
from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import HUNT_COLUMNS, Row, expected_hunt

CATALOG = load_catalog()
HUNT = CATALOG["hunt"]
DAY = timedelta(days=1)
WINDOWS = {
    "all three days": (SAMPLE_END - 3 * DAY, SAMPLE_END),
    "the middle day": (SAMPLE_END - 2 * DAY, SAMPLE_END - DAY),
    "an hour across midnight": (
        SAMPLE_END - DAY - timedelta(minutes=30),
        SAMPLE_END - DAY + timedelta(minutes=30),
    ),
}
PLANTED = [EXFIL_PEER, "198.51.100.0/24", MINING_POOL]
"""The sample data's incidents: the exfiltration peer and the mining pool as single addresses, and the
brute-force source inside a /24 (which also holds office and client addresses)."""
IOC_FIELDS = (
    "threat_ip",
    "threat_comment",
    "submitted_by",
    "submitted_at",
    "channel",
    "source",
    "submission_id",
)


def write_iocs(store: Path, submissions: Iterable[list[str] | str]) -> Path:
    """The IOC store's layout: one `table/<id>.csv` per submission, no header, every field quoted, the
    columns of IOC_FIELDS; a submission is one indicator or a list of them (one line each)."""
    table = store / "table"
    table.mkdir(parents=True, exist_ok=True)
    for number, submission in enumerate(submissions):
        lines = [submission] if isinstance(submission, str) else submission
        with (table / f"sub-{number:04d}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
            for indicator in lines:
                comment = f'seen in ticket #{number}, "urgent"'
                row = [
                    indicator,
                    comment,
                    "U0123ABCD",
                    "2026-11-19T08:00:00Z",
                    "C0456EFGH",
                    "slack",
                    f"s-{number}",
                ]
                assert len(row) == len(IOC_FIELDS)
                writer.writerow(row)
    return store


def request(start: datetime, end: datetime, options: str = "--limit 1000000") -> FlowRequest:
    parsed = parse_command(
        f"hunt --from {start:%Y-%m-%dT%H:%M:%S}Z --to {end:%Y-%m-%dT%H:%M:%S}Z {options}",
        CATALOG,
        Settings(max_limit=1_000_000),
        SAMPLE_END,
    )
    assert isinstance(parsed, FlowRequest)
    return parsed


def run(engine: LocalEngine, req: FlowRequest) -> tuple[ResultStream, list[tuple[Any, ...]]]:
    result = engine.run(HUNT, req)
    return result, [row for batch in result.batches() for row in batch]


def expected(rows: list[Row], indicators: Iterable[str], req: FlowRequest) -> list[tuple[object, ...]]:
    b = req.bindings()
    return expected_hunt(
        rows,
        indicators,
        int(str(b["from_ts"])),
        int(str(b["to_ts"])),
        str(b["first_day"]),
        str(b["last_day"]),
        account=req.account,
        region=req.region,
    )


def hunt(
    sample_root: Path, store: Path, oracle_rows: list[Row], indicators: list[str], req: FlowRequest
) -> list[tuple[Any, ...]]:
    """Run the hunt on IOC files holding `indicators` and check it against the oracle; the rows."""
    result, rows = run(LocalEngine(sample_root, ioc_dir=write_iocs(store, indicators)), req)
    assert [(c.name, c.type) for c in result.columns] == [(c.name, c.type) for c in HUNT.columns]
    assert [c.name for c in result.columns] == list(HUNT_COLUMNS)
    assert rows == expected(oracle_rows, indicators, req)
    return rows


def by_name(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(HUNT_COLUMNS, row, strict=True))


@pytest.mark.parametrize("window", WINDOWS)
def test_the_planted_incidents(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row], window: str
) -> None:
    rows = hunt(sample_root, tmp_path, oracle_rows, PLANTED, request(*WINDOWS[window]))
    assert rows, "every window of the sample data holds brute-force or mining traffic"
    for row in map(by_name, rows):  # the playbook's labels: INBOUND connects from the source
        peer_side = row["source"] if row["direction"] == "INBOUND" else row["destination"]
        assert peer_side == f"{row['connecting_ip']}:{row['connecting_port']}"
    if window == "all three days":
        found = {(r["indicator"], r["direction"]) for r in map(by_name, rows)}
        assert {(i, d) for i in PLANTED for d in ("INBOUND", "OUTBOUND")} <= found
        exfil = [
            r for r in map(by_name, rows) if r["indicator"] == EXFIL_PEER and r["direction"] == "INBOUND"
        ]
        assert {r["connecting_ip"] for r in exfil} == {EXFIL_HOST}
        # The brute force comes from the indicator's range: OUTBOUND in the playbook's labels.
        brute = [r for r in map(by_name, rows) if r["source"].startswith(f"{BRUTE_FORCE_SOURCE}:")]
        assert brute
        assert {(r["direction"], r["indicator"]) for r in brute} == {("OUTBOUND", "198.51.100.0/24")}


@pytest.mark.parametrize(
    "indicators",
    [
        ["2600:1f18:4a3:6900::/56"],  # the main VPC's IPv6 range
        ["2600:1f18:4a3:6901::11", "2001:db8:85a3::8a2e:370:7334"],  # single IPv6 addresses: /128
        ["2001:db8::/32", "2001:db8:c0de:1::/64", EXFIL_PEER],  # nested IPv6 ranges, and IPv4 beside them
        ["::/0"],  # every address, IPv4 ones too (Trino since Release 427: IPv4 is ::ffff:a.b.c.d)
        ["0.0.0.0/0"],  # every IPv4 address and no IPv6 one; `-` addresses (NODATA rows) never match
        ["::ffff:0:0/96"],  # the IPv4-mapped block, written as IPv6: every IPv4 address, no IPv6 one
    ],
    ids=["v6 range", "v6 addresses", "v6 nested", "all addresses", "all v4", "mapped block"],
)
def test_ipv6_and_the_widest_ranges(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row], indicators: list[str]
) -> None:
    rows = hunt(sample_root, tmp_path, oracle_rows, indicators, request(*WINDOWS["the middle day"]))
    assert rows
    families = {":" in by_name(r)["connecting_ip"] for r in rows if by_name(r)["indicator"] != EXFIL_PEER}
    if indicators in (["0.0.0.0/0"], ["::ffff:0:0/96"]):
        assert families == {False}
        assert any(r.logstatus == "NODATA" for r in oracle_rows), "the sample data has NODATA rows"
    elif indicators == ["::/0"]:
        assert families == {True, False}
    else:
        assert True in families


def test_each_indicator_counts_once_however_often_it_was_submitted(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row]
) -> None:
    req = request(*WINDOWS["all three days"])
    once = hunt(sample_root, tmp_path / "once", oracle_rows, PLANTED, req)
    repeated = [*PLANTED, MINING_POOL, [EXFIL_PEER, MINING_POOL, EXFIL_PEER], "198.51.100.0/24"]
    result, rows = run(LocalEngine(sample_root, ioc_dir=write_iocs(tmp_path / "many", repeated)), req)
    assert rows == once
    assert result.stats.files_scanned == once_files(sample_root, req) + len(repeated)


def once_files(sample_root: Path, req: FlowRequest) -> int:
    """Flow-log files the window opens (the hunt's scan adds the IOC files to these)."""
    result = LocalEngine(sample_root).run(CATALOG["count"], req)
    list(result.batches())
    assert result.stats.files_scanned is not None
    return result.stats.files_scanned


def test_a_record_matching_on_both_sides_gives_both_directions(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row]
) -> None:
    rows = hunt(
        sample_root, tmp_path, oracle_rows, ["10.0.0.0/16"], request(*WINDOWS["an hour across midnight"])
    )
    directions: dict[tuple[Any, ...], set[str]] = {}
    for r in map(by_name, rows):
        key = (r["interfaceid"], r["source"], r["destination"], r["starttime"], r["endtime"], r["numbytes"])
        directions.setdefault(key, set()).add(r["direction"])
    both = [key for key, seen in directions.items() if seen == {"INBOUND", "OUTBOUND"}]
    assert both, "internal traffic (10.0.x.x on both sides) gives an INBOUND and an OUTBOUND row"
    assert Counter(by_name(r)["direction"] for r in rows).keys() == {"INBOUND", "OUTBOUND"}


def test_the_most_specific_indicator_is_named_ties_by_text(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row]
) -> None:
    indicators = ["10.0.0.0/8", "10.0.1.0/24", EXFIL_HOST, f"{EXFIL_HOST}/32", "203.0.113.0/24", EXFIL_PEER]
    rows = hunt(sample_root, tmp_path, oracle_rows, indicators, request(*WINDOWS["all three days"]))
    named = {(r["direction"], r["indicator"]) for r in map(by_name, rows)}
    assert ("OUTBOUND", EXFIL_HOST) in named  # `10.0.1.25` before `10.0.1.25/32` (same range, by text)
    assert ("OUTBOUND", f"{EXFIL_HOST}/32") not in named
    assert ("INBOUND", EXFIL_PEER) in named and ("INBOUND", "10.0.1.0/24") in named
    exfil = [
        r for r in map(by_name, rows) if r["direction"] == "OUTBOUND" and r["source"].startswith("10.0.1.25:")
    ]
    assert {r["indicator"] for r in exfil} == {EXFIL_HOST}


@pytest.mark.parametrize(
    "scope", [{"account": SECOND_ACCOUNT}, {"account": "012345678901", "region": "us-east-1"}], ids=str
)
def test_account_and_region_filters(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row], scope: dict[str, str]
) -> None:
    options = "--limit 1000000" + "".join(f" --{k} {v}" for k, v in scope.items())
    req = request(*WINDOWS["all three days"], options)
    rows = hunt(sample_root, tmp_path, oracle_rows, [*PLANTED, "10.0.0.0/8", "172.16.0.0/12"], req)
    assert rows and {by_name(r)["account"] for r in rows} == {scope["account"]}


def test_the_limit_keeps_the_first_rows_in_order(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row]
) -> None:
    req = request(*WINDOWS["all three days"], "--limit 40")
    _, rows = run(LocalEngine(sample_root, ioc_dir=write_iocs(tmp_path, PLANTED)), req)
    assert rows == expected(oracle_rows, PLANTED, req)[:40] and len(rows) == 40


def test_no_indicators_answers_empty(sample_root: Path, tmp_path: Path) -> None:
    req = request(*WINDOWS["all three days"])
    (tmp_path / "empty" / "table").mkdir(parents=True)
    (tmp_path / "other-files" / "table").mkdir(parents=True)
    (tmp_path / "other-files" / "table" / "notes.txt").write_text('"203.0.113.66","not a .csv file"\n')
    (tmp_path / "other-files" / "table" / ".hidden.csv").write_text('"203.0.113.66","hidden"\n')
    for ioc_dir in (tmp_path / "missing", tmp_path / "empty", tmp_path / "other-files"):
        result, rows = run(LocalEngine(sample_root, ioc_dir=ioc_dir), req)
        assert rows == [], ioc_dir
        assert [(c.name, c.type) for c in result.columns] == [(c.name, c.type) for c in HUNT.columns]


def test_a_hunt_without_a_local_store_says_so_instead_of_finding_nothing(sample_root: Path) -> None:
    with pytest.raises(EngineError, match="FLOWBOT_IOC_STORE is on S3"):
        run(LocalEngine(sample_root, ioc_dir=None), request(*WINDOWS["all three days"]))


def test_text_that_is_no_indicator_never_matches_nor_fails(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row]
) -> None:
    junk = [
        "threat_ip",  # a header line someone added by hand
        "",
        "not-an-ip",
        "10.0.1.25/16",  # host bits set: Trino's contains refuses an IPv4 range written so
        "10.0.1.0/33",
        "2600:1f18::/129",
        "::ffff:10.0.1.25/129",  # an IPv6 range (not a dotted quad): at most /128
        "::ffff:10.0.1.0/-0",  # a prefix the hunt does not pass to contains()
        " 192.0.2.77",
        "192.0.2.077",
    ]
    req = request(*WINDOWS["all three days"])
    assert hunt(sample_root, tmp_path / "junk", oracle_rows, junk, req) == []
    assert hunt(sample_root, tmp_path / "mixed", oracle_rows, [*junk, MINING_POOL], req)


def test_mapped_spellings_match_as_trino_reads_them(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row]
) -> None:
    """Trino since Release 427 (PR 18997): an IPv4 address is its IPv4-mapped IPv6 address, and a range
    written as IPv6 is an IPv6 range even over that block, its prefix counting all 128 bits. So
    `::ffff:192.0.2.0/120` is 192.0.2.0/24, `0:0:0:0:0:ffff:c000:24d` (a bare address: /128) is 192.0.2.77,
    and `::ffff:192.0.2.0/24` fixes only the first 24 of the 128 bits: it holds every IPv4 address."""
    req = request(*WINDOWS["the middle day"])
    indicators = ["::ffff:192.0.2.0/120", "0:0:0:0:0:ffff:c000:24d"]
    rows = hunt(sample_root, tmp_path / "narrow", oracle_rows, indicators, req)
    assert {by_name(r)["indicator"] for r in rows} == set(indicators)
    matched = {
        (r["source"] if r["direction"] == "OUTBOUND" else r["destination"]).rsplit(":", 1)[0]: r["indicator"]
        for r in map(by_name, rows)
    }
    assert matched[MINING_POOL] == indicators[1]  # the /128 before the /120 that also holds it
    wide = hunt(sample_root, tmp_path / "wide", oracle_rows, ["::ffff:192.0.2.0/24"], req)
    assert {":" in by_name(r)["connecting_ip"] for r in wide} == {False}
    assert len(wide) == len(hunt(sample_root, tmp_path / "all v4", oracle_rows, ["0.0.0.0/0"], req))


def test_the_iocs_are_read_as_athenas_opencsv_serde_reads_them(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row]
) -> None:
    """Hand-written files too: unquoted fields, CRLF and CR line ends, a BOM, extra and missing fields."""
    table = tmp_path / "table"
    table.mkdir()
    (table / "a.csv").write_bytes(b'\xef\xbb\xbf"192.0.2.77","miner"\r\n198.51.100.23,brute force,x,y\r')
    (table / "b.csv").write_bytes(b'"203.0.113.66"\n\n"unterminated,"10.0.0.0/8"\n')
    req = request(*WINDOWS["the middle day"])
    _, rows = run(LocalEngine(sample_root, ioc_dir=tmp_path), req)
    assert rows == expected(oracle_rows, ["192.0.2.77", "198.51.100.23", "203.0.113.66"], req)
    assert rows


@pytest.mark.parametrize(
    "narrowed",
    [[MINING_POOL], ["198.51.100.0/24", EXFIL_PEER], ["192.0.2.250"]],
    ids=["one address", "a range and an address", "an indicator without traffic"],
)
def test_a_hunt_narrowed_to_some_indicators_answers_as_a_store_holding_only_them(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row], narrowed: list[str]
) -> None:
    """A retro-hunt names the new indicators (`FlowRequest.indicators`): the store holds others too (and a
    range that also holds the exfiltration peer), and the answer is the oracle's for the named ones alone."""
    store = write_iocs(tmp_path, [*PLANTED, "192.0.2.0/24", *narrowed])
    req = request(*WINDOWS["all three days"]).model_copy(update={"indicators": tuple(narrowed)})
    _, rows = run(LocalEngine(sample_root, ioc_dir=store), req)
    assert rows == expected(oracle_rows, narrowed, req)
    found = {by_name(r)["indicator"] for r in rows}
    assert found == (set() if narrowed == ["192.0.2.250"] else set(narrowed))
