"""`flowbot athena check-format` reads a few headers per account and region from S3 (moto) and names the
files whose fields differ from FLOWBOT_LOG_FORMAT."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from bot.cli import main
from tests.conftest import fake_aws_environment

REGION = "eu-west-1"
V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
    "log-status"
)
TODAY = datetime.now(UTC).date()


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    fake_aws_environment(monkeypatch, tmp_path, REGION, prefixes=("FLOWBOT_", "AWS_"))
    for key, value in {
        "FLOWBOT_FLOW_LOGS_BUCKET": "central-logs",
        "FLOWBOT_FLOW_LOGS_PREFIX": "prod",
        "FLOWBOT_ACCOUNTS": "012345678901,111122223333",
        "FLOWBOT_REGIONS": REGION,
        "FLOWBOT_FIRST_DAY": "2025-11-30",
        "FLOWBOT_ATHENA_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="central-logs", CreateBucketConfiguration={"LocationConstraint": REGION})
        yield s3


def put(s3: object, account: str, day: object, header: str, name: str = "a") -> str:
    key = f"prod/AWSLogs/{account}/vpcflowlogs/{REGION}/{day:%Y/%m/%d}/{account}_vpcflowlogs_{name}.log.gz"
    lines = header + "\n" + "2 x eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 0 60 ACCEPT OK\n" * 20_000  # > 64 KiB
    s3.put_object(Bucket="central-logs", Key=key, Body=gzip.compress(lines.encode()))  # type: ignore[attr-defined]
    return key


def test_every_sample_agrees(bucket: object, capsys: pytest.CaptureFixture[str]) -> None:
    old = put(bucket, "012345678901", TODAY - timedelta(days=300), V2)
    new = put(bucket, "012345678901", TODAY, V2)
    other = put(bucket, "111122223333", TODAY - timedelta(days=1), V2)
    assert main(["athena", "check-format"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"ok  012345678901 {REGION}  {old}",
        f"ok  012345678901 {REGION}  {new}",
        f"ok  111122223333 {REGION}  {other}",
    ]


def test_a_file_in_another_format_or_a_silent_account_is_named(
    bucket: object, capsys: pytest.CaptureFixture[str]
) -> None:
    put(bucket, "012345678901", TODAY - timedelta(days=300), V2)
    changed = put(bucket, "012345678901", TODAY, V2.replace("srcaddr dstaddr", "dstaddr srcaddr") + " vpc-id")
    assert main(["athena", "check-format"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"DIFFERS  012345678901 {REGION}  {changed}: has vpc-id"
    silent = f"prod/AWSLogs/111122223333/vpcflowlogs/{REGION}/"
    assert lines[2] == f"DIFFERS  111122223333 {REGION}  {silent}: no objects under this prefix"
    assert lines[-1].startswith("Athena reads fields by position in FLOWBOT_LOG_FORMAT")
