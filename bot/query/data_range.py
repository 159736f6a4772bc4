"""Which days of flow logs queries can see, told cheaply enough to show on every App Home visit.

Local engine: the first and last day folders under `<local_data_dir>/AWSLogs/<account>/vpcflowlogs/
<region>/<yyyy>/<MM>/<dd>/` (or the configured layout's folders, bot/flowlog_layouts.py) that hold a
flow-log file, over every account and region. Only folder
listings are read, never a file. Athena: the partition projection's range, `FLOWBOT_FIRST_DAY` to today
(UTC); whether S3 holds files for every day in it is Athena's business, not worth a LIST per visit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from bot.flowlog_layouts import DEFAULT_LAYOUT, LAYOUTS, Layout
from bot.query.layout import JSON_FOLDER, service_folders
from bot.settings import Settings

Origin = Literal["folders", "projection", "unpartitioned"]
_YEAR = re.compile(r"^\d{4}$")
_TWO_DIGITS = re.compile(r"^\d{2}$")
_EVENT_DAY = re.compile(r"^\d{8}$")


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


def _subdirs(folder: Path, pattern: re.Pattern[str], prefix: str = "") -> list[str]:
    """Values of the subfolders named `<prefix><value>` with the value matching `pattern`, sorted; none
    when the folder is missing."""
    try:
        with os.scandir(folder) as entries:
            return sorted(
                e.name[len(prefix) :]
                for e in entries
                if e.name.startswith(prefix) and pattern.fullmatch(e.name[len(prefix) :]) and e.is_dir()
            )
    except OSError:
        return []


def _day_folders(region_dir: Path, layout: Layout) -> Iterator[tuple[date, Path]]:
    """Every `<yyyy>/<MM>/<dd>` (or `year=<yyyy>/month=<MM>/day=<dd>`, or Security Lake's
    `eventDay=<yyyymmdd>`) folder naming a real date, in date order."""
    if layout.file_format == "ocsf":
        for day in _subdirs(region_dir, _EVENT_DAY, "eventDay="):
            try:
                yield date(int(day[:4]), int(day[4:6]), int(day[6:])), region_dir / f"eventDay={day}"
            except ValueError:
                continue
        return
    key = ("year=", "month=", "day=") if layout.hive else ("", "", "")
    for year in _subdirs(region_dir, _YEAR, key[0]):
        for month in _subdirs(region_dir / f"{key[0]}{year}", _TWO_DIGITS, key[1]):
            month_dir = region_dir / f"{key[0]}{year}" / f"{key[1]}{month}"
            for day in _subdirs(month_dir, _TWO_DIGITS, key[2]):
                try:
                    when = date(int(year), int(month), int(day))
                except ValueError:
                    continue
                yield when, month_dir / f"{key[2]}{day}"


def _holds_logs(folder: Path, layout: Layout) -> bool:
    """Whether a day folder holds a flow-log file (in an hourly layout: in one of its hour folders); stops
    at the first one, opens nothing."""
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if (
                    layout.hourly
                    and entry.is_dir()
                    and _holds_logs(Path(entry.path), replace(layout, hourly=False))
                ):
                    return True
                if not layout.hourly and entry.name.endswith(layout.suffix) and entry.is_file():
                    return True
    except OSError:
        return False
    return False


def local_range(root: Path, layout: Layout = LAYOUTS[DEFAULT_LAYOUT]) -> DataRange:
    """First and last day folders with logs, over every account and region under `root/AWSLogs`."""
    days: dict[date, list[Path]] = {}
    for _, _, region_dir in service_folders(root, layout):
        for when, folder in _day_folders(region_dir, layout):
            days.setdefault(when, []).append(folder)
    ordered = sorted(days)

    def first_with_logs(candidates: list[date]) -> date | None:
        """Only the folders at the ends are looked into, until one holds a file."""
        return next((d for d in candidates if any(_holds_logs(f, layout) for f in days[d])), None)

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
        return local_range(settings.local_data_dir, settings.flow_layout)
    end = today if today is not None else datetime.now(UTC).date()
    return DataRange(settings.first_day, end if settings.first_day else None, "projection")
