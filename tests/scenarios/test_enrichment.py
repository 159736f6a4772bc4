"""Answers that name the machines, end to end: `/flow ratio` through the HTTP app, the Redis queue and a
worker process on the local engine over the sample logs, with FLOWBOT_ENRICH=on, the worker's EC2 a moto
server holding an instance (Name tag) and an RDS-like interface at addresses of the sample data, and AWS's
ranges from the fixture. Every expected name comes from what the test made in moto or from the fixture."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.flowlog_oracle import RATIO_COLUMNS, Row
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import WINDOW, free_port, run_worker, slash, window_ratio

pytestmark = pytest.mark.e2e
REGION = "us-east-1"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "ip-ranges.json"
HOST = "10.0.1.25"  # bot/samples/flow_logs.py EXFIL_HOST: it talks to S3 (52.216.20.35) and postgres
DATABASE = "10.0.3.20"
S3_ADDRESSES = {"52.216.20.35", "52.217.44.82"}  # inside the fixture's 52.216.0.0/15 S3 us-east-1
NAME_COLUMNS = ["sourceaddress_name", "destinationaddress_name"]


@pytest.fixture
def moto_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _aws(url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def estate(moto_url: str) -> dict[str, str]:
    """In moto's EC2: a VPC, two subnets, the instance at HOST with a Name tag, an RDS-like interface at
    DATABASE. Returns the ids moto gave them."""
    ec2: Any = boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    web = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    data = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.3.0/24")["Subnet"]["SubnetId"]
    instance = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        SubnetId=web,
        PrivateIpAddress=HOST,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "payments-api-1"}]}
        ],
    )["Instances"][0]["InstanceId"]
    rds = ec2.create_network_interface(
        SubnetId=data, PrivateIpAddress=DATABASE, Description="RDS Network Interface"
    )["NetworkInterface"]["NetworkInterfaceId"]
    return {"vpc": vpc, "subnet": web, "instance": instance, "rds": rds}


@pytest.fixture
def env(env: dict[str, str], moto_url: str) -> dict[str, str]:
    """The scenario environment with enrichment on, AWS pointed at moto, the ranges from the fixture."""
    return {
        **env,
        **_aws(moto_url),
        "FLOWBOT_ENRICH": "on",
        "FLOWBOT_ENRICH_IP_RANGES_URL": str(FIXTURE),
        "FLOWBOT_ENRICH_TIMEOUT_SECONDS": "20",
    }


def _answer(mock_slack: MockSlack) -> tuple[str, list[list[str]]]:
    """The answer's blocks (as JSON text) and its CSV's rows."""
    posted = mock_slack.wait_for("chat.postMessage", count=2)[1]
    mock_slack.wait_for("files.completeUploadExternal")
    (uploaded,) = mock_slack.uploads.values()
    return json.dumps(posted.json_param("blocks")), list(csv.reader(io.StringIO(uploaded.decode())))


def test_a_ratio_answer_names_the_instance_and_labels_s3(
    app_url: str, env: dict[str, str], estate: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    status, _ = slash(app_url, f"ratio {HOST} {WINDOW}", trigger_id="trig-enrich-1")
    assert status == 200
    run_worker(env)
    blocks, rows = _answer(mock_slack)

    instance = f"payments-api-1 {estate['instance']}"
    assert "*Machines*" in blocks
    assert f"`{HOST}` {instance}" in blocks
    assert "`52.216.20.35` S3 us-east-1" in blocks
    assert f"`{DATABASE}` RDS Network Interface" in blocks
    assert "names unavailable" not in blocks

    expected = window_ratio(oracle_rows, HOST)
    assert rows[0] == [*RATIO_COLUMNS, *NAME_COLUMNS]
    width = len(RATIO_COLUMNS)
    assert [r[:width] for r in rows[1:]] == [["" if v is None else str(v) for v in row] for row in expected]
    where = f"{estate['vpc']}; {estate['subnet']}; sg-"
    named = {}
    for row in rows[1:]:
        for address, name in zip(row[:2], row[width:], strict=True):
            named.setdefault(address, name)
    assert named[HOST].startswith(f"{instance}; {where}")
    assert named[DATABASE].startswith(f"RDS Network Interface; {estate['rds']}; ")
    seen_s3 = S3_ADDRESSES & set(named)
    assert seen_s3 and all(named[a] == "S3 us-east-1" for a in seen_s3)
    assert named["203.0.113.66"] == ""  # documentation range: nobody's


def test_the_answer_still_comes_when_ec2_cannot_be_reached(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    worker_env = {**env, **_aws(dead), "FLOWBOT_ENRICH_TIMEOUT_SECONDS": "2"}
    status, _ = slash(app_url, f"ratio {HOST} {WINDOW}", trigger_id="trig-enrich-2")
    assert status == 200
    run_worker(worker_env)
    blocks, rows = _answer(mock_slack)

    assert "names unavailable: " in blocks
    expected = window_ratio(oracle_rows, HOST)
    assert f"{len(expected):,} rows" in blocks
    assert rows[0] == [*RATIO_COLUMNS, *NAME_COLUMNS]
    s3 = [r for r in rows[1:] if r[0] in S3_ADDRESSES]
    assert s3 and all(r[-2] == "S3 us-east-1" for r in s3)  # the ranges are a file: they still name S3
    assert all(r[-1] == "" for r in rows[1:] if r[1] == HOST)
