"""`flowbot detect DIR` on sample data in several layouts, and `flowbot athena detect` on S3 (moto) holding a
few of the sample files: the printed settings read the data; the listings stay within the bound."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bot.cli import main
from bot.detect import MAX_LISTS
from bot.flowlog_format import DEFAULT_V2_HEADERS
from bot.samples.flow_logs import V5_FORMAT, generate
from tests.conftest import SAMPLE_END, fake_aws_environment

REGION = "eu-west-1"
BUCKET = "central-logs"
FIRST_DAY = (SAMPLE_END - timedelta(days=1)).date()
SAMPLES = {  # layout -> log format: one of them custom
    "text-daily": None,
    "text-hive-hourly": V5_FORMAT,
    "parquet-hive-hourly": None,
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One day of sample data per layout, small."""
    roots = {}
    for layout, log_format in SAMPLES.items():
        root = tmp_path_factory.mktemp(layout)
        generate(root, end=SAMPLE_END, days=1, scale=0.05, log_format=log_format, layout=layout)
        roots[layout] = root
    return roots


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aws_environment(monkeypatch, tmp_path, REGION, prefixes=("FLOWBOT_", "AWS_"))


def settings_printed(out: str) -> dict[str, str]:
    """The `NAME=value` lines, unquoted as a shell would; every other line is a `#` comment."""
    lines = [line for line in out.splitlines() if line]
    assert all(line.startswith(("#", "FLOWBOT_")) for line in lines), out
    return dict(shlex.split(line)[0].split("=", 1) for line in lines if line.startswith("FLOWBOT_"))


@pytest.mark.parametrize("layout", list(SAMPLES))
def test_local_detect_prints_the_settings_that_read_the_sample(
    layout: str, samples: dict[str, Path], clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["detect", str(samples[layout])]) == 0
    out = capsys.readouterr().out
    expected = {
        "FLOWBOT_LAYOUT": layout,
        "FLOWBOT_ACCOUNTS": "012345678901,111122223333",
        "FLOWBOT_REGIONS": "eu-west-1,us-east-1",
        "FLOWBOT_LOCAL_DATA_DIR": str(samples[layout].resolve()),
    }
    if SAMPLES[layout] is not None:
        expected["FLOWBOT_LOG_FORMAT"] = SAMPLES[layout]  # type: ignore[assignment]
    assert settings_printed(out) == expected
    assert f"# first day: {FIRST_DAY}" in out
    assert "cut off" not in out


def test_the_printed_settings_answer_a_question(
    samples: dict[str, Path],
    clean_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Pasted as they are, the settings of a custom-format Hive-hourly sample let `flowbot ask` read it."""
    assert main(["detect", str(samples["text-hive-hourly"])]) == 0
    for name, value in settings_printed(capsys.readouterr().out).items():
        monkeypatch.setenv(name, value)
    start = SAMPLE_END - timedelta(days=1)
    window = ["--from", f"{start:%Y-%m-%dT%H:%M}", "--to", f"{SAMPLE_END:%Y-%m-%dT%H:%M}"]
    assert main(["ask", "--format", "json", "--", "ratio", "10.0.1.25", *window]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["rows"] and answer["stats"]["files_scanned"] > 0


def test_local_refusals_are_one_line(
    tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    generate(tmp_path / "mixed", end=SAMPLE_END, days=1, scale=0.05)
    generate(tmp_path / "other", end=SAMPLE_END, days=1, scale=0.05, layout="parquet-daily")
    shutil.rmtree(tmp_path / "mixed" / "AWSLogs" / "111122223333")  # this account's files in Parquet
    (tmp_path / "other" / "AWSLogs" / "111122223333").rename(tmp_path / "mixed" / "AWSLogs" / "111122223333")
    (tmp_path / "junk" / "AWSLogs" / "notes").mkdir(parents=True)
    (tmp_path / "junk" / "AWSLogs" / "notes" / "todo.txt").write_text("x")
    cases = {
        "mixed": "the keys mix shapes: files in parquet-daily (e.g. AWSLogs/111122223333/",
        "junk": "no key listed is in AWS's flow-log shapes",
        "mixed/AWSLogs": "not AWSLogs/ itself",
        "nowhere": "no such folder",
    }
    for folder, says in cases.items():
        assert main(["detect", str(tmp_path / folder)]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("flowbot: ") and captured.err.count("\n") == 1, captured.err
        assert says in captured.err
    assert main(["detect", str(tmp_path / "mixed"), "--max-lists", "0"]) == 2


# --------------------------------------------------------------------------------------------------
# S3


@pytest.fixture
def s3(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("FLOWBOT_ATHENA_REGION", REGION)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


@pytest.fixture
def list_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Prefix of every ListObjectsV2 call any client of boto3's default session makes."""
    calls: list[str] = []
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session()

    def count(params: dict[str, Any], **_: Any) -> None:
        calls.append(params["Prefix"])

    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("provide-client-params.s3.ListObjectsV2", count)
    return calls


def upload(s3: Any, root: Path, prefix: str) -> int:
    """The first file of each folder of a sample (a few per account, region and day or hour)."""
    count = 0
    for folder, _, names in os.walk(root / "AWSLogs"):
        for name in sorted(names)[:1]:
            path = Path(folder) / name
            s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{path.relative_to(root)}", Body=path.read_bytes())
            count += 1
    return count


def test_athena_detect_reads_the_settings_bucket_and_prefix(
    s3: Any, samples: dict[str, Path], list_calls: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    upload(s3, samples["text-daily"], "prod")
    monkeypatch.setenv("FLOWBOT_FLOW_LOGS_BUCKET", BUCKET)
    monkeypatch.setenv("FLOWBOT_FLOW_LOGS_PREFIX", "prod")
    assert main(["athena", "detect"]) == 0
    out = capsys.readouterr().out
    assert settings_printed(out) == {
        "FLOWBOT_LAYOUT": "text-daily",
        "FLOWBOT_ACCOUNTS": "012345678901,111122223333",
        "FLOWBOT_REGIONS": "eu-west-1,us-east-1",
        "FLOWBOT_FLOW_LOGS_BUCKET": BUCKET,
        "FLOWBOT_FLOW_LOGS_PREFIX": "prod",
        "FLOWBOT_FIRST_DAY": FIRST_DAY.isoformat(),
    }
    assert (
        f"# looked at s3://{BUCKET}/prod/AWSLogs/: {len(list_calls)} of at most {MAX_LISTS} listings" in out
    )
    assert f"# fields (the default, version 2): {' '.join(DEFAULT_V2_HEADERS)}" in out
    assert 0 < len(list_calls) <= MAX_LISTS and all(p.startswith("prod/AWSLogs/") for p in list_calls)
    assert len(set(list_calls)) == len(list_calls)


def test_athena_detect_on_parquet_downloads_one_file(
    s3: Any, samples: dict[str, Path], list_calls: list[str], capsys: Any
) -> None:
    upload(s3, samples["text-daily"], "prod")  # another prefix, another layout: not looked at
    upload(s3, samples["parquet-hive-hourly"], "lake/vpc")
    assert main(["athena", "detect", "--bucket", BUCKET, "--prefix", "/lake/vpc/"]) == 0
    out = capsys.readouterr().out
    printed = settings_printed(out)
    assert printed["FLOWBOT_LAYOUT"] == "parquet-hive-hourly"
    assert printed["FLOWBOT_FLOW_LOGS_PREFIX"] == "lake/vpc"
    assert printed["FLOWBOT_FIRST_DAY"] == FIRST_DAY.isoformat() and "FLOWBOT_LOG_FORMAT" not in printed
    assert "fields read from 1 file" in out
    assert all(p.startswith("lake/vpc/AWSLogs/") for p in list_calls)


@pytest.mark.parametrize("bound", [1, 3, 6, 10])
def test_athena_detect_keeps_to_the_bound(
    bound: int, s3: Any, samples: dict[str, Path], list_calls: list[str], capsys: Any
) -> None:
    upload(s3, samples["parquet-hive-hourly"], "lake")
    code = main(["athena", "detect", "--bucket", BUCKET, "--prefix", "lake", "--max-lists", str(bound)])
    captured = capsys.readouterr()
    assert 0 < len(list_calls) <= bound
    if code == 0:
        assert "# cut off by the bound:" in captured.out
    else:
        assert code == 1 and "allow more listings" in captured.err and captured.err.count("\n") == 1


def test_athena_detect_refuses_two_layouts_under_one_prefix(
    s3: Any, samples: dict[str, Path], list_calls: list[str], capsys: Any
) -> None:
    upload(s3, samples["text-daily"], "prod")
    upload(s3, samples["parquet-hive-hourly"], "prod")
    assert main(["athena", "detect", "--bucket", BUCKET, "--prefix", "prod"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "files in parquet-hive-hourly (e.g. AWSLogs/aws-account-id=" in err
    assert "and text-daily (e.g. AWSLogs/012345678901/" in err


def test_athena_detect_says_what_is_missing_or_wrong(s3: Any, capsys: Any) -> None:
    s3.put_object(
        Bucket=BUCKET, Key="prod/AWSLogs/012345678901/vpcflowlogs/eu-west-1/2026/11/19/a.txt", Body=b""
    )
    runs = {
        ("athena", "detect"): (2, "give --bucket or set FLOWBOT_FLOW_LOGS_BUCKET"),
        ("athena", "detect", "--bucket", "no-such-bucket"): (
            1,
            "could not list s3://no-such-bucket/AWSLogs/",
        ),
        ("athena", "detect", "--bucket", BUCKET): (1, f"no AWSLogs/ under s3://{BUCKET}/: it holds prod/"),
        ("athena", "detect", "--bucket", BUCKET, "--prefix", "prod/AWSLogs"): (1, "not AWSLogs/ itself"),
        ("athena", "detect", "--bucket", BUCKET, "--prefix", "prod"): (1, "no flow-log file found"),
        ("athena", "detect", "--bucket", "Bad_Bucket"): (2, "is not an S3 bucket name"),
        ("athena", "ddl", "--bucket", BUCKET): (2, "--bucket, --prefix and --max-lists go with `detect`"),
    }
    for args, (code, says) in runs.items():
        assert main(list(args)) == code, args
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1, (args, err)


def test_first_day_is_the_oldest_day_folder(s3: Any, capsys: Any) -> None:
    for day in (date(2024, 3, 1), date(2025, 1, 31), date(2026, 11, 19)):
        for account in ("012345678901", "111122223333"):
            key = f"AWSLogs/{account}/vpcflowlogs/{REGION}/{day:%Y/%m/%d}/{account}_vpcflowlogs_a.log.gz"
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"not gzip")
    assert main(["athena", "detect", "--bucket", BUCKET]) == 1
    out = capsys.readouterr().out
    assert settings_printed(out)["FLOWBOT_FIRST_DAY"] == "2024-03-01"
    assert "# no FLOWBOT_LOG_FORMAT: the fields could not be read" in out
