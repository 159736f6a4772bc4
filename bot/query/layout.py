"""Where VPC Flow Logs puts its files, and which of them a window needs.

By default `<root>/AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<MM>/<dd>/<account>_vpcflowlogs_<region>_
...log.gz`, foldered by delivery day; the other layouts (Hive prefixes, hourly folders, Parquet) are in
bot/flowlog_layouts.py. Opening only the folders of the window's days or hours (plus the delivery margin,
see `Window.last_day` and `Window.last_hour`), accounts and regions is the same pruning partition
projection gives Athena.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bot.flowlog_layouts import DEFAULT_LAYOUT, LAYOUTS, Layout
from bot.identifiers import ACCOUNT_ID, REGION
from bot.request import Window


@dataclass(frozen=True)
class FlowLogFile:
    """One delivered file and the partition values its path gives it."""

    path: Path
    account: str
    region: str
    day: date
    size: int
    hour: int | None = None
    """The hourly partition's hour (0-23), None in a daily layout."""


def _subdirs(
    folder: Path, pattern: re.Pattern[str], only: str | None, prefix: str = ""
) -> list[tuple[str, Path]]:
    """(value, folder) of the subfolders named `<prefix><value>` with the value matching `pattern`."""
    if only is not None:
        candidate = folder / f"{prefix}{only}"
        return [(only, candidate)] if candidate.is_dir() else []
    if not folder.is_dir():
        return []
    found = []
    for p in sorted(folder.iterdir()):
        if p.is_dir() and p.name.startswith(prefix) and pattern.fullmatch(p.name[len(prefix) :]):
            found.append((p.name[len(prefix) :], p))
    return found


def service_folders(
    root: Path, layout: Layout, account: str | None = None, region: str | None = None
) -> list[tuple[str, str, Path]]:
    """(account, region, folder) of every account's and region's logs under `root/AWSLogs` (or Security
    Lake's folder), in that order."""
    logs = root / layout.root_folder
    found = []
    if layout.file_format == "ocsf":  # Security Lake: region first, then account
        for reg, reg_dir in _subdirs(logs, REGION, region, "region="):
            for acct, acct_dir in _subdirs(reg_dir, ACCOUNT_ID, account, "accountId="):
                found.append((acct, reg, acct_dir))
        return sorted(found, key=lambda item: (item[0], item[1]))
    if layout.hive:
        for acct, acct_dir in _subdirs(logs, ACCOUNT_ID, account, "aws-account-id="):
            for reg, reg_dir in _subdirs(acct_dir / "aws-service=vpcflowlogs", REGION, region, "aws-region="):
                found.append((acct, reg, reg_dir))
    else:
        for acct, acct_dir in _subdirs(logs, ACCOUNT_ID, account):
            for reg, reg_dir in _subdirs(acct_dir / "vpcflowlogs", REGION, region):
                found.append((acct, reg, reg_dir))
    return found


def window_partitions(layout: Layout, window: Window) -> list[date] | list[datetime]:
    """The partitions a window opens: its days (daily layouts) or hours (hourly), with the delivery margin."""
    return window.hours() if layout.hourly else window.days()


JSON_FOLDER = "vpc_flow_logs"
"""Where the local engine finds the JSON table's records: `<root>/vpc_flow_logs/**/*.json[.gz]`."""


def json_files(root: Path) -> list[Path]:
    """Every JSON-lines file of the JSON table: it has no partitions, so every query reads them all."""
    folder = root / JSON_FOLDER
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".json", ".json.gz")))


def select_files(
    root: Path,
    partitions: Iterable[date | datetime],
    account: str | None = None,
    region: str | None = None,
    layout: Layout = LAYOUTS[DEFAULT_LAYOUT],
) -> list[FlowLogFile]:
    """The flow-log files of the given partitions (days, or hours in an hourly layout), accounts and
    regions; nothing else is listed."""
    partitions = list(partitions)
    files = []
    for acct, reg, folder in service_folders(root, layout, account, region):
        for when in partitions:
            where = folder / layout.time_folder(when)
            if not where.is_dir():
                continue
            hour = when.hour if layout.hourly and isinstance(when, datetime) else None
            day = when.date() if isinstance(when, datetime) else when
            for path in sorted(where.glob(f"*{layout.suffix}")):
                files.append(FlowLogFile(path, acct, reg, day, path.stat().st_size, hour))
    return files
