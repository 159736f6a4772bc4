"""Which days of flow logs queries can see, told cheaply enough to show on every App Home visit.

Local engine: the first and last day folders under `<local_data_dir>/AWSLogs/<account>/vpcflowlogs/
<region>/<yyyy>/<MM>/<dd>/` that hold a `.log.gz` file, over every account and region. Only folder
listings are read, never a file. Athena: the partition projection's range, `FLOWBOT_FIRST_DAY` to today
(UTC); whether S3 holds files for every day in it is Athena's business, not worth a LIST per visit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from bot.identifiers import ACCOUNT_ID, REGION
from bot.query.layout import JSON_FOLDER
from bot.settings import Settings

Origin = Literal["folders", "projection", "unpartitioned"]
_YEAR = re.compile(r"^\d{4}$")
_TWO_DIGITS = re.compile(r"^\d{2}$")
LOG_SUFFIX = ".log.gz"


@dataclass(frozen=True)
class DataRange:
    """First and last day of logs (None when unknown) and where that came from, for `describe()`."""

    first: date | None
    last: date | None
    origin: Origin = "folders"
    folder: str | None = None
    """Where the local engine looked (for the hint on making sample data)."""

    def describe(self) -> str:
        """One line of Slack mrkdwn, e.g. `data 2026-11-17 → 2026-11-20`."""
        if self.origin == "unpartitioned":
            where = f" under `{self.folder}`" if self.folder else ""
            return f"JSON records{where} (no day partitions: every query reads them all)"
        if self.first is None or self.last is None:
            if self.origin == "projection":
                return "no first day set (`FLOWBOT_FIRST_DAY`, the partition projection's start)"
            folder = self.folder or "<dir>"
            return (
                f"no flow logs under `{folder}/AWSLogs` yet: "
                f"`flowbot sample-data {folder}` writes sample data there"
            )
        span = f"{self.first:%Y-%m-%d}" if self.first == self.last else f"{self.first} → {self.last}"
        if self.origin == "projection":
            return f"data {span} (partition projection)"
        return f"data {span}"


def _subdirs(folder: Path, pattern: re.Pattern[str]) -> list[str]:
    """Names of the subfolders matching `pattern`, sorted; none when the folder is missing."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if pattern.fullmatch(e.name) and e.is_dir())
    except OSError:
        return []


def _day_folders(region_dir: Path) -> Iterator[tuple[date, Path]]:
    """Every `<yyyy>/<MM>/<dd>` folder naming a real date, in date order."""
    for year in _subdirs(region_dir, _YEAR):
        for month in _subdirs(region_dir / year, _TWO_DIGITS):
            for day in _subdirs(region_dir / year / month, _TWO_DIGITS):
                try:
                    when = date(int(year), int(month), int(day))
                except ValueError:
                    continue
                yield when, region_dir / year / month / day


def _holds_logs(folder: Path) -> bool:
    """Whether a day folder holds a flow-log file; stops at the first one, opens nothing."""
    try:
        with os.scandir(folder) as entries:
            return any(e.name.endswith(LOG_SUFFIX) and e.is_file() for e in entries)
    except OSError:
        return False


def local_range(root: Path) -> DataRange:
    """First and last day folders with logs, over every account and region under `root/AWSLogs`."""
    days: dict[date, list[Path]] = {}
    logs = root / "AWSLogs"
    for account in _subdirs(logs, ACCOUNT_ID):
        vpcflowlogs = logs / account / "vpcflowlogs"
        for region in _subdirs(vpcflowlogs, REGION):
            for when, folder in _day_folders(vpcflowlogs / region):
                days.setdefault(when, []).append(folder)
    ordered = sorted(days)

    def first_with_logs(candidates: list[date]) -> date | None:
        """Only the folders at the ends are looked into, until one holds a file."""
        return next((d for d in candidates if any(_holds_logs(f) for f in days[d])), None)

    first = first_with_logs(ordered)
    last = first_with_logs(ordered[::-1]) if first is not None else None
    return DataRange(first, last, "folders", str(root))


def data_range(settings: Settings, *, today: date | None = None) -> DataRange:
    """The days the configured engine and table can answer about."""
    if settings.table_kind == "json":
        where = (
            str(settings.local_data_dir / JSON_FOLDER)
            if settings.engine == "local"
            else settings.athena_json_location
        )
        return DataRange(None, None, "unpartitioned", where)
    if settings.engine == "local":
        return local_range(settings.local_data_dir)
    end = today if today is not None else datetime.now(UTC).date()
    return DataRange(settings.first_day, end if settings.first_day else None, "projection")
