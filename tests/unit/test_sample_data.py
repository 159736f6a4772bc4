"""The sample data looks like what VPC Flow Logs delivers to S3, is reproducible, and holds its incidents.

Everything is read back with the independent oracle (`tests/flowlog_oracle.py`), never with the engine.
"""

from __future__ import annotations

import gzip
import itertools
import re
import statistics
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.flowlog_format import DEFAULT_V2_HEADERS, parse_log_format
from bot.samples.flow_logs import (
    HEADER_LINE,
    INCIDENTS,
    NAT_GATEWAY,
    PATCH_MIRROR,
    V5_FORMAT,
    GenerationReport,
    generate,
)
from tests.flowlog_oracle import (
    INT64,
    V2_HEADERS,
    Row,
    expected_count,
    expected_ratio,
    expected_timeline,
    load_rows,
    parse_int,
    parse_line,
    split_lines,
)

END = datetime(2025, 3, 12, 14, 0, tzinfo=UTC)
DAYS = 3
TO_TS = int(END.timestamp())
FROM_TS = TO_TS - DAYS * 86_400
MIDNIGHTS = [int(datetime(2025, 3, d, tzinfo=UTC).timestamp()) for d in (10, 11, 12)]

NAME = re.compile(
    r"AWSLogs/(?P<account>\d{12})/vpcflowlogs/(?P<region>[a-z]{2}-[a-z]+-\d)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_vpcflowlogs_(?P=region)_fl-[0-9a-f]{17}_"
    r"(?P<stamp>(?P=y)(?P=m)(?P=d)T\d{2}[0-5]0Z)_[0-9a-f]{8}\.log\.gz"
)
ENI = re.compile(r"eni-[0-9a-f]{17}")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerationReport, list[Row]]:
    root = tmp_path_factory.mktemp("sample")
    report = generate(root, end=END, days=DAYS, seed=7, scale=0.1)
    return report, load_rows(root)


def _files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.log.gz"))


def test_layout_and_names_follow_the_s3_delivery(generated: tuple[GenerationReport, list[Row]]) -> None:
    report, _ = generated
    files = _files(report.root)
    assert len(files) == report.files > 0
    for path in files:
        rel = path.relative_to(report.root).as_posix()
        match = NAME.fullmatch(rel)
        assert match, rel
        delivered = datetime.strptime(match["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        with gzip.open(path, "rt") as f:
            lines = f.read().splitlines()
        ends = [int(line.split(" ")[11]) for line in lines[1:]]
        assert ends, rel
        # foldered by delivery: a file holds what ended in the 10 minutes before its timestamp
        assert all(delivered.timestamp() - 600 <= e < delivered.timestamp() for e in ends), rel
    accounts = {p.relative_to(report.root).parts[1] for p in files}
    regions = {(p.relative_to(report.root).parts[1], p.relative_to(report.root).parts[3]) for p in files}
    assert accounts == {"012345678901", "111122223333"} == set(report.accounts)
    assert regions == {
        ("012345678901", "us-east-1"),
        ("012345678901", "eu-west-1"),
        ("111122223333", "us-east-1"),
    }
    assert (report.first_day, report.last_day) == (date(2025, 3, 9), date(2025, 3, 12))


def test_files_are_gzip_text_with_the_default_header(generated: tuple[GenerationReport, list[Row]]) -> None:
    report, _ = generated
    assert HEADER_LINE == " ".join(DEFAULT_V2_HEADERS)
    for path in _files(report.root)[:50]:
        raw = path.read_bytes()
        assert raw[:3] == b"\x1f\x8b\x08"
        assert raw[3] == 0, "no FNAME (or other) flag: the file name is not embedded"
        assert raw[4:8] == b"\0\0\0\0", "mtime is 0"
        lines = gzip.decompress(raw).decode().split("\n")
        assert lines[0] == HEADER_LINE
        assert lines[-1] == ""
        for line in lines[1:-1]:
            fields = line.split(" ")
            assert len(fields) == 14 and "" not in fields, line
            assert fields[0] == "2" and ENI.fullmatch(fields[2]), line


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    end = datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    first = generate(tmp_path / "a", end=end, days=1, seed=3, scale=0.05)
    second = generate(tmp_path / "b", end=end, days=1, seed=3, scale=0.05)
    a, b = _files(first.root), _files(second.root)
    assert [p.relative_to(first.root) for p in a] == [p.relative_to(second.root) for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    other = generate(tmp_path / "c", end=end, days=1, seed=4, scale=0.05)
    assert [p.name for p in _files(other.root)] != [p.name for p in a], "the seed changes the content"


def test_refuses_to_mix_two_runs(tmp_path: Path) -> None:
    end = datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    generate(tmp_path, end=end, days=1, scale=0.01)
    with pytest.raises(FileExistsError):
        generate(tmp_path, end=end, days=1, scale=0.01)


def test_records_are_well_formed(generated: tuple[GenerationReport, list[Row]]) -> None:
    report, rows = generated
    assert len(rows) == report.records
    for r in rows:
        assert r.version == 2
        assert r.account == r.account_partition
        assert r.starttime is not None and r.endtime is not None
        assert FROM_TS <= r.starttime < r.endtime < TO_TS
        assert r.endtime - r.starttime <= 600
        if r.logstatus == "OK":
            assert r.action in ("ACCEPT", "REJECT")
            assert r.protocol in (1, 6, 17)
            assert r.numbytes is not None and r.numpackets is not None and r.numbytes >= r.numpackets
            if r.protocol == 1:
                assert (r.sourceport, r.destinationport) == (0, 0)


def test_leading_zero_account_is_kept(generated: tuple[GenerationReport, list[Row]]) -> None:
    report, rows = generated
    assert "012345678901" in report.accounts
    assert (report.root / "AWSLogs" / "012345678901").is_dir()
    assert any(r.account == "012345678901" and r.account_partition == "012345678901" for r in rows)


def test_nodata_and_skipdata_rows_keep_dashes(generated: tuple[GenerationReport, list[Row]]) -> None:
    _, rows = generated
    status = Counter(r.logstatus for r in rows)
    assert status["NODATA"] > 0 and status["SKIPDATA"] > 0
    for r in rows:
        if r.logstatus != "OK":
            assert (r.sourceaddress, r.destinationaddress, r.action) == ("-", "-", "-")
            assert (r.sourceport, r.destinationport, r.protocol, r.numpackets, r.numbytes) == (None,) * 5


def test_traffic_mix(generated: tuple[GenerationReport, list[Row]]) -> None:
    _, rows = generated
    ok = [r for r in rows if r.logstatus == "OK"]
    assert Counter(r.action for r in ok)["REJECT"] > 0
    assert {1, 6, 17} <= {r.protocol for r in ok}
    assert any(":" in (r.sourceaddress or "") for r in ok), "some IPv6 records"
    assert any((r.sourceaddress or "").startswith("172.31.") for r in ok)
    assert len({r.interfaceid for r in rows if r.account == "012345678901"}) >= 5


def test_late_records_sit_in_the_next_days_folder(generated: tuple[GenerationReport, list[Row]]) -> None:
    _, rows = generated
    late = [
        r
        for r in rows
        if r.starttime is not None
        and datetime.fromtimestamp(r.starttime, UTC).strftime("%Y/%m/%d") < r.date_partition
    ]
    assert len(late) >= 5
    assert {r.date_partition for r in late} >= {"2025/03/10", "2025/03/11", "2025/03/12"}
    # a window ending at a day's end must open the next day's folder, or these rows are lost
    day_only = expected_count(rows, MIDNIGHTS[0] - 3_600, MIDNIGHTS[0], "2025/03/09", "2025/03/09")
    with_margin = expected_count(rows, MIDNIGHTS[0] - 3_600, MIDNIGHTS[0], "2025/03/09", "2025/03/10")
    assert with_margin > day_only


def test_day_boundary_starts_exist(generated: tuple[GenerationReport, list[Row]]) -> None:
    _, rows = generated
    starts = {r.starttime for r in rows}
    for midnight in MIDNIGHTS:
        assert midnight in starts and midnight - 1 in starts


def test_exfiltration_tops_the_ratio_of_its_host(generated: tuple[GenerationReport, list[Row]]) -> None:
    _, rows = generated
    ratio = expected_ratio(rows, "10.0.1.25", FROM_TS, TO_TS, "2025/03/09", "2025/03/12")
    src, dst, _, total, data_ratio, _, last_seen = ratio[0]
    assert (src, dst) == ("10.0.1.25", "203.0.113.66")
    assert total is not None and data_ratio is not None
    assert total > 10 * (ratio[1][3] or 0)
    assert data_ratio > 10_000_000
    assert last_seen is not None and last_seen > "2025/03/11 14:00:00"
    peers = {(s, d) for s, d, *_ in ratio}
    assert len(peers) >= 6, "the host also has ordinary traffic"
    assert any(d == "10.0.1.25" for _, d in peers) and any(s == "10.0.1.25" for s, _ in peers)
    # the upload itself happens only in the last day
    big = [r for r in rows if r.destinationaddress == "203.0.113.66" and (r.numbytes or 0) > 1_000_000]
    assert big and min(r.starttime or 0 for r in big) >= TO_TS - 86_400


def test_ssh_brute_force_is_mostly_rejected_on_every_day(
    generated: tuple[GenerationReport, list[Row]],
) -> None:
    _, rows = generated
    timeline = expected_timeline(rows, "198.51.100.23", FROM_TS, TO_TS, "2025/03/09", "2025/03/12")
    attempts = [r for r in timeline if r.sourceaddress == "198.51.100.23"]
    assert all(r.destinationport == 22 for r in attempts)
    assert Counter(r.action for r in attempts)["REJECT"] > 0.6 * len(attempts)
    assert len({r.destinationaddress for r in attempts}) >= 10
    assert {r.account for r in attempts} == {"012345678901", "111122223333"}
    days = {datetime.fromtimestamp(r.starttime or 0, UTC).date() for r in attempts}
    assert len(days) >= DAYS
    starts = [r.starttime or 0 for r in timeline]
    assert starts == sorted(starts)


def test_mining_beacon_calls_every_few_minutes(generated: tuple[GenerationReport, list[Row]]) -> None:
    _, rows = generated
    ratio = expected_ratio(rows, "10.0.2.40", FROM_TS, TO_TS, "2025/03/09", "2025/03/12")
    assert ratio[0][:2] == ("10.0.2.40", "192.0.2.77")
    calls = sorted(
        {
            r.starttime
            for r in rows
            if r.sourceaddress == "10.0.2.40" and r.destinationaddress == "192.0.2.77" and r.starttime
        }
    )
    assert all(r.destinationport == 3333 for r in rows if r.destinationaddress == "192.0.2.77")
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert 180 <= statistics.median(gaps) <= 420
    assert len(calls) > DAYS * 200


def test_incidents_are_documented() -> None:
    commands = {i.name: i.example_command for i in INCIDENTS}
    assert commands == {
        "exfiltration": "ratio 10.0.1.25",
        "ssh-brute-force": "timeline 198.51.100.23",
        "crypto-mining-beacon": "ratio 10.0.2.40",
    }
    assert all(i.description for i in INCIDENTS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-", None),
        ("", None),
        ("\\N", None),
        ("443", 443),
        ("+7", 7),
        ("-3", -3),
        ("1.9", 1),
        ("2147483647", 2147483647),
        ("2147483648", None),
        (" 1", None),
        ("1e3", None),
    ],
)
def test_oracle_reads_integers_as_athena_does(text: str, expected: int | None) -> None:
    assert parse_int(text) == expected


def test_oracle_reads_lines_as_athena_does() -> None:
    nodata = parse_line("2 012345678901 eni-0 - - - - - - - 10 20 - NODATA", "2025/03/10", "us-east-1", "x")
    assert (nodata.account, nodata.sourceaddress, nodata.sourceport, nodata.action) == (
        "012345678901",
        "-",
        None,
        "-",
    )
    assert parse_int("3000000000", INT64) == 3_000_000_000
    big = parse_line(  # packets, start and end are bigint (AWS's reference DDL); the ports stay int
        "2 012345678901 eni-0 1.2.3.4 5.6.7.8 2147483648 443 6 3000000000 9 2200000000 2200000060 ACCEPT OK",
        "2039/09/18",
        "us-east-1",
        "x",
    )
    assert (big.numpackets, big.starttime, big.endtime, big.sourceport) == (
        3_000_000_000,
        2_200_000_000,
        2_200_000_060,
        None,
    )
    short = parse_line("2 012345678901  1.2.3.4", "2025/03/10", "us-east-1", "x")
    assert (short.interfaceid, short.sourceaddress, short.destinationaddress, short.logstatus) == (
        "",
        "1.2.3.4",
        None,
        None,
    )
    assert split_lines(b"\xef\xbb\xbfh\r\na\rb\n\nc\n") == ["h", "a", "b", "", "c"]


# --------------------------------------------------------------------------------------------------
# A custom (version 5) format

V2_COLUMNS = (  # all but version, which is 5 in the custom format
    "account", "interfaceid", "sourceaddress", "destinationaddress", "sourceport",
    "destinationport", "protocol", "numpackets", "numbytes", "starttime", "endtime", "action", "logstatus",
    "date_partition", "region_partition", "account_partition",
)  # fmt: skip
NEW_STRING_COLUMNS = (
    "vpcid", "subnetid", "instanceid", "type", "pktsrcaddr", "pktdstaddr", "region", "azid", "flowdirection",
)  # fmt: skip


@pytest.fixture(scope="module")
def generated_v5(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerationReport, list[Row]]:
    root = tmp_path_factory.mktemp("sample-v5")
    report = generate(root, end=END, days=DAYS, seed=7, scale=0.1, log_format=V5_FORMAT)
    return report, load_rows(root)


def _v2_part(r: Row) -> tuple[object, ...]:
    return tuple(getattr(r, c) for c in V2_COLUMNS)


def _nat_path(r: Row) -> bool:
    return PATCH_MIRROR in (r.sourceaddress, r.destinationaddress) or NAT_GATEWAY in (
        r.sourceaddress,
        r.destinationaddress,
    )


def test_v5_format_names_the_fields_the_console_queries_read() -> None:
    assert parse_log_format(V5_FORMAT) == (
        *V2_HEADERS, "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
        "region", "az-id", "flow-direction", "traffic-path",
    )  # fmt: skip
    assert V2_HEADERS == DEFAULT_V2_HEADERS


def test_v5_files_have_the_formats_header_and_fields(
    generated_v5: tuple[GenerationReport, list[Row]],
) -> None:
    report, rows = generated_v5
    header = " ".join(parse_log_format(V5_FORMAT))
    files = _files(report.root)
    assert len(files) == report.files > 0
    for path in files[:80]:
        lines = gzip.decompress(path.read_bytes()).decode().split("\n")
        assert lines[0] == header
        for line in lines[1:-1]:
            fields = line.split(" ")
            assert len(fields) == 25 and "" not in fields, line
            assert fields[0] == "5" and ENI.fullmatch(fields[2]), line
    assert len(rows) == report.records and {r.version for r in rows} == {5}


def test_v5_is_reproducible(tmp_path: Path) -> None:
    end = datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    first = generate(tmp_path / "a", end=end, days=1, seed=3, scale=0.05, log_format=V5_FORMAT)
    second = generate(tmp_path / "b", end=end, days=1, seed=3, scale=0.05, log_format=V5_FORMAT)
    a, b = _files(first.root), _files(second.root)
    assert [p.relative_to(first.root) for p in a] == [p.relative_to(second.root) for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))


def test_v5_carries_the_same_traffic_plus_the_nat_gateways(
    generated: tuple[GenerationReport, list[Row]], generated_v5: tuple[GenerationReport, list[Row]]
) -> None:
    _, v2 = generated
    _, v5 = generated_v5
    nat = [r for r in v5 if _nat_path(r)]
    assert nat and not any(_nat_path(r) for r in v2)
    same = Counter(_v2_part(r) for r in v5 if not _nat_path(r))
    before = Counter(_v2_part(r) for r in v2)
    assert not same - before, "every v5 record but the NAT gateway's is a v2 record"
    dropped = before - same  # NODATA rows of the windows the downloads made busy, nothing else
    assert all(row[V2_COLUMNS.index("logstatus")] == "NODATA" for row in dropped.elements())
    assert sum(dropped.values()) < 10


def test_nodata_and_skipdata_rows_have_dashes_in_the_new_fields(
    generated_v5: tuple[GenerationReport, list[Row]],
) -> None:
    _, rows = generated_v5
    status = [r for r in rows if r.logstatus != "OK"]
    assert {r.logstatus for r in status} == {"NODATA", "SKIPDATA"}
    for r in status:
        assert all(getattr(r, c) == "-" for c in NEW_STRING_COLUMNS), r
        assert (r.tcpflags, r.trafficpath) == (None, None), "`-` in an integer column reads as NULL"
        assert r.interfaceid and r.interfaceid != "-" and r.starttime and r.endtime


def test_v5_fields_are_filled_as_aws_fills_them(generated_v5: tuple[GenerationReport, list[Row]]) -> None:
    _, rows = generated_v5
    ok = [r for r in rows if r.logstatus == "OK"]
    assert ok
    per_eni: dict[str | None, set[tuple[str | None, ...]]] = {}
    for r in ok:
        assert r.vpcid is not None and re.fullmatch(r"vpc-[0-9a-f]{17}", r.vpcid)
        assert r.subnetid is not None and re.fullmatch(r"subnet-[0-9a-f]{17}", r.subnetid)
        assert r.instanceid == "-" or re.fullmatch(r"i-[0-9a-f]{17}", r.instanceid or "")
        assert r.region == r.region_partition
        assert (r.azid or "").startswith({"us-east-1": "use1-az", "eu-west-1": "euw1-az"}[r.region_partition])
        assert r.type == ("IPv6" if ":" in (r.sourceaddress or "") else "IPv4")
        assert r.tcpflags in ({0, 1, 2, 3, 18, 19} if r.protocol == 6 else {0})
        if r.action == "REJECT":
            assert r.tcpflags == 2, "a rejected client only sends SYNs"
        assert r.flowdirection in ("ingress", "egress")
        if r.flowdirection == "ingress":
            assert r.trafficpath is None
        else:
            assert r.trafficpath in (1, 7, 8)
        if not _nat_path(r):
            assert (r.pktsrcaddr, r.pktdstaddr) == (r.sourceaddress, r.destinationaddress)
        per_eni.setdefault(r.interfaceid, set()).add((r.vpcid, r.subnetid, r.instanceid, r.azid))
    assert all(len(v) == 1 for v in per_eni.values()), "one subnet, instance and AZ per interface"
    assert len({r.subnetid for r in ok}) >= 6 and len({r.vpcid for r in ok}) == 3
    assert Counter(r.type for r in ok)["IPv6"] > 0
    assert {r.trafficpath for r in ok} == {None, 1, 7, 8}
    # an internal connection is egress on the client's interface and ingress on the server's
    seen = {
        r.flowdirection for r in ok if (r.sourceaddress, r.destinationaddress) == ("10.0.2.15", "10.0.3.20")
    }
    assert seen == {"ingress", "egress"}


def test_the_nat_gateway_shows_packet_level_addresses(
    generated_v5: tuple[GenerationReport, list[Row]],
) -> None:
    _, rows = generated_v5
    differ = [r for r in rows if (r.pktsrcaddr, r.pktdstaddr) != (r.sourceaddress, r.destinationaddress)]
    assert len(differ) >= 2 * DAYS
    assert {r.instanceid for r in differ} == {"-"} and len({r.interfaceid for r in differ}) == 1
    for r in differ:  # host -> gateway carries the mirror as packet destination; gateway -> host as source
        if r.destinationaddress == NAT_GATEWAY:
            assert (r.pktsrcaddr, r.pktdstaddr) == (r.sourceaddress, PATCH_MIRROR)
            assert r.flowdirection == "ingress"
        else:
            assert (r.sourceaddress, r.pktsrcaddr, r.pktdstaddr) == (
                NAT_GATEWAY,
                PATCH_MIRROR,
                r.destinationaddress,
            )
            assert (r.flowdirection, r.trafficpath) == ("egress", 1)
    outside = [r for r in rows if r.sourceaddress == NAT_GATEWAY and r.destinationaddress == PATCH_MIRROR]
    assert outside and all(r.trafficpath == 8 for r in outside), "out through the internet gateway"


def test_a_custom_order_is_written_and_read_by_its_header(tmp_path: Path) -> None:
    end = datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    shuffled = (
        "${interface-id} ${start} ${srcaddr} ${pkt-dstaddr} ${log-status} ${bytes} ${tcp-flags} ${version}"
    )
    custom = generate(tmp_path / "custom", end=end, days=1, seed=3, scale=0.05, log_format=shuffled)
    full = generate(tmp_path / "full", end=end, days=1, seed=3, scale=0.05, log_format=V5_FORMAT)
    first = gzip.decompress(_files(custom.root)[0].read_bytes()).decode().split("\n")[0]
    assert first == "interface-id start srcaddr pkt-dstaddr log-status bytes tcp-flags version"
    columns = ("interfaceid", "starttime", "sourceaddress", "pktdstaddr", "logstatus", "numbytes", "tcpflags")
    got, want = load_rows(custom.root), load_rows(full.root)
    assert Counter(tuple(getattr(r, c) for c in columns) for r in got) == Counter(
        tuple(getattr(r, c) for c in columns) for r in want
    )
    assert {r.version for r in got} == {3}, "a record's version is the highest its format's fields need"
    absent = {(r.account, r.destinationaddress, r.vpcid, r.region) for r in got}
    assert absent == {(None, None, None, None)}, "fields the header lacks are NULL"


def test_a_wrong_format_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a flow-log field"):
        generate(tmp_path, end=datetime(2024, 1, 2, tzinfo=UTC), days=1, log_format="${version} ${colour}")
    assert not (tmp_path / "AWSLogs").exists()


def test_oracle_maps_fields_by_header() -> None:
    headers = ("log-status", "tcp-flags", "pkt-srcaddr", "traffic-path", "srcaddr")
    row = parse_line("OK 19 203.0.113.80 - 10.0.1.200", "2025/03/10", "us-east-1", "x", headers)
    assert (row.logstatus, row.tcpflags, row.pktsrcaddr, row.trafficpath, row.sourceaddress) == (
        "OK", 19, "203.0.113.80", None, "10.0.1.200",
    )  # fmt: skip
    assert (row.version, row.destinationaddress, row.vpcid, row.flowdirection) == (None, None, None, None)
    assert parse_line("OK 40000", "2025/03/10", "us-east-1", "x", headers).tcpflags is None, "smallint range"
    short = parse_line("OK 2", "2025/03/10", "us-east-1", "x", headers)
    assert (short.tcpflags, short.pktsrcaddr, short.sourceaddress) == (2, None, None)
    with pytest.raises(ValueError, match="unknown flow-log fields"):
        parse_line("1", "2025/03/10", "us-east-1", "x", ("colour",))
