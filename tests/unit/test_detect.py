"""Detection (bot/detect.py): the pure classifier on key lists of every layout, of two layouts and of none;
the bounded walk on an in-memory bucket, whose listings are counted."""

from __future__ import annotations

import gzip
import shlex
from collections.abc import Sequence
from datetime import UTC, date, datetime

import pytest

from bot.detect import (
    MAX_PARQUET_BYTES,
    DetectError,
    FieldsRead,
    Page,
    S3Source,
    UnreadableError,
    classify,
    detect,
    header_fields,
    parse_key,
    settings_lines,
    walk,
)
from bot.flowlog_format import DEFAULT_V2_HEADERS, parse_log_format
from bot.flowlog_layouts import FLOW_LOG_LAYOUTS, LAYOUTS, Layout, parquet_column
from bot.samples.flow_logs import V5_FORMAT
from bot.settings import Settings

ACCOUNTS = ("012345678901", "111122223333")
REGIONS = ("eu-west-1", "us-east-1")
HOURS = (datetime(2026, 11, 18, 23, tzinfo=UTC), datetime(2026, 11, 19, 0, tzinfo=UTC))


def keys_of(
    layout: Layout, accounts: Sequence[str] = ACCOUNTS, regions: Sequence[str] = REGIONS
) -> list[str]:
    """Files as AWS names them, in `layout`'s folders, with the folders a listing shows on the way."""
    keys = []
    for account in accounts:
        for region in regions:
            keys.append(f"AWSLogs/{layout.service_folder(account, region)}/")
            for when in HOURS:
                folder = layout.folder(account, region, when)
                keys.append(f"{folder}/")
                keys.append(
                    f"{folder}/{account}_vpcflowlogs_{region}_fl-0123456789abcdef0_{when:%Y%m%dT%H%MZ}_"
                    f"0a1b2c3d{layout.suffix}"
                )
    return keys


def fields_of(layout: Layout, headers: Sequence[str], key: str = "AWSLogs/x") -> FieldsRead:
    """What reading one file gives: a text header line, or Parquet column names."""
    names = headers if layout.file_format == "text" else [parquet_column(h) for h in headers]
    return FieldsRead(key, tuple(names))


@pytest.mark.parametrize("name", FLOW_LOG_LAYOUTS)
def test_every_layout_is_recognised_with_its_accounts_regions_and_first_day(name: str) -> None:
    layout = LAYOUTS[name]
    found = classify(keys_of(layout), [fields_of(layout, DEFAULT_V2_HEADERS)])
    assert found.layout == layout
    assert found.accounts == ACCOUNTS and found.regions == REGIONS
    assert found.first_day == date(2026, 11, 18)
    assert found.example.endswith(layout.suffix)
    assert found.headers == DEFAULT_V2_HEADERS and found.log_format is None and found.usable
    assert not found.ignored and not found.cut_off and not found.unknown


@pytest.mark.parametrize("name", ["text-hourly", "parquet-hive-daily"])
def test_a_custom_format_becomes_the_format_string_in_the_files_order(name: str) -> None:
    layout = LAYOUTS[name]
    headers = parse_log_format(V5_FORMAT)[::-1]
    found = classify(keys_of(layout), [fields_of(layout, headers)])
    assert found.log_format is not None
    assert parse_log_format(found.log_format) == headers


@pytest.mark.parametrize(
    ("one", "other", "says"),
    [
        ("text-daily", "parquet-daily", ["text-daily (e.g. AWSLogs/", "parquet-daily (e.g. AWSLogs/"]),
        ("text-daily", "text-hive-daily", ["text-daily", "text-hive-daily"]),
        ("parquet-hive-daily", "parquet-hive-hourly", ["parquet-hive-daily", "parquet-hive-hourly"]),
    ],
)
def test_keys_of_two_layouts_are_refused_naming_both(one: str, other: str, says: list[str]) -> None:
    mixed = keys_of(LAYOUTS[one], accounts=ACCOUNTS[:1]) + keys_of(LAYOUTS[other], accounts=ACCOUNTS[1:])
    with pytest.raises(DetectError, match="the keys mix shapes") as refused:
        classify(mixed)
    message = str(refused.value)
    assert "\n" not in message
    assert all(s in message for s in says), message


def test_folders_in_another_style_than_the_files_are_refused_too() -> None:
    files = keys_of(LAYOUTS["text-daily"], accounts=ACCOUNTS[:1])
    hive_folder = "AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/"
    with pytest.raises(DetectError, match=r"Hive-compatible prefixes .* and plain prefixes"):
        classify([*files, hive_folder])
    hour_folder = "AWSLogs/012345678901/vpcflowlogs/eu-west-1/2026/11/19/00/"
    with pytest.raises(DetectError, match=r"hourly partitions .* and daily partitions"):
        classify([*files, hour_folder])


@pytest.mark.parametrize(
    "keys",
    [
        ["AWSLogs/readme.txt", "AWSLogs/foo/bar.log.gz"],
        ["AWSLogs/012345678901/vpcflowlogs/eu-west-1/2026/11/19/notes.txt"],
        ["AWSLogs/012345678901/vpcflowlogs/eu-west-1/2026/02/30/a.log.gz"],  # no such day
        ["AWSLogs/012345678901/vpcflowlogs/eu-west-1/2026/11/19/24/a.log.gz"],  # no such hour
        ["AWSLogs/01234567890/vpcflowlogs/eu-west-1/2026/11/19/a.log.gz"],  # 11 digits
        ["AWSLogs/012345678901/vpcflowlogs/europe/2026/11/19/a.log.gz"],
        ["AWSLogs/aws-account-id=012345678901/vpcflowlogs/eu-west-1/2026/11/19/a.log.gz"],  # half Hive
        ["AWSLogs/012345678901/vpcflowlogs/eu-west-1/a.log.gz"],  # not in a day's folder
        ["AWSLogs/012345678901/vpcflowlogs/eu-west-1/2026/11/19/00/12/a.log.gz"],  # too deep
        ["logs/012345678901/vpcflowlogs/eu-west-1/2026/11/19/a.log.gz"],
        [],
    ],
)
def test_keys_in_none_of_the_shapes_are_refused_in_one_line(keys: list[str]) -> None:
    with pytest.raises(DetectError, match="no key listed is in AWS's flow-log shapes") as refused:
        classify(keys)
    assert "\n" not in str(refused.value)
    assert all(parse_key(k) is None for k in keys)


def test_stray_keys_beside_flow_logs_are_named_not_fatal() -> None:
    stray = ["AWSLogs/readme.txt", "AWSLogs/012345678901/vpcflowlogs/eu-west-1/2026/11/19/notes.txt"]
    found = classify([*keys_of(LAYOUTS["text-daily"]), *stray])
    assert found.layout.name == "text-daily"
    assert found.ignored == tuple(stray)


def test_other_services_and_accounts_without_flow_logs_are_set_apart() -> None:
    other = [
        "AWSLogs/999999999999/",
        "AWSLogs/012345678901/CloudTrail/eu-west-1/2026/11/19/x.json.gz",
    ]
    found = classify([*keys_of(LAYOUTS["text-daily"], accounts=ACCOUNTS[:1]), *other])
    assert found.accounts == ACCOUNTS[:1]
    assert found.quiet_accounts == ("999999999999",)
    assert found.other_services == ("CloudTrail",)
    with pytest.raises(DetectError, match=r"only other services' folders \(CloudTrail\)"):
        classify(other)


def test_folders_without_files_are_refused() -> None:
    with pytest.raises(DetectError, match="no flow-log file found: 1 folder in AWS's shapes"):
        classify(["AWSLogs/012345678901/vpcflowlogs/eu-west-1/"])
    cut = r"no flow-log file reached \(1 folder .*\) before the listing was cut off \(the bound\): allow more"
    with pytest.raises(DetectError, match=cut):
        classify(["AWSLogs/012345678901/vpcflowlogs/eu-west-1/"], cut_off=["the bound"])


def test_text_files_of_two_formats_are_refused() -> None:
    layout = LAYOUTS["text-daily"]
    reads = [
        fields_of(layout, DEFAULT_V2_HEADERS, "a"),
        fields_of(layout, (*DEFAULT_V2_HEADERS, "vpc-id"), "b"),
    ]
    with pytest.raises(DetectError, match="the text files differ in fields: b has vpc-id compared with a"):
        classify(keys_of(layout), reads)


def test_unknown_fields_leave_no_text_format_but_a_parquet_one() -> None:
    headers = (*DEFAULT_V2_HEADERS, "reject-reason")
    text = classify(keys_of(LAYOUTS["text-daily"]), [fields_of(LAYOUTS["text-daily"], headers)])
    assert text.unknown == ("reject-reason",) and not text.usable and text.log_format is None
    assert "reject-reason" in text.fields_problem and "by position" in text.fields_problem
    assert "# FLOWBOT_LOG_FORMAT: none fits (see above)" in settings_lines(text)

    layout = LAYOUTS["parquet-hive-hourly"]
    parquet = classify(keys_of(layout), [fields_of(layout, headers)])
    assert parquet.unknown == ("reject-reason",) and parquet.usable
    assert parquet.headers == DEFAULT_V2_HEADERS and parquet.log_format is None


def test_a_file_without_a_header_or_unread_is_said() -> None:
    layout = LAYOUTS["text-daily"]
    data_line = FieldsRead("a", ("2", "012345678901", "eni-1"))
    assert "does not start with a header line" in classify(keys_of(layout), [data_line]).fields_problem
    unread = classify(keys_of(layout), [FieldsRead("a", error="AccessDenied")])
    assert unread.fields_problem == "the fields could not be read (a: AccessDenied)"


def test_the_settings_lines_paste_into_a_shell_and_validate() -> None:
    layout = LAYOUTS["text-hive-hourly"]
    found = classify(keys_of(layout), [fields_of(layout, parse_log_format(V5_FORMAT))])
    lines = settings_lines(found, extra=[("FLOWBOT_LOCAL_DATA_DIR", "/data/my logs")])
    values = dict(shlex.split(line)[0].split("=", 1) for line in lines)
    assert values == {
        "FLOWBOT_LAYOUT": "text-hive-hourly",
        "FLOWBOT_LOG_FORMAT": V5_FORMAT,
        "FLOWBOT_ACCOUNTS": ",".join(ACCOUNTS),
        "FLOWBOT_REGIONS": ",".join(REGIONS),
        "FLOWBOT_LOCAL_DATA_DIR": "/data/my logs",
    }
    settings = Settings(**{k.removeprefix("FLOWBOT_").lower(): v for k, v in values.items()})
    assert settings.flow_layout == layout and settings.accounts == ACCOUNTS


def test_a_header_is_read_from_the_start_of_a_gzip_file() -> None:
    data = gzip.compress(("version account-id\n" + "2 012345678901\n" * 50_000).encode())
    assert header_fields(data[:4096]) == ("version", "account-id")
    with pytest.raises(UnreadableError, match="not a gzip file"):
        header_fields(b"version account-id\n")


# --------------------------------------------------------------------------------------------------
# The bounded walk


class MemoryBucket:
    """A bucket in memory, listed like ListObjectsV2 with Delimiter='/'; counts its listings."""

    where = "memory://bucket/"

    def __init__(self, keys: Sequence[str], page: int = 1000) -> None:
        self.keys = sorted(k for k in keys if not k.endswith("/"))
        self.page = page
        self.lists: list[str] = []
        self.heads: list[str] = []

    def list(self, prefix: str) -> Page:
        self.lists.append(prefix)
        folders: set[str] = set()
        files = []
        for key in self.keys:
            if key.startswith(prefix):
                rest = key[len(prefix) :]
                if "/" in rest:
                    folders.add(prefix + rest.split("/", 1)[0] + "/")
                else:
                    files.append((key, 100))
        entries = sorted([*folders, *(k for k, _ in files)])
        shown = set(entries[: self.page])
        return Page(
            tuple(sorted(f for f in folders if f in shown)),
            tuple((k, s) for k, s in files if k in shown),
            len(entries) > self.page,
        )

    def head(self, key: str) -> bytes:
        self.heads.append(key)
        return gzip.compress(" ".join(DEFAULT_V2_HEADERS).encode() + b"\n")

    def columns(self, key: str, size: int) -> tuple[str, ...]:
        self.heads.append(key)
        return tuple(parquet_column(h) for h in DEFAULT_V2_HEADERS)


def many_accounts(count: int, layout: Layout = LAYOUTS["text-daily"]) -> list[str]:
    return keys_of(layout, accounts=[f"{n:012d}" for n in range(1, count + 1)])


@pytest.mark.parametrize("name", ["text-daily", "parquet-hive-hourly"])
def test_a_small_bucket_is_walked_whole_within_the_bound(name: str) -> None:
    bucket = MemoryBucket(keys_of(LAYOUTS[name]))
    found, listing = detect(bucket, max_lists=60)
    assert found.layout.name == name and found.accounts == ACCOUNTS and found.regions == REGIONS
    assert found.first_day == date(2026, 11, 18) and not found.cut_off
    assert listing.lists == len(bucket.lists) <= 60
    assert len(set(bucket.lists)) == len(bucket.lists), "a folder is listed once"
    assert len(bucket.heads) == (3 if name.startswith("text") else 1)


@pytest.mark.parametrize("bound", [1, 2, 3, 5, 8, 13, 21, 34])
def test_the_bound_holds_and_what_it_left_out_is_said(bound: int) -> None:
    bucket = MemoryBucket(many_accounts(40))
    try:
        found, listing = detect(bucket, max_lists=bound)
    except DetectError as refused:
        assert "allow more listings" in str(refused)
    else:
        assert listing.lists == bound
        assert any("more account folders not looked into" in note for note in found.cut_off)
        assert set(found.accounts) < {f"{n:012d}" for n in range(1, 41)}
    assert len(bucket.lists) <= bound


def test_a_page_cut_at_its_maximum_is_said() -> None:
    bucket = MemoryBucket(many_accounts(12), page=10)
    found, _ = detect(bucket, max_lists=60)
    assert "AWSLogs/ holds more entries than one listing returns" in found.cut_off[0]
    assert len(found.accounts) == 10


def test_no_awslogs_folder_says_what_is_there() -> None:
    bucket = MemoryBucket(["logs/a.txt", "other/b.txt"])
    with pytest.raises(DetectError, match=r"no AWSLogs/ under memory://bucket/: it holds logs/, other/"):
        walk(bucket)


def test_a_large_parquet_object_is_not_downloaded() -> None:
    source = S3Source(s3=None, bucket="central-logs", prefix="/prod/")
    assert source.where == "s3://central-logs/prod/"
    with pytest.raises(UnreadableError, match="more than the 64 MiB downloaded"):
        source.columns("AWSLogs/x.log.parquet", MAX_PARQUET_BYTES + 1)
