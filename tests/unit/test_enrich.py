"""Naming the machines (bot/enrich/): EC2's network interfaces on moto, AWS's ranges from the fixture, the
Redis cache and its TTL, and the deadline an answer never waits past."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import fakeredis
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from bot.enrich import eni as eni_module
from bot.enrich.eni import EniInventory, Interface, fetch_interfaces, load_inventory
from bot.enrich.ip_ranges import IpRanges, load_ip_ranges, parse, read_source
from bot.enrich.lookup import PendingNames, start_names, targets
from bot.enrich.names import ColumnNamer, Names, names_columns
from bot.query.catalog import load_catalog
from bot.query.engines.base import ResultStream
from bot.query.engines.local import LocalEngine
from bot.query.results import Column
from bot.redis_keys import ENRICH_ENI_KEY, ENRICH_IP_RANGES_KEY
from bot.request import FlowRequest, Window
from bot.settings import Settings
from bot.worker.answer import answer
from tests.conftest import SAMPLE_END, fake_aws_environment

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ip-ranges.json"
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aws_environment(monkeypatch, tmp_path, REGION, prefixes=("FLOWBOT_", "AWS_"))


@pytest.fixture
def redis() -> Iterator[fakeredis.FakeRedis]:
    server = fakeredis.FakeRedis()
    yield server
    server.close()


def _estate(ec2: Any) -> dict[str, str]:
    """A VPC with an instance named by its Name tag and a NAT gateway's interface; what moto made."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    instance = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        PrivateIpAddress="10.0.1.25",
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "payments-api-1"}]}
        ],
    )["Instances"][0]["InstanceId"]
    nat = ec2.create_network_interface(
        SubnetId=subnet, PrivateIpAddress="10.0.1.99", Description="Interface for NAT Gateway nat-0abc"
    )["NetworkInterface"]["NetworkInterfaceId"]
    return {"vpc": vpc, "subnet": subnet, "instance": instance, "nat": nat}


# --- the network interfaces -------------------------------------------------------------------------


@mock_aws
def test_an_instance_is_named_by_its_own_name_tag_and_a_nat_interface_by_its_description() -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    made = _estate(ec2)
    inventory = EniInventory("123456789012", REGION, fetch_interfaces(ec2))
    (web,) = inventory.by_address["10.0.1.25"]
    assert (web.instance_id, web.instance_name, web.vpc, web.subnet) == (
        made["instance"],
        "payments-api-1",
        made["vpc"],
        made["subnet"],
    )
    assert web.label() == f"payments-api-1 {made['instance']}"
    assert web.groups and all(g.startswith("sg-") for g in web.groups)
    assert web.detail().startswith(f"payments-api-1 {made['instance']}; {made['vpc']}; {made['subnet']}; sg-")
    nat = inventory.by_eni[made["nat"]]
    assert nat.label() == "Interface for NAT Gateway nat-0abc" and not nat.instance_id
    assert inventory.by_address["10.0.1.99"] == [nat]


def _eni(eni: str, ip: str, **fields: Any) -> dict[str, Any]:
    return {
        "NetworkInterfaceId": eni,
        "VpcId": "vpc-1",
        "SubnetId": "subnet-1",
        "Groups": [{"GroupId": "sg-1", "GroupName": "web"}],
        "PrivateIpAddress": ip,
        "PrivateIpAddresses": [{"PrivateIpAddress": ip, "Primary": True}],
        **fields,
    }


def test_every_page_of_interfaces_is_read_and_instances_named_from_their_own_tags() -> None:
    """moto returns every interface on one page; a Stubber answers as EC2 does past MaxResults."""
    ec2 = boto3.client("ec2", region_name=REGION)
    stub = Stubber(ec2)
    first_page = [_eni(f"eni-{n:017x}", f"10.0.2.{n}", InterfaceType="interface") for n in range(1, 4)]
    instance_eni = _eni(
        "eni-0000000000000000a",
        "10.0.1.25",
        InterfaceType="interface",
        Attachment={"InstanceId": "i-0123456789abcdef0"},
        TagSet=[{"Key": "Name", "Value": "the interface's own tag, not the instance's"}],
    )
    nat = _eni(
        "eni-0000000000000000b",
        "10.0.3.7",
        InterfaceType="nat_gateway",
        Description="Interface for NAT Gateway nat-0abc",
        Association={"PublicIp": "3.5.140.2"},
    )
    stub.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": first_page, "NextToken": "page-2"},
        {"MaxResults": 1000},
    )
    stub.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [instance_eni, nat]},
        {"MaxResults": 1000, "NextToken": "page-2"},
    )
    stub.add_response(
        "describe_instances",
        {
            "Reservations": [
                {
                    "Instances": [
                        {"InstanceId": "i-0123456789abcdef0", "Tags": [{"Key": "Name", "Value": "web-1"}]}
                    ]
                }
            ]
        },
        {"Filters": [{"Name": "instance-id", "Values": ["i-0123456789abcdef0"]}], "MaxResults": 1000},
    )
    with stub:
        interfaces = fetch_interfaces(ec2)
    stub.assert_no_pending_responses()
    inventory = EniInventory("123456789012", REGION, interfaces)
    assert len(interfaces) == 5
    assert inventory.by_address["10.0.1.25"][0].label() == "web-1 i-0123456789abcdef0"
    assert (
        inventory.by_eni["eni-0000000000000000b"].label() == "NAT gateway: Interface for NAT Gateway nat-0abc"
    )
    assert inventory.by_address["3.5.140.2"][0].eni == "eni-0000000000000000b"  # its public address too


def test_instances_are_asked_for_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eni_module, "INSTANCE_BATCH", 2)
    ec2 = boto3.client("ec2", region_name=REGION)
    stub = Stubber(ec2)
    ids = [f"i-{n:017x}" for n in range(5)]
    for start in range(0, 5, 2):
        batch = ids[start : start + 2]
        stub.add_response(
            "describe_instances",
            {
                "Reservations": [
                    {"Instances": [{"InstanceId": i, "Tags": [{"Key": "Name", "Value": i[-2:]}]}]}
                    for i in batch
                ]
            },
            {"Filters": [{"Name": "instance-id", "Values": batch}], "MaxResults": 1000},
        )
    with stub:
        names = eni_module.instance_names(ec2, ids)
    assert names == {i: i[-2:] for i in ids}


@mock_aws
def test_the_inventory_is_cached_per_account_and_region_with_its_ttl(redis: fakeredis.FakeRedis) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    made = _estate(ec2)
    calls: list[int] = []

    def factory() -> Any:
        calls.append(1)
        return ec2

    first = load_inventory(redis, factory, "123456789012", REGION, ttl_seconds=600)
    key = ENRICH_ENI_KEY.format(account="123456789012", region=REGION)
    assert key == "flowbot:enrich:eni:123456789012:us-east-1"
    assert 0 < redis.ttl(key) <= 600
    ec2.terminate_instances(InstanceIds=[made["instance"]])  # EC2 changes; the cache does not, until expiry
    again = load_inventory(redis, factory, "123456789012", REGION, ttl_seconds=600)
    assert calls == [1]  # the second lookup made no AWS call
    assert again.by_address["10.0.1.25"][0] == first.by_address["10.0.1.25"][0]
    assert again.by_address["10.0.1.25"][0].instance_name == "payments-api-1"
    redis.delete(key)  # what the TTL does
    load_inventory(redis, factory, "123456789012", REGION, ttl_seconds=600)
    assert calls == [1, 1]
    other = load_inventory(redis, factory, "123456789012", "eu-west-1", ttl_seconds=600)
    assert calls == [1, 1, 1] and other.region == "eu-west-1"


def test_the_ttl_expires_the_cached_inventory() -> None:
    server = fakeredis.FakeServer()
    redis = fakeredis.FakeRedis(server=server)
    ec2 = object()
    calls: list[int] = []

    def factory() -> Any:
        calls.append(1)
        return ec2

    monkey = pytest.MonkeyPatch()
    monkey.setattr(
        eni_module, "fetch_interfaces", lambda client: [Interface("eni-1", addresses=("10.0.0.1",))]
    )
    try:
        load_inventory(redis, factory, "123456789012", REGION, ttl_seconds=1)
        load_inventory(redis, factory, "123456789012", REGION, ttl_seconds=1)
        assert calls == [1]
        time.sleep(1.1)
        load_inventory(redis, factory, "123456789012", REGION, ttl_seconds=1)
        assert calls == [1, 1]
    finally:
        monkey.undo()


@mock_aws
def test_a_role_is_assumed_in_each_account() -> None:
    """With FLOWBOT_ENRICH_ROLE_ARN the account's interfaces are read through that account's role."""
    other = "012345678901"
    sts = boto3.client("sts", region_name=REGION)
    assumed = sts.assume_role(RoleArn=f"arn:aws:iam::{other}:role/flowbot-enrich", RoleSessionName="setup")
    creds = assumed["Credentials"]
    there = boto3.client(
        "ec2",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    made = _estate(there)
    settings = Settings(enrich="on", enrich_role_arn="arn:aws:iam::{account}:role/flowbot-enrich")
    assert targets(settings, other, None) == [(other, REGION)]
    names = start_names(settings, None, other, REGION)
    found = names.wait()
    assert [inv.account for inv in found.inventories] == [other]
    assert found.label("10.0.1.25", "ip") == f"payments-api-1 {made['instance']}"
    mine = start_names(Settings(enrich="on"), None, None, REGION).wait()  # own credentials: own account
    assert mine.label("10.0.1.25", "ip") == ""


def test_targets_follow_the_query_then_the_settings() -> None:
    role = "arn:aws:iam::{account}:role/r"
    both = Settings(accounts="111122223333,444455556666", regions="eu-west-1,us-east-1", enrich_role_arn=role)
    assert targets(both, None, None) == [
        ("111122223333", "eu-west-1"),
        ("111122223333", "us-east-1"),
        ("444455556666", "eu-west-1"),
        ("444455556666", "us-east-1"),
    ]
    assert targets(both, "111122223333", "us-east-1") == [("111122223333", "us-east-1")]
    no_role = Settings(accounts="111122223333", enrich_regions="eu-west-2")
    assert targets(no_role, "111122223333", None) == [(None, "eu-west-2")]  # own credentials only
    assert targets(Settings(), None, None) == [(None, REGION)]  # the SDK's region


# --- AWS's published ranges -----------------------------------------------------------------------


def test_the_fixture_is_in_aws_format_and_names_s3_in_us_east_1() -> None:
    document = json.loads(FIXTURE.read_text())
    assert set(document) == {"syncToken", "createDate", "prefixes", "ipv6_prefixes"}
    assert all(
        list(p) == ["ip_prefix", "region", "service", "network_border_group"] for p in document["prefixes"]
    )
    ranges = parse(read_source(str(FIXTURE), 1.0))
    assert ranges.lookup("52.216.20.35") == "S3 us-east-1"  # S3 preferred over its AMAZON twin
    assert ranges.lookup("52.217.44.82") == "S3 us-east-1"
    assert ranges.lookup("54.231.129.40") is None  # above 54.231.0.0/17
    assert ranges.lookup("52.218.97.12") == "S3 eu-west-1"
    assert ranges.lookup("2600:1f18:2489:8201::64") == "EC2 us-east-1"
    assert ranges.lookup("203.0.113.66") is None and ranges.lookup("10.0.1.25") is None
    assert ranges.lookup("not an address") is None and ranges.sync_token == "1764892387"


def test_the_longest_prefix_wins_and_a_specific_service_beats_amazon() -> None:
    ranges = IpRanges(
        [
            ("10.0.0.0/8", "AMAZON", "us-east-1"),
            ("10.1.0.0/16", "EC2", "us-east-1"),
            ("10.1.2.0/24", "AMAZON", "us-east-1"),
            ("10.1.2.0/25", "S3", "eu-west-1"),
            ("2600:1f00::/24", "AMAZON", "GLOBAL"),
            ("2600:1f14::/35", "EC2", "us-west-2"),
            ("2600:1f14:8000::/36", "S3", "us-west-2"),
        ]
    )
    assert ranges.lookup("10.1.2.3") == "S3 eu-west-1"  # the longest specific prefix
    assert ranges.lookup("10.1.2.200") == "EC2 us-east-1"  # a specific /16 over an AMAZON /24
    assert ranges.lookup("10.9.9.9") == "AMAZON us-east-1"  # AMAZON only when nothing specific holds it
    assert ranges.lookup("2600:1f14:8000::1") == "S3 us-west-2"
    assert ranges.lookup("2600:1f14:1::1") == "EC2 us-west-2"
    assert ranges.lookup("2600:1f01::1") == "AMAZON GLOBAL"
    assert ranges.lookup("2001:db8::1") is None


def test_the_ranges_are_cached_with_their_ttl_and_fetched_again_after_it(
    redis: fakeredis.FakeRedis, tmp_path: Path
) -> None:
    copy = tmp_path / "ip-ranges.json"
    copy.write_text(FIXTURE.read_text())
    first = load_ip_ranges(redis, str(copy), ttl_seconds=3600, timeout=1.0)
    assert 0 < redis.ttl(ENRICH_IP_RANGES_KEY) <= 3600
    copy.unlink()  # the source is gone: the cache answers
    assert load_ip_ranges(redis, str(copy), 3600, 1.0).lookup("52.216.20.35") == "S3 us-east-1"
    assert first.lookup("52.216.20.35") == "S3 us-east-1"
    redis.delete(ENRICH_IP_RANGES_KEY)  # expired: fetched again, and the source is gone
    with pytest.raises(FileNotFoundError):
        load_ip_ranges(redis, str(copy), 3600, 1.0)


def test_a_file_that_is_not_aws_ranges_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "x.json"
    wrong.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match=r"not AWS.s ip-ranges\.json"):
        read_source(str(wrong), 1.0)


# --- names in the answer, within the deadline ----------------------------------------------------


def test_names_fill_the_name_columns_of_ip_and_eni_columns_only() -> None:
    template = load_catalog()["timeline"]
    columns = list(template.columns)
    result_columns = [Column(c.name, c.type) for c in columns]
    interface = Interface(
        "eni-0abc", "vpc-1", "subnet-1", ("sg-1",), "interface", "", "i-1", "web-1", ("10.0.1.25",)
    )
    names = Names([EniInventory("123456789012", REGION, [interface])], parse(read_source(str(FIXTURE), 1.0)))
    namer = ColumnNamer(names, template.columns, result_columns)
    assert [c.name for c in namer.columns()] == [
        "interfaceid_name",
        "sourceaddress_name",
        "destinationaddress_name",
    ]
    row = tuple(
        {"interfaceid": "eni-0abc", "sourceaddress": "10.0.1.25", "destinationaddress": "52.216.20.35"}.get(
            c.name
        )
        for c in columns
    )
    extended = namer.extend(row)
    assert extended[: len(row)] == row
    assert extended[len(row) :] == (
        "web-1 i-1; vpc-1; subnet-1; sg-1",
        "web-1 i-1; vpc-1; subnet-1; sg-1",
        "S3 us-east-1",
    )
    assert "interfaceid" not in template.summary_columns  # the summary names what it shows
    assert namer.machines([row], template.summary_columns) == [
        ("10.0.1.25", "web-1 i-1"),
        ("52.216.20.35", "S3 us-east-1"),
    ]
    assert namer.machines([row], ["interfaceid"]) == [("eni-0abc", "web-1 i-1")]


def test_a_slow_lookup_never_holds_the_answer_past_its_bound() -> None:
    release = threading.Event()
    pending = PendingNames(timeout=0.3)
    pending.start("network interfaces of 123456789012 in us-east-1", lambda: release.wait(30))
    pending.start("AWS IP ranges", lambda: parse(read_source(str(FIXTURE), 1.0)))
    started = time.monotonic()
    names = pending.wait()
    assert time.monotonic() - started < 1.0
    release.set()
    assert (
        names.note()
        == "names unavailable: network interfaces of 123456789012 in us-east-1 took longer than 0.3 s"
    )
    assert names.label("52.216.20.35", "ip") == "S3 us-east-1"  # what did come in time is used


def test_a_failed_lookup_is_one_short_line() -> None:
    pending = PendingNames(timeout=2)

    def refused() -> None:
        raise PermissionError("AccessDenied")

    pending.start("network interfaces of this account in us-east-1", refused)
    assert (
        pending.wait().note()
        == "names unavailable: network interfaces of this account in us-east-1: AccessDenied"
    )


def test_the_answer_comes_with_the_unavailable_line_when_lookups_are_slow(sample_root: Path) -> None:
    request = FlowRequest(
        query="ratio",
        params={"ip": "10.0.1.25"},
        window=Window(start=SAMPLE_END - timedelta(days=1), end=SAMPLE_END),
        limit=10_000,
        text="ratio 10.0.1.25",
    )
    release = threading.Event()
    pending = PendingNames(timeout=0.5)
    pending.start("network interfaces of this account in us-east-1", lambda: release.wait(30))
    pending.start("AWS IP ranges", lambda: parse(read_source(str(FIXTURE), 1.0)))
    out = io.StringIO()
    started = time.monotonic()
    summary = answer(
        request,
        catalog=load_catalog(),
        engine=LocalEngine(sample_root),
        summary_rows=10,
        csv_out=out,
        names=pending,
    )
    release.set()
    assert time.monotonic() - started < 10
    assert summary.names_note is not None and summary.names_note.startswith("names unavailable: ")
    assert summary.names_note in summary.text() and summary.names_note in json.dumps(summary.blocks())
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][-2:] == ["sourceaddress_name", "destinationaddress_name"]
    s3 = [r for r in rows[1:] if r[1] == "52.216.20.35"]
    assert s3 and s3[0][-1] == "S3 us-east-1"  # the ranges came in time
    assert all(r[-2] == "" for r in rows[1:] if r[0] == "10.0.1.25")  # the interfaces did not


class _CopyingEngine:
    """An engine whose result also exists as a CSV file (as Athena's does): `copied` says if it was used."""

    name = "athena"

    def __init__(self, rows: list[tuple[object, ...]]) -> None:
        self.rows, self.copied = rows, False

    def run(self, template: Any, request: FlowRequest, control: Any = None) -> ResultStream:
        columns = [Column(c.name, c.type) for c in template.columns]

        def copy(out: io.StringIO) -> None:
            self.copied = True
            out.write("copied as it is\n")

        return ResultStream(columns, iter([self.rows]), csv_copier=copy)

    def estimate(self, template: Any, request: FlowRequest) -> None:
        return None


def test_athenas_csv_streams_through_with_names_and_is_copied_without(tmp_path: Path) -> None:
    request = FlowRequest(
        query="ratio",
        params={"ip": "10.0.1.25"},
        window=Window(start=SAMPLE_END - timedelta(days=1), end=SAMPLE_END),
        limit=10_000,
        text="ratio 10.0.1.25",
    )
    rows: list[tuple[object, ...]] = [("10.0.1.25", "52.216.20.35", 8, 1000, 125, "2026/11/19 01:00:00", "x")]
    pending = PendingNames(timeout=2)
    pending.start("AWS IP ranges", lambda: parse(read_source(str(FIXTURE), 1.0)))
    engine = _CopyingEngine(rows)
    out = io.StringIO()
    summary = answer(
        request, catalog=load_catalog(), engine=engine, summary_rows=10, csv_out=out, names=pending
    )
    assert not engine.copied
    written = list(csv.reader(io.StringIO(out.getvalue())))
    assert written[1][-2:] == ["", "S3 us-east-1"]
    assert summary.machines == (("52.216.20.35", "S3 us-east-1"),) and summary.names_note is None
    plain = _CopyingEngine(rows)
    answer(request, catalog=load_catalog(), engine=plain, summary_rows=10, csv_out=io.StringIO())
    assert plain.copied  # enrichment off: Athena's file is copied as it is


def test_lookups_start_only_for_templates_with_columns_to_name() -> None:
    catalog = load_catalog()
    assert names_columns(catalog["ratio"].columns) and names_columns(catalog["accepted"].columns)
    assert not names_columns(catalog["count"].columns)
