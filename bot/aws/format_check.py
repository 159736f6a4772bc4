"""`flowbot athena check-format`: do the flow-log files in S3 use the format the table reads?

Athena's delimited table maps fields by position in FLOWBOT_LOG_FORMAT's order, so a flow log written
with another format (another account's, or a format changed since) is read wrong without an error. Each
file's first line is its header (the field names in the file's order), so one look per account and region
tells: the oldest object (ListObjectsV2 is in key order, and keys start with the day) and the newest day's
first object, each read only as far as its first line (a ranged GetObject of the first 64 KiB, gunzipped
as a stream). Bounded: at most 1 + RECENT_DAYS listings of one key and two small reads per account and
region. The folders are the configured layout's (Hive-compatible prefixes, hourly folders); a Parquet
layout needs no check (`report_formats`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.ddl import require_flow_logs
from bot.flowlog_format import format_difference, parse_log_format
from bot.flowlog_layouts import DEFAULT_LAYOUT, LAYOUTS, Layout
from bot.settings import Settings

HEAD_BYTES = 1 << 16
"""How much of an object is fetched to read its header line (a header is a few hundred bytes)."""
RECENT_DAYS = 3
"""How many days back from today the newest object is looked for."""


@dataclass(frozen=True)
class Sample:
    """One object looked at (or the prefix, when nothing could be read there), and the verdict."""

    account: str
    region: str
    key: str
    difference: str
    """Empty when the header is the configured format; else how it differs, or why it was unreadable."""


def header_of(s3: Any, bucket: str, key: str) -> tuple[str, ...]:
    """The field names on an object's first line, from a ranged read of its start."""
    body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}")["Body"].read()
    text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body)  # a gzip member, read as far as it goes
    return tuple(text.split(b"\n", 1)[0].decode("ascii", errors="replace").split())


def _first_key(s3: Any, bucket: str, prefix: str) -> str | None:
    found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("Contents") or []
    return str(found[0]["Key"]) if found else None


def sample_keys(
    s3: Any, bucket: str, base: str, today: date, layout: Layout = LAYOUTS[DEFAULT_LAYOUT]
) -> list[str]:
    """The oldest object under `base`, and the first of the newest of the last RECENT_DAYS days (a day's
    folder in the layout's shape; in an hourly layout, its hours' folders are below it)."""
    keys = []
    oldest = _first_key(s3, bucket, base)
    if oldest is not None:
        keys.append(oldest)
        for back in range(RECENT_DAYS):
            day = today - timedelta(days=back)
            newest = _first_key(s3, bucket, f"{base}{layout.time_folder(day)}/")
            if newest is not None:
                if newest != oldest:
                    keys.append(newest)
                break
    return keys


def check_formats(s3: Any, settings: Settings, today: date) -> list[Sample]:
    """One or two samples per configured account and region; a listing with no object gives a sample
    saying so (a flow log that never delivered there, or a wrong account or region in the settings)."""
    location = require_flow_logs(settings)  # s3://bucket/[prefix/]AWSLogs/
    bucket, _, root = location.removeprefix("s3://").partition("/")
    configured = parse_log_format(settings.log_format)
    layout = settings.flow_layout
    samples = []
    for account in settings.accounts:
        for region in settings.regions:
            base = f"{root}{layout.service_folder(account, region)}/"
            try:
                keys = sample_keys(s3, bucket, base, today, layout)
                if not keys:
                    samples.append(Sample(account, region, base, "no objects under this prefix"))
                for key in keys:
                    difference = format_difference(header_of(s3, bucket, key), configured)
                    samples.append(Sample(account, region, key, difference))
            except (ClientError, BotoCoreError, zlib.error) as exc:
                samples.append(Sample(account, region, base, f"could not read: {exc}"))
    return samples


def report_formats(settings: Settings, today: date) -> tuple[list[str], bool]:
    """What `flowbot athena check-format` prints, a line per sample, and whether every sample agrees.

    A Parquet layout has nothing to check: each file names its columns and Athena reads Parquet columns by
    name ("By default, Parquet will access columns by name": Athena User Guide, "Handle schema updates",
    https://docs.aws.amazon.com/athena/latest/ug/handling-schema-updates-chapter.html), so a file in another
    format cannot be read wrong; a field it lacks reads as NULL.
    """
    if settings.flow_layout.file_format == "parquet":
        return [
            f"not needed for {settings.layout}: Parquet files name their columns and Athena reads them by "
            "name (a field a file lacks reads as NULL, never as another field's value)"
        ], True
    import boto3

    samples = check_formats(boto3.client("s3", region_name=settings.athena_region), settings, today)
    lines = [
        f"{'ok' if not s.difference else 'DIFFERS'}  {s.account} {s.region}  {s.key}"
        + (f": {s.difference}" if s.difference else "")
        for s in samples
    ]
    agree = all(not s.difference for s in samples)
    if not agree:
        lines.append(
            "Athena reads fields by position in FLOWBOT_LOG_FORMAT: files that differ are read wrong. "
            "Keep each format in its own table, or set FLOWBOT_LOG_FORMAT to the files' format."
        )
    return lines, agree
