"""Pre-flight estimates: what a query would read, from the sizes of the objects its partitions hold.

Athena bills the bytes it reads; a text flow-log file is read whole, so the sizes of the files under
the folders a window opens are the bill, known before paying it. Listing is bounded
(FLOWBOT_ESTIMATE_MAX_LISTS calls of ListObjectsV2, 1,000 keys each): past the bound, the folders
listed stand for the rest (evenly spread over accounts, regions and days) and the figure says it was
extrapolated.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.flowlog_layouts import DEFAULT_LAYOUT, LAYOUTS, Layout
from bot.query.engines.base import EngineError
from bot.query.layout import select_files, window_partitions
from bot.query.results import Estimate
from bot.query.sources import projected_days
from bot.request import FlowRequest
from bot.settings import Settings

LIST_THREADS = 8
"""Concurrent list calls (boto3 clients are thread-safe); folders are many and each call is short."""


def partition_prefixes(settings: Settings, request: FlowRequest, today: date | None = None) -> list[str]:
    """The key prefixes the window and the projection open, in account, region, partition order.

    The same folders `storage.location.template` gives Athena (bot/aws/ddl.py), in the configured layout's
    shape (`settings.flow_layout.folder`): the request's account and region, or every configured one; the
    window's days, or its hours in an hourly layout (with the delivery margin), that lie within the
    projection's range (bot/query/sources.py `projected_days`: from FLOWBOT_FIRST_DAY, or from January 1 of
    its year with Hive prefixes) and not after today (a later folder holds nothing yet).
    """
    layout = settings.flow_layout
    base = f"{settings.flow_logs_prefix}/" if settings.flow_logs_prefix else ""
    projected = projected_days(settings)
    last = min(today or datetime.now(UTC).date(), projected.last or date.max)
    partitions = window_partitions(layout, request.window)
    inside = [p for p in partitions if projected.first <= _day(p) <= last]
    accounts = [request.account] if request.account else list(settings.accounts)
    regions = [request.region] if request.region else list(settings.regions)
    return [
        f"{base}{layout.folder(account, region, when)}/"
        for account in accounts
        for region in regions
        for when in inside
    ]


def _day(partition: date | datetime) -> date:
    """The day of a partition (an hour's day, or the day itself)."""
    return partition.date() if isinstance(partition, datetime) else partition


def spread(items: list[str], count: int) -> list[str]:
    """`count` items evenly spaced over the list (all of them when there are no more)."""
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def estimate_s3(s3: Any, settings: Settings, request: FlowRequest, today: date | None = None) -> Estimate:
    """List the window's folders (bounded) and add up their objects' sizes."""
    prefixes = partition_prefixes(settings, request, today)
    if not prefixes:
        return Estimate(bytes=0, objects=0, prefixes=0)
    listed = spread(prefixes, settings.estimate_max_lists)
    calls_each = max(settings.estimate_max_lists // len(listed), 1)
    with ThreadPoolExecutor(min(LIST_THREADS, len(listed))) as pool:
        sizes = list(pool.map(lambda p: _folder(s3, str(settings.flow_logs_bucket), p, calls_each), listed))
    total = sum(size for size, _, _ in sizes)
    objects = sum(count for _, count, _ in sizes)
    complete = len(listed) == len(prefixes) and all(done for _, _, done in sizes)
    if len(listed) < len(prefixes):
        scale = len(prefixes) / len(listed)
        total, objects = round(total * scale), round(objects * scale)
    return Estimate(
        bytes=total,
        objects=objects,
        prefixes=len(prefixes),
        listed=len(listed) if len(listed) < len(prefixes) else None,
        complete=complete,
    )


def _folder(s3: Any, bucket: str, prefix: str, max_calls: int) -> tuple[int, int, bool]:
    """Bytes and objects under one prefix, in at most `max_calls` list calls; and whether that was all."""
    total = count = 0
    paginator = s3.get_paginator("list_objects_v2")
    try:
        for number, page in enumerate(paginator.paginate(Bucket=bucket, Prefix=prefix), start=1):
            for item in page.get("Contents", []):
                total += int(item["Size"])
                count += 1
            if number >= max_calls and page.get("IsTruncated"):
                return total, count, False
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Error")
        raise EngineError(f"could not list s3://{bucket}/{prefix} to estimate the scan: {code}") from exc
    except BotoCoreError as exc:
        raise EngineError(f"could not list s3://{bucket}/{prefix} to estimate the scan: {exc}") from exc
    return total, count, True


def estimate_local(
    data_dir: Path, request: FlowRequest, layout: Layout = LAYOUTS[DEFAULT_LAYOUT]
) -> Estimate:
    """The local engine's estimate: the sizes of exactly the files its query would open (for Parquet an
    upper bound: the query reads only its columns' chunks of them)."""
    files = select_files(
        data_dir, window_partitions(layout, request.window), request.account, request.region, layout
    )
    folders = {(f.account, f.region, f.day, f.hour) for f in files}
    return Estimate(bytes=sum(f.size for f in files), objects=len(files), prefixes=len(folders))
