"""The shapes in which VPC Flow Logs writes to S3, and what each shape means for reading it.

A flow log's S3 destination has three options (Amazon VPC User Guide, "Flow log files",
https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html):
- the file format: plain text (gzip, a header line, fields split by spaces) or Parquet;
- Hive-compatible S3 prefixes:
  `AWSLogs/aws-account-id=<id>/aws-service=vpcflowlogs/aws-region=<r>/year=<y>/month=<m>/day=<d>/`
  instead of `AWSLogs/<id>/vpcflowlogs/<r>/<y>/<m>/<d>/`;
- hourly partitions: one more folder level, `<HH>/` (or `hour=<HH>/` with Hive prefixes).

Each combination is a `Layout`, named e.g. `text-daily` (the default, the playbook's) or
`parquet-hive-hourly`. The templates stay written against the logical `vpcflow` table; a layout says
where the window's files are (`folder`), what the files' columns are called (`PARQUET_COLUMNS`), and how
the logical partition columns are read from the path. Pure data: no engine, no settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.flowlog_format import FIELDS

FileFormat = Literal["text", "parquet", "ocsf"]

SECURITY_LAKE_ROOT = "aws/VPC_FLOW/2.0"
"""Where Amazon Security Lake keeps VPC flow logs (source version 2, OCSF Parquet) in its bucket, with
`region=<r>/accountId=<id>/eventDay=<yyyymmdd>/` below it (not confirmed on a Security Lake bucket: README,
known limits)."""


@dataclass(frozen=True)
class Layout:
    """One shape of a flow-log bucket: file format, prefix style and partition grain."""

    file_format: FileFormat
    hive: bool
    hourly: bool

    @property
    def name(self) -> str:
        """`text-daily`, `text-hourly`, `parquet-hive-hourly`, ..., `security-lake`."""
        if self.file_format == "ocsf":
            return "security-lake"
        parts = [self.file_format, *(["hive"] if self.hive else []), "hourly" if self.hourly else "daily"]
        return "-".join(parts)

    @property
    def suffix(self) -> str:
        """How a delivered file's name ends: `.log.gz` (text), `.log.parquet` (Parquet, gzip inside) or
        `.parquet` (Security Lake's OCSF files)."""
        return {"text": ".log.gz", "parquet": ".log.parquet", "ocsf": ".parquet"}[self.file_format]

    @property
    def root_folder(self) -> str:
        """The top folder of the logs: `AWSLogs` (VPC Flow Logs) or Security Lake's `aws/VPC_FLOW/2.0`."""
        return SECURITY_LAKE_ROOT if self.file_format == "ocsf" else "AWSLogs"

    def service_folder(self, account: str, region: str) -> str:
        """The folder of one account's and region's logs, below `root_folder`."""
        if self.file_format == "ocsf":
            return f"region={region}/accountId={account}"
        if self.hive:
            return f"aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}"
        return f"{account}/vpcflowlogs/{region}"

    def time_folder(self, when: date | datetime) -> str:
        """The folder of one partition (a day, or an hour when hourly), below the service folder."""
        if self.file_format == "ocsf":
            return f"eventDay={when:%Y%m%d}"
        if self.hive:
            folder = f"year={when:%Y}/month={when:%m}/day={when:%d}"
            return f"{folder}/hour={when:%H}" if self.hourly and isinstance(when, datetime) else folder
        folder = f"{when:%Y}/{when:%m}/{when:%d}"
        return f"{folder}/{when:%H}" if self.hourly and isinstance(when, datetime) else folder

    def folder(self, account: str, region: str, when: date | datetime) -> str:
        """`AWSLogs/...`: where the files of one account, region and partition are delivered."""
        return f"{self.root_folder}/{self.service_folder(account, region)}/{self.time_folder(when)}"


SECURITY_LAKE = Layout("ocsf", hive=True, hourly=False)
"""Amazon Security Lake's VPC flow logs: OCSF records in Parquet, partitioned by region, account and event
day; read through the mapping of bot/query/ocsf.py."""

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        *(
            Layout(file_format, hive, hourly)
            for file_format in ("text", "parquet")
            for hive in (False, True)
            for hourly in (False, True)
        ),
        SECURITY_LAKE,
    )
}
"""Every layout by name: text before Parquet, plain before Hive, daily before hourly, then Security Lake."""

FLOW_LOG_LAYOUTS: tuple[str, ...] = tuple(
    name for name, layout in LAYOUTS.items() if layout.file_format != "ocsf"
)
"""The layouts VPC Flow Logs itself delivers to S3 (all but Security Lake's)."""

DEFAULT_LAYOUT = "text-daily"
"""What a flow log writes unless told otherwise, and what the playbook's table reads."""


PARQUET_TYPES: dict[str, str] = {
    "version": "integer",
    "srcport": "integer",
    "dstport": "integer",
    "protocol": "bigint",
    "packets": "bigint",
    "bytes": "bigint",
    "start": "bigint",
    "end": "bigint",
    "tcp-flags": "integer",
    "traffic-path": "integer",
    "packets-lost-no-route": "bigint",
    "packets-lost-blackhole": "bigint",
    "packets-lost-mtu-exceeded": "bigint",
    "packets-lost-ttl-expired": "bigint",
}
"""Parquet flow-log fields that are not strings, with the Athena types of AWS's reference DDL for them
(Amazon Athena User Guide, "Create tables for flow logs in Apache Parquet format",
https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-parquet.html: `version int`, `protocol bigint`,
`tcp_flags int`, ...; every other field is `string`), and a transit gateway's four loss counters, INT_64 in
its Parquet files ("Transit Gateway Flow Log records", https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html)."""


def parquet_column(header: str) -> str:
    """A field's column name in a Parquet file: its header name with `_` for `-` (`account-id` →
    `account_id`), as AWS's reference DDL for Parquet names them."""
    return header.replace("-", "_")


PARQUET_COLUMNS: tuple[tuple[str, str, str], ...] = tuple(
    (f.header, parquet_column(f.header), PARQUET_TYPES.get(f.header, "varchar")) for f in FIELDS
)
"""(header, Parquet column, Athena type) of every field Flowbot knows, in FIELDS' order."""
