"""Large flow-log datasets for the scan benchmark, written by DuckDB in the layout the local engine reads.

`bot.samples.flow_logs` writes a few days of hand-shaped traffic record by record in Python: right for
tests and
demos, far too slow for the tens of millions of records a scan-rate figure needs. Here each record day is
one DuckDB `COPY (SELECT … FROM range(n)) TO … (PARTITION_BY …)` statement: every field is derived from
`hash(i, seed)` bits, DuckDB formats and gzips the rows on both cores, and the partition folders it writes
are moved to their S3 names afterwards. What the files look like, as `sample_data` writes them:

- the default version 2 format, header line first, fields separated by one space, `-` where a field does
  not apply (NODATA rows: no addresses, ports, protocol, counts nor action);
- four flow logs (three accounts, three regions; one account starts with 0), 64 ENIs each, one file per
  flow log per 10-minute delivery, under `AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/`
  foldered by delivery time and named `{account}_vpcflowlogs_{region}_{fl-id}_{yyyymmddTHHMMZ}_{hash}.log.gz`;
- every record of a file starts and ends inside the 10 minutes before its delivery, so a record day's
  last file is delivered at midnight into the next day's folder (what the engine's one-day delivery
  margin is for), and a window of whole days counts exactly the records generated for those days;
- traffic mix: 2% NODATA, 38% inbound from documentation-range and AWS-like internet peers (443/80/22),
  30% outbound (443/80, DNS and NTP over UDP), 25% east-west inside the VPC (databases, caches, HTTP),
  5% probes of low ports (TCP and ICMP, REJECTed); about half the accepted flows are written as the
  response direction; packets log-uniform in 1..2049, bytes 40..1500 per packet; ~2% of accepted-looking
  inbound flows and most SSH attempts REJECTed.

Datasets (`one_day`, `thirty_days`) are folders of hard links into per-record-day caches under
`data_dir/days/`, keyed by (day, records, seed, generator version): the same day is generated once and
shared, and a second run reuses everything. Density of the 30-day dataset: its last day *is* the one-day
dataset's day (same files, 10M records), the other 29 days hold 500,000 records each (1/20 of that).
Full density would be 300M records (~6.5 GB of gzip, ~30 minutes to generate at about a minute a day on
this 2-core machine, and over a minute per 30-day query); the light days keep the first generation to
about 2.5 minutes (~1 minute for the full day), while the comparison that matters, a 1-day window in 30
days against the same day alone, reads the very same files, and the 30-day query still opens every file
of every day (17,280 of them), so its cost per file and per byte can be set against the 1-day query's.
Sizes: the full day is 576 files, 216 MB of gzip (~1.1 GB of text, ~112 bytes a record); the 30-day
dataset 17,280 files, 551 MB.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

GENERATOR_VERSION = 1
"""Bump when the rows change, so that caches of the old rows are not reused."""
DEFAULT_DIR = Path(__file__).parent / ".data"
DAY = date(2026, 11, 19)
"""The one-day dataset's day, and the last day of the 30-day one."""
FULL_DAY_RECORDS = 10_000_000
LIGHT_DAY_RECORDS = 500_000
SEED = 11
DELIVERY = 600
"""One file per flow log per 10 minutes, as AWS delivers them."""
ENIS = 64
EXTERNAL_PREFIXES = ("198.51.100", "203.0.113", "192.0.2", "52.216.20", "54.239.28")
"""The /24 blocks of the internet peers (documentation ranges and AWS-like addresses), hosts .1 to .254."""
FLOW_LOGS: tuple[tuple[str, str], ...] = (
    ("012345678901", "us-east-1"),
    ("012345678901", "eu-west-1"),
    ("111122223333", "us-east-1"),
    ("444455556666", "ap-southeast-2"),
)
HEADER = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status",
)  # fmt: skip


def _hex(text: str, length: int) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:length]


def _flow_log_id(account: str, region: str) -> str:
    return "fl-" + _hex(f"flow-log/{account}/{region}", 17)


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"  # our own constants, no input


def _rows_sql(day: date, records: int, seed: int) -> str:
    """The SELECT writing one record day: `f` (file number) first, then the v2 fields in header order."""
    files = len(FLOW_LOGS) * 86_400 // DELIVERY
    day_start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    accounts = _sql_list([a for a, _ in FLOW_LOGS])
    enis = _sql_list([
        "eni-" + _hex(f"eni/{a}/{r}/{n}", 17) for a, r in FLOW_LOGS for n in range(ENIS)
    ])  # fmt: skip
    external = _sql_list(list(EXTERNAL_PREFIXES))
    values = (
        "'2'", "account", "eni_id",
        "CASE WHEN flip THEN dst ELSE src END", "CASE WHEN flip THEN src ELSE dst END",
        "CAST(CASE WHEN flip THEN dport ELSE sport END AS VARCHAR)",
        "CAST(CASE WHEN flip THEN sport ELSE dport END AS VARCHAR)",
        "CAST(proto AS VARCHAR)", "CAST(packets AS VARCHAR)", "CAST(packets * size AS VARCHAR)",
        "CAST(start_ts AS VARCHAR)", "CAST(start_ts + (c >> 48) % 60 AS VARCHAR)",
        "CASE WHEN reject THEN 'REJECT' ELSE 'ACCEPT' END",
        "CASE WHEN nodata THEN 'NODATA' ELSE 'OK' END",
    )  # fmt: skip
    no_data = {"srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action"}
    fields = ", ".join(
        f"CASE WHEN nodata THEN '-' ELSE {expr} END AS \"{h}\"" if h in no_data else f'{expr} AS "{h}"'
        for h, expr in zip(HEADER, values, strict=True)
    )
    # our own constants and numbers only, no input
    return f"""
WITH r AS (
    SELECT f, f % {len(FLOW_LOGS)} AS fl, f // {len(FLOW_LOGS)} AS slot,
           hash(i, {seed}) AS a, hash(i, {seed + 1}) AS b, hash(i, {seed + 2}) AS c
    FROM (SELECT i, (i * {files}) // {records} AS f FROM range({records}) t(i))
), k AS (
    SELECT *, CAST(a % {ENIS} AS BIGINT) AS eni, CAST((a >> 8) % 100 AS BIGINT) AS kind,
           CAST((a >> 16) % 100 AS BIGINT) AS dice,
           printf('%s.%d', {external}[CAST(b % 5 AS BIGINT) + 1], 1 + (b >> 8) % 254) AS ext,
           CAST(32768 + (b >> 24) % 32768 AS BIGINT) AS eph, CAST((b >> 40) % 6 AS BIGINT) AS pick,
           {day_start} + slot * {DELIVERY} + CAST((c >> 32) % {DELIVERY - 60} AS BIGINT) AS start_ts
    FROM r
), p AS (
    SELECT *, {accounts}[fl + 1] AS account, {enis}[fl * {ENIS} + eni + 1] AS eni_id,
           printf('10.%d.%d.%d', fl, 1 + eni // 32, 10 + eni % 32) AS host,
           kind < 2 AS nodata,
           CASE WHEN kind < 40 THEN 'in' WHEN kind < 70 THEN 'out' WHEN kind < 95 THEN 'east' ELSE 'probe' END
               AS dir,
           CASE WHEN kind < 40 THEN [443, 443, 443, 80, 22, 443][pick + 1]
                WHEN kind < 70 THEN [443, 443, 443, 53, 123, 80][pick + 1]
                WHEN kind < 95 THEN [3306, 5432, 6379, 8080, 443, 443][pick + 1]
                WHEN pick = 0 THEN 0 ELSE CAST(1 + (b >> 44) % 1024 AS BIGINT) END AS service
    FROM k
), q AS (
    SELECT *,
           CASE WHEN dir = 'out' THEN host ELSE
               CASE WHEN dir = 'east' THEN host ELSE ext END END AS src,
           CASE WHEN dir = 'out' THEN ext
                WHEN dir = 'east' THEN printf('10.%d.%d.%d', fl, 1 + (b >> 8) % 2, 10 + (b >> 16) % 32)
                ELSE host END AS dst,
           CASE WHEN service = 0 THEN 0 ELSE eph END AS sport,
           service AS dport,
           CASE WHEN service = 0 THEN 1 WHEN service IN (53, 123) THEN 17 ELSE 6 END AS proto,
           dir = 'probe' OR dir = 'in' AND (service = 22 AND dice < 90 OR dice < 2) AS reject
    FROM p
)
SELECT f, {fields}
FROM (
    SELECT *, NOT reject AND (c >> 62) = 1 AS flip,
           CASE WHEN reject THEN 1 + (c >> 8) % 2 ELSE CAST(pow(2.0, (c % 1000) / 1000.0 * 11) AS BIGINT) END
               AS packets,
           CASE WHEN reject THEN 40 + (c >> 10) % 20 ELSE 40 + (c >> 10) % 1461 END AS size
    FROM q
)"""  # noqa: S608


def _write_day(folder: Path, day: date, records: int, seed: int) -> None:
    """Generate one record day into `folder/AWSLogs/…` (files delivered that day and at the next midnight)."""
    staging = folder / "staging"
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET partitioned_write_max_open_files = 1000")
        con.execute(
            f"COPY ({_rows_sql(day, records, seed)}) TO '{staging}' "
            "(FORMAT csv, DELIMITER ' ', HEADER, QUOTE '', COMPRESSION gzip, PARTITION_BY (f))"
        )
    finally:
        con.close()
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    for part in staging.iterdir():
        f = int(part.name.removeprefix("f="))
        account, region = FLOW_LOGS[f % len(FLOW_LOGS)]
        at = day_start + timedelta(seconds=(f // len(FLOW_LOGS) + 1) * DELIVERY)
        target = folder / "AWSLogs" / account / "vpcflowlogs" / region / f"{at:%Y}" / f"{at:%m}" / f"{at:%d}"
        target.mkdir(parents=True, exist_ok=True)
        for n, written in enumerate(sorted(part.iterdir())):  # one file, unless DuckDB rolled it over
            suffix = _hex(f"{seed}/{day}/{records}/{f}/{n}", 8)
            written.rename(
                target / f"{account}_vpcflowlogs_{region}_{_flow_log_id(account, region)}_{at:%Y%m%dT%H%MZ}_"
                f"{suffix}.log.gz"
            )
        part.rmdir()
    staging.rmdir()


def _day_cache(data_dir: Path, day: date, records: int, seed: int) -> tuple[Path, bool]:
    """The folder holding one generated record day; generated now unless cached. (folder, was cached)"""
    folder = data_dir / "days" / f"{day:%Y%m%d}-{records}-s{seed}-v{GENERATOR_VERSION}"
    if folder.is_dir():
        return folder, True
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    _write_day(partial, day, records, seed)
    partial.rename(folder)  # complete days only: an interrupted run leaves a .partial, redone next time
    return folder, False


@dataclass(frozen=True)
class Dataset:
    """A generated dataset: a folder holding `AWSLogs/`, and how many records each day's window holds."""

    root: Path
    records_by_day: dict[date, int]
    files: int
    gzip_bytes: int
    seconds: float
    """Time this call took: generation of any day not cached yet, plus linking."""
    generated_days: int

    @property
    def records(self) -> int:
        return sum(self.records_by_day.values())

    def records_between(self, first: date, last: date) -> int:
        """Records whose start lies in the whole days first..last (inclusive)."""
        return sum(n for d, n in self.records_by_day.items() if first <= d <= last)

    def describe(self) -> str:
        state = f"generated {self.generated_days} day(s)" if self.generated_days else "cached"
        return (
            f"{self.root.name}: {self.records:,} records over {len(self.records_by_day)} day(s), "
            f"{self.files:,} files, {self.gzip_bytes / 1e6:,.0f} MB gzip ({state}, {self.seconds:.1f} s)"
        )


def build(data_dir: Path, name: str, plan: Mapping[date, int], seed: int = SEED) -> Dataset:
    """A dataset of the record days in `plan` (day -> records), hard-linked from the per-day caches."""
    started = time.perf_counter()
    key = _hex(json.dumps([seed, GENERATOR_VERSION, sorted((str(d), n) for d, n in plan.items())]), 10)
    root = data_dir / f"{name}-{key}"
    generated = 0
    days = []
    for day, records in sorted(plan.items()):
        folder, cached = _day_cache(data_dir, day, records, seed)
        generated += not cached
        days.append(folder)
    if not root.is_dir():
        partial = root.with_name(root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        for folder in days:
            for source in (folder / "AWSLogs").rglob("*.log.gz"):
                target = partial / source.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(source, target)  # same bytes, no copy: a day shared by two datasets is one file
        partial.rename(root)
    sizes = [p.stat().st_size for p in (root / "AWSLogs").rglob("*.log.gz")]
    return Dataset(root, dict(plan), len(sizes), sum(sizes), time.perf_counter() - started, generated)


def one_day(data_dir: Path = DEFAULT_DIR, day: date = DAY, records: int = FULL_DAY_RECORDS) -> Dataset:
    """Dataset (a): one day of `records` records."""
    return build(data_dir, "one-day", {day: records})


def thirty_days(
    data_dir: Path = DEFAULT_DIR,
    last_day: date = DAY,
    records: int = FULL_DAY_RECORDS,
    light_records: int = LIGHT_DAY_RECORDS,
) -> Dataset:
    """Dataset (b): 30 days ending with `last_day`, which holds `records` (the one-day dataset's very files);
    the 29 days before hold `light_records` each."""
    plan = {last_day - timedelta(days=i): light_records for i in range(1, 30)}
    plan[last_day] = records
    return build(data_dir, "thirty-days", plan)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Generate (or find cached) the scan benchmark's datasets.")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    for dataset in (one_day(args.data_dir), thirty_days(args.data_dir)):
        print(dataset.describe())
