"""Where VPC Flow Logs puts its files, and which of them a window needs.

`<root>/AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<MM>/<dd>/<account>_vpcflowlogs_<region>_...log.gz`,
foldered by delivery day. Opening only the folders of the window's days (plus the delivery margin,
see `Window.last_day`), accounts and regions is the same pruning partition projection gives Athena.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.identifiers import ACCOUNT_ID, REGION


@dataclass(frozen=True)
class FlowLogFile:
    """One delivered file and the partition values its path gives it."""

    path: Path
    account: str
    region: str
    day: date
    size: int


def _subdirs(folder: Path, pattern: re.Pattern[str], only: str | None) -> list[Path]:
    if only is not None:
        candidate = folder / only
        return [candidate] if candidate.is_dir() else []
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and pattern.fullmatch(p.name))


JSON_FOLDER = "vpc_flow_logs"
"""Where the local engine finds the JSON table's records: `<root>/vpc_flow_logs/**/*.json[.gz]`."""


def json_files(root: Path) -> list[Path]:
    """Every JSON-lines file of the JSON table: it has no partitions, so every query reads them all."""
    folder = root / JSON_FOLDER
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".json", ".json.gz")))


def select_files(
    root: Path, days: Iterable[date], account: str | None = None, region: str | None = None
) -> list[FlowLogFile]:
    """The `.log.gz` files of the given days, accounts and regions; nothing else is listed."""
    days = list(days)
    files = []
    for account_dir in _subdirs(root / "AWSLogs", ACCOUNT_ID, account):
        for region_dir in _subdirs(account_dir / "vpcflowlogs", REGION, region):
            for day in days:
                folder = region_dir / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
                if not folder.is_dir():
                    continue
                for path in sorted(folder.glob("*.log.gz")):
                    files.append(
                        FlowLogFile(path, account_dir.name, region_dir.name, day, path.stat().st_size)
                    )
    return files
