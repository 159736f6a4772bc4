"""Files as they really arrive: header-only files, short and long lines, CRLF, values that are not numbers.
The engine must read them as Athena's delimited-text table does (the oracle encodes those rules)."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.base import EngineError
from bot.query.engines.local import LocalEngine
from bot.request import FlowRequest
from bot.settings import Settings
from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import (
    expected_count,
    expected_hunt,
    expected_pairs,
    expected_ratio,
    expected_records,
    expected_timeline,
    load_rows,
    scope_of,
    scoped,
)

HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
    "action log-status"
)
T0 = int(SAMPLE_END.timestamp()) - 86400
LINES = [
    f"2 012345678901 eni-1 10.0.1.25 203.0.113.66 40000 443 6 10 5000 {T0 + 10} {T0 + 70} ACCEPT OK",
    f"2 012345678901 eni-1 10.0.1.25 203.0.113.66 40001 443 6 10 x {T0 + 20} {T0 + 80} ACCEPT OK",
    f"2 012345678901 eni-1 10.0.1.25 203.0.113.66 40002 443 6 10 99999999999 {T0 + 30} {T0 + 90} ACCEPT",
    f"2 012345678901 eni-1 10.0.1.25 203.0.113.66 40003 443 6 10 7 {T0 + 40} {T0 + 100} ACCEPT OK x y",
    f"2 012345678901 eni-1 203.0.113.66 10.0.1.25 443 40000 6 99999999999 12 {T0 + 50} {T0 + 110} REJECT OK",
    f"2 012345678901 eni-1 - - - - - - - {T0 + 60} {T0 + 120} - NODATA",
]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as handle:
        handle.write(text.encode())


def test_awkward_files_read_as_athena_reads_them(tmp_path: Path) -> None:
    day = SAMPLE_END.replace(day=SAMPLE_END.day - 1)
    folder = tmp_path / "AWSLogs/012345678901/vpcflowlogs/us-east-1" / f"{day:%Y/%m/%d}"
    name = "012345678901_vpcflowlogs_us-east-1_fl-1_{}_{}.log.gz"
    _write(folder / name.format(f"{day:%Y%m%d}T0000Z", "empty"), HEADER + "\n")
    _write(folder / name.format(f"{day:%Y%m%d}T0010Z", "lf"), HEADER + "\n" + "\n".join(LINES[:3]) + "\n")
    _write(
        folder / name.format(f"{day:%Y%m%d}T0020Z", "crlf"), HEADER + "\r\n" + "\r\n".join(LINES[3:]) + "\r\n"
    )
    catalog = load_catalog()
    engine = LocalEngine(tmp_path)
    rows = load_rows(tmp_path)
    window = f"--from {day:%Y-%m-%d} --to {SAMPLE_END:%Y-%m-%d}"
    bounds = (T0, T0 + 86400, f"{day:%Y/%m/%d}", f"{SAMPLE_END:%Y/%m/%d}")
    assert len(scoped(rows, *bounds)) == len(LINES)

    for text, expected in (
        (f"count {window}", [(expected_count(rows, *bounds),)]),
        (f"ratio 10.0.1.25 {window}", expected_ratio(rows, "10.0.1.25", *bounds)),
    ):
        request = parse_command(text, catalog, Settings(), SAMPLE_END)
        assert isinstance(request, FlowRequest)
        result = engine.run(catalog[request.query], request)
        assert [row for batch in result.batches() for row in batch] == expected, text

    request = parse_command(f"timeline 10.0.1.25 {window}", catalog, Settings(), SAMPLE_END)
    assert isinstance(request, FlowRequest)
    result = engine.run(catalog["timeline"], request)
    names = [c.name for c in result.columns][1:]
    got = [row[1:] for batch in result.batches() for row in batch]
    want = [tuple(getattr(r, n) for n in names) for r in expected_timeline(rows, "10.0.1.25", *bounds)]
    assert got == want
    assert {row[-1] for row in got} == {"OK", None}  # CRLF lines end in "OK", not "OK\r"


BIG_PACKETS = 3_000_000_000
"""More packets than an `int` holds (2^31-1)."""
AFTER_2038 = 2_200_000_000
"""2039-09-18 23:06:40 UTC in epoch seconds: past 2038-01-19 03:14:07, the last second an `int` holds."""


def test_packets_and_times_past_an_int_read_as_bigint(tmp_path: Path) -> None:
    """numpackets, starttime and endtime are bigint, as in AWS's reference DDL: the playbook's `int` would
    read these records' packets, start and end as NULL (and the window would drop them)."""
    start = datetime.fromtimestamp(AFTER_2038, UTC)
    folder = tmp_path / "AWSLogs/012345678901/vpcflowlogs/us-east-1" / f"{start:%Y/%m/%d}"
    lines = [
        f"2 012345678901 eni-1 10.0.1.25 203.0.113.66 40000 443 6 {BIG_PACKETS} 9000000000000 "
        f"{AFTER_2038} {AFTER_2038 + 60} ACCEPT OK",
        f"2 012345678901 eni-1 10.0.1.25 203.0.113.66 40001 443 6 {BIG_PACKETS + 1} 4500000000000 "
        f"{AFTER_2038 + 5} {AFTER_2038 + 65} ACCEPT OK",
    ]
    _write(
        folder / f"012345678901_vpcflowlogs_us-east-1_fl-1_{start:%Y%m%dT%H%M}Z_big.log.gz",
        HEADER + "\n" + "\n".join(lines) + "\n",
    )
    store = tmp_path / "iocs"
    (store / "table").mkdir(parents=True)
    with (store / "table" / "sub-0000.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerow(
            ["203.0.113.66", "c2", "U0123ABCD", "2039-09-18T22:00:00Z", "C0456EFGH", "slack", "s-0"]
        )
    rows = load_rows(tmp_path)
    assert [(r.numpackets, r.starttime, r.endtime) for r in rows] == [
        (BIG_PACKETS, AFTER_2038, AFTER_2038 + 60),
        (BIG_PACKETS + 1, AFTER_2038 + 5, AFTER_2038 + 65),
    ]
    catalog = load_catalog()
    engine = LocalEngine(tmp_path, ioc_dir=store)
    hour = timedelta(hours=1)
    window = f"--from {start - hour:%Y-%m-%dT%H:%M:%S}Z --to {start + hour:%Y-%m-%dT%H:%M:%S}Z"

    def answer(text: str) -> tuple[dict[str, str], list[tuple[object, ...]], dict[str, Any]]:
        request = parse_command(f"{text} {window}", catalog, Settings(), start + timedelta(days=1))
        assert isinstance(request, FlowRequest)
        template = catalog[request.query]
        result = engine.run(template, request)
        assert [(c.name, c.type) for c in result.columns] == [(c.name, c.type) for c in template.columns]
        return (
            dict((c.name, c.type) for c in result.columns),
            [r for b in result.batches() for r in b],
            scope_of(request),
        )

    types, got, scope = answer("from 10.0.1.25")
    assert (types["numpackets"], types["starttime"], types["endtime"]) == ("bigint", "bigint", "bigint")
    assert got == expected_records(rows, "traffic_from", "10.0.1.25", **scope)
    assert [row[0] for row in got] == ["2039/09/18 23:06:40", "2039/09/18 23:06:45"]
    assert [(row[8], row[10], row[11]) for row in got] == [
        (BIG_PACKETS, AFTER_2038, AFTER_2038 + 60),
        (BIG_PACKETS + 1, AFTER_2038 + 5, AFTER_2038 + 65),
    ]

    types, got, scope = answer("pairs")
    assert types["total_packets"] == "bigint"
    assert (
        got
        == expected_pairs(rows, **scope)
        == [("10.0.1.25", "203.0.113.66", 2, 2 * BIG_PACKETS + 1, 13_500_000_000_000)]
    )

    types, got, scope = answer("hunt")
    assert [types[n] for n in ("numpackets", "starttime", "sessiontime")] == ["bigint", "timestamp", "bigint"]
    assert got == expected_hunt(rows, ["203.0.113.66"], **scope)
    assert [(row[9], row[13], row[15]) for row in got] == [
        (BIG_PACKETS, datetime(2039, 9, 18, 23, 6, 40), 60),
        (BIG_PACKETS + 1, datetime(2039, 9, 18, 23, 6, 45), 60),
    ]


def test_no_progress_bar_on_stdout(tmp_path: Path) -> None:
    """Past ~2 s DuckDB draws a progress bar on stdout, which is a worker's log or `flowbot ask`'s answer
    (found by the scan benchmark, where it landed in the middle of the printed table)."""
    con = LocalEngine(tmp_path)._connect()
    assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)


def _count(engine: LocalEngine, day: object) -> list[tuple[object, ...]]:
    catalog = load_catalog()
    request = parse_command(f"count --from {day:%Y-%m-%d} --to {SAMPLE_END:%Y-%m-%d}", catalog, Settings(),
                            SAMPLE_END)  # fmt: skip
    assert isinstance(request, FlowRequest)
    return [row for batch in engine.run(catalog["count"], request).batches() for row in batch]


def test_a_file_in_another_format_than_the_configured_one_is_refused_by_name_and_fields(
    tmp_path: Path,
) -> None:
    """Athena's table maps fields by position in FLOWBOT_LOG_FORMAT: a file written with its source and
    destination swapped (or with more fields) would be misread there, so the local engine refuses it."""
    day = SAMPLE_END.replace(day=SAMPLE_END.day - 1)
    folder = tmp_path / "AWSLogs/012345678901/vpcflowlogs/us-east-1" / f"{day:%Y/%m/%d}"
    name = "012345678901_vpcflowlogs_us-east-1_fl-1_{}_{}.log.gz"
    _write(folder / name.format(f"{day:%Y%m%d}T0010Z", "v2"), HEADER + "\n" + LINES[0] + "\n")
    v2 = tuple(HEADER.split())
    configured = LocalEngine(tmp_path, log_format=v2)
    assert _count(configured, day) == [(1,)]

    swapped = HEADER.replace("srcaddr dstaddr", "dstaddr srcaddr")
    _write(folder / name.format(f"{day:%Y%m%d}T0020Z", "swapped"), swapped + "\n" + LINES[1] + "\n")
    with pytest.raises(EngineError) as refused:
        _count(configured, day)
    message = str(refused.value)
    assert "1 file(s)" in message and "T0020Z_swapped.log.gz" in message
    assert "the same fields in another order" in message and swapped in message
    assert _count(LocalEngine(tmp_path), day) == [(2,)]  # no format given: each file by its own header

    _write(
        folder / name.format(f"{day:%Y%m%d}T0020Z", "swapped"), HEADER + " vpc-id\n" + LINES[1] + " vpc-1\n"
    )
    with pytest.raises(EngineError, match="which has vpc-id;"):
        _count(configured, day)
