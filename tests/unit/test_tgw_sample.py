"""The sample Transit Gateway flow logs look like what a transit gateway's flow log delivers to S3, are
reproducible, follow the record semantics the `tgw` templates rely on, and hold their incidents.

Everything is read back with the independent oracle (`tests/flowlog_oracle.py`) or as text, never with the
engine."""

from __future__ import annotations

import gzip
import hashlib
import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.samples.flow_logs import MAIN_ACCOUNT, SECOND_ACCOUNT
from bot.samples.tgw_logs import (
    ATTACHMENTS,
    BLACKHOLE_DESTINATION,
    BLACKHOLE_SOURCE,
    DROP_ATTACHMENT,
    HEADER_LINE,
    LATERAL_ATTACHMENTS,
    LATERAL_PEER,
    LATERAL_SOURCE,
    MAIN,
    NO_ROUTE_DESTINATION,
    NO_ROUTE_SOURCE,
    SECOND,
    TGW_INCIDENTS,
    VPN,
    GenerationReport,
    generate_tgw,
    tgw_id,
)
from tests.flowlog_oracle import TGW_V6_HEADERS, Row, expected_count, load_rows

END = datetime(2025, 3, 12, 14, 0, tzinfo=UTC)
DAYS = 3
TO_TS = int(END.timestamp())
FROM_TS = TO_TS - DAYS * 86_400
NAME = re.compile(
    r"AWSLogs/(?P<account>\d{12})/vpcflowlogs/(?P<region>[a-z]{2}-[a-z]+-\d)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_vpcflowlogs_(?P=region)_fl-[0-9a-f]{17}_"
    r"(?P<stamp>(?P=y)(?P=m)(?P=d)T\d{2}[0-5]0Z)_[0-9a-f]{8}\.log\.gz"
)
"""Amazon VPC Transit Gateways, "Transit Gateway Flow Logs records in Amazon S3": the VPC flow logs' folders
(`AWSLogs/account_id/vpcflowlogs/region/year/month/day/`) and file names."""
TGW_ID = re.compile(r"tgw-[0-9a-f]{17}")
ATTACHMENT_ID = re.compile(r"tgw-attach-[0-9a-f]{17}")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerationReport, list[Row]]:
    root = tmp_path_factory.mktemp("tgw-sample")
    report = generate_tgw(root, end=END, days=DAYS, seed=7, scale=0.2)
    return report, load_rows(root)


def _files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.log.gz"))


def test_layout_and_names_follow_the_s3_delivery(generated: tuple[GenerationReport, list[Row]]) -> None:
    report, rows = generated
    files = _files(report.root)
    assert len(files) == report.files > 0 and len(rows) == report.records
    for path in files:
        match = NAME.fullmatch(path.relative_to(report.root).as_posix())
        assert match, path
        delivered = datetime.strptime(match["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC).timestamp()
        lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        ends = [int(line.split(" ")[24]) for line in lines[1:]]
        assert ends and all(delivered - 600 <= e < delivered for e in ends), path
    folders = {p.relative_to(report.root).parts[1:4] for p in files}
    assert folders == {(MAIN_ACCOUNT, "vpcflowlogs", "us-east-1"), (MAIN_ACCOUNT, "vpcflowlogs", "eu-west-1")}
    assert report.accounts == (MAIN_ACCOUNT,) and report.regions == ("eu-west-1", "us-east-1")
    assert (report.first_day, report.last_day) == (date(2025, 3, 9), date(2025, 3, 12))
    assert all(FROM_TS <= (r.starttime or 0) and (r.endtime or TO_TS) < TO_TS for r in rows)
    assert expected_count(rows, FROM_TS, TO_TS, "2025/03/09", "2025/03/12") == len(rows)


def test_files_are_gzip_text_with_the_default_tgw_header(
    generated: tuple[GenerationReport, list[Row]],
) -> None:
    report, _ = generated
    assert HEADER_LINE == " ".join(TGW_V6_HEADERS)
    for path in _files(report.root)[:60]:
        raw = path.read_bytes()
        assert raw[3] == 0 and raw[4:8] == b"\0\0\0\0", "no embedded name, mtime 0"
        lines = gzip.decompress(raw).decode().split("\n")
        assert lines[0] == HEADER_LINE and lines[-1] == ""
        for line in lines[1:-1]:
            fields = dict(zip(TGW_V6_HEADERS, line.split(" "), strict=True))
            assert "" not in fields.values(), line
            assert (fields["version"], fields["resource-type"]) == ("6", "TransitGateway")
            assert TGW_ID.fullmatch(fields["tgw-id"]) and ATTACHMENT_ID.fullmatch(fields["tgw-attachment-id"])
            assert fields["account-id"] == MAIN_ACCOUNT


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    end = datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    first = generate_tgw(tmp_path / "a", end=end, days=1, seed=3, scale=0.1)
    second = generate_tgw(tmp_path / "b", end=end, days=1, seed=3, scale=0.1)
    a, b = _files(first.root), _files(second.root)
    assert [p.relative_to(first.root) for p in a] == [p.relative_to(second.root) for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    other = generate_tgw(tmp_path / "c", end=end, days=1, seed=4, scale=0.1)
    assert [p.name for p in _files(other.root)] != [p.name for p in a], "the seed changes the content"


def test_refuses_to_mix_runs_and_bad_arguments(tmp_path: Path) -> None:
    end = datetime(2024, 1, 2, tzinfo=UTC)
    generate_tgw(tmp_path, end=end, days=1, scale=0.05)
    with pytest.raises(FileExistsError):
        generate_tgw(tmp_path, end=end, days=1)
    with pytest.raises(ValueError, match="days"):
        generate_tgw(tmp_path / "x", end=end, days=0)
    with pytest.raises(ValueError, match="scale"):
        generate_tgw(tmp_path / "y", end=end, scale=0)


def _ok(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.logstatus == "OK"]


def test_a_crossing_flow_is_recorded_on_both_attachments(
    generated: tuple[GenerationReport, list[Row]],
) -> None:
    """Per window and direction: ingress on the attachment it enters by, egress on the one it leaves by, each
    naming the other as its pair, with the same addresses, ports, counts and tgw-src/dst fields."""
    _, rows = generated

    def flow(r: Row) -> tuple[object, ...]:
        return (r.tgwid, r.sourceaddress, r.destinationaddress, r.sourceport, r.destinationport,
                r.starttime, r.endtime, r.numbytes, r.numpackets, r.tgwsrcvpcid, r.tgwdstvpcid, r.tgwsrceni,
                r.tgwdsteni)  # fmt: skip

    crossing = [r for r in _ok(rows) if r.tgwpairattachmentid != "-"]
    ingress = Counter(
        (flow(r), r.tgwattachmentid, r.tgwpairattachmentid) for r in crossing if r.flowdirection == "ingress"
    )
    egress = Counter(
        (flow(r), r.tgwpairattachmentid, r.tgwattachmentid) for r in crossing if r.flowdirection == "egress"
    )
    assert ingress and ingress == egress
    by_id = {a.id: a for a in ATTACHMENTS}
    for r in crossing:
        here, pair = r.tgwattachmentid or "", r.tgwpairattachmentid or ""
        entered, left = (here, pair) if r.flowdirection == "ingress" else (pair, here)
        assert (r.tgwsrcvpcid, r.tgwsrcvpcaccountid) == (by_id[entered].vpc_id, by_id[entered].account)
        assert (r.tgwdstvpcid, r.tgwdstvpcaccountid) == (by_id[left].vpc_id, by_id[left].account)
        assert r.packetslostnoroute == r.packetslostblackhole == r.packetslostttlexpired == 0


def test_drops_are_recorded_where_the_packets_entered(generated: tuple[GenerationReport, list[Row]]) -> None:
    _, rows = generated
    dropped = [r for r in _ok(rows) if r.tgwpairattachmentid == "-"]
    assert dropped and all(r.flowdirection == "ingress" for r in dropped)
    assert all(r.tgwdstvpcid == r.tgwdsteni == r.tgwdstvpcaccountid == "-" for r in dropped)
    lost = {
        (r.sourceaddress, r.destinationaddress, r.tgwattachmentid) for r in dropped if r.packetslostblackhole
    }
    assert lost == {(BLACKHOLE_SOURCE, BLACKHOLE_DESTINATION, DROP_ATTACHMENT)}
    no_route = {
        (r.sourceaddress, r.destinationaddress, r.tgwattachmentid) for r in dropped if r.packetslostnoroute
    }
    assert no_route == {(NO_ROUTE_SOURCE, NO_ROUTE_DESTINATION, DROP_ATTACHMENT)}
    assert {r.tgwattachmentid for r in dropped if r.packetslostttlexpired} == {VPN.id}
    for r in dropped:
        assert (r.numpackets or 0) == sum(
            c or 0 for c in (r.packetslostnoroute, r.packetslostblackhole, r.packetslostttlexpired)
        )


def test_the_vpn_and_the_status_rows_read_dash_and_null(
    generated: tuple[GenerationReport, list[Row]],
) -> None:
    _, rows = generated
    from_office = [r for r in _ok(rows) if r.tgwattachmentid == VPN.id and r.flowdirection == "ingress"]
    assert from_office and {(r.tgwsrcvpcid, r.tgwsrcvpcaccountid, r.tgwsrceni) for r in from_office} == {
        ("-", "-", "-")
    }
    skipped = [r for r in rows if r.logstatus == "SKIPDATA"]
    assert skipped and all(ATTACHMENT_ID.fullmatch(r.tgwattachmentid or "") for r in skipped)
    assert all(r.sourceaddress == "-" and r.numbytes is None and r.flowdirection == "-" for r in skipped)


def test_the_estate_spans_two_accounts_and_links_to_the_vpc_sample(
    generated: tuple[GenerationReport, list[Row]],
) -> None:
    _, rows = generated
    accounts = {r.tgwsrcvpcaccountid for r in _ok(rows)} | {r.tgwdstvpcaccountid for r in _ok(rows)}
    assert accounts == {MAIN_ACCOUNT, SECOND_ACCOUNT, "-"}
    assert {r.tgwid for r in rows} == {tgw_id("us-east-1"), tgw_id("eu-west-1")}
    # the main VPC's id is the one the main sample's custom-format logs write in vpc-id
    digest = hashlib.sha1(f"vpc/{MAIN_ACCOUNT}/us-east-1".encode(), usedforsecurity=False).hexdigest()
    assert MAIN.vpc_id == "vpc-" + digest[:17]
    assert SECOND.account == SECOND_ACCOUNT and MAIN.account == MAIN_ACCOUNT


def test_the_lateral_transfer_dwarfs_every_other_pair(generated: tuple[GenerationReport, list[Row]]) -> None:
    _, rows = generated
    last_day = [r for r in _ok(rows) if (r.starttime or 0) >= TO_TS - 86_400 and r.flowdirection == "ingress"]
    pairs: Counter[tuple[str | None, str | None]] = Counter()
    for r in last_day:
        pairs[(r.sourceaddress, r.destinationaddress)] += r.numbytes or 0
    (top, top_bytes), (_, runner_up) = pairs.most_common(2)
    assert top == (LATERAL_SOURCE, LATERAL_PEER) and top_bytes > 10 * runner_up > 0
    crossing = {
        (r.tgwattachmentid, r.tgwpairattachmentid)
        for r in last_day
        if (r.sourceaddress, r.destinationaddress) == top
    }
    assert crossing == {LATERAL_ATTACHMENTS}
    assert {i.example_command for i in TGW_INCIDENTS} == {"tgw vpcs", "tgw drops"}
