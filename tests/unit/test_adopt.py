"""Adopting a flow-log table that already exists (FLOWBOT_ATHENA_ADOPT_TABLE, bot/aws/adopt.py).

Each table is written out here as its source declares it, not computed by the code under test:
- AWS's text DDL (Amazon Athena User Guide, "Create a table for Amazon VPC flow logs and query it",
  https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-create-table-statement.html): the fields of
  versions 2 to 5 under AWS's names, `PARTITIONED BY (date date)`, LOCATION
  `s3://amzn-s3-demo-bucket/prefix/AWSLogs/{account_id}/vpcflowlogs/{region_code}/`, partitions added by
  `ALTER TABLE ... ADD PARTITION`;
- AWS's Parquet DDL ("Create tables for flow logs in Apache Parquet format",
  https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-parquet.html): the same columns,
  ParquetHiveSerDe, `PARTITIONED BY (aws-account-id, aws-service, aws-region, year, month, day, hour)` (all
  strings; "If you do not have hourly partitions, remove hour"), LOCATION `s3://amzn-s3-demo-bucket/prefix/AWSLogs/`,
  partitions loaded by `MSCK REPAIR TABLE`;
- AWS's projection examples ("Create and query a table for Amazon VPC flow logs using partition projection",
  https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-partition-projection.html: text,
  `PARTITIONED BY (accid string, region string, day string)`, `projection.day.format` `yyyy/MM/dd`; "Create
  tables for flow logs in Apache Parquet format using partition projection",
  https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-partition-projection-parquet-example.html:
  Parquet, `PARTITIONED BY (region string, date string, hour string)`, one account's folder). Both leave the
  `region` column out (a partition key has that name);
- a hand-written table of the playbook's names and types (`numpackets int`, `starttime int`) partitioned by
  `dt string` holding 'yyyy-MM-dd', a shape seen in public write-ups (not an AWS page);
- Flowbot's own text-daily table (bot/aws/ddl.py), made by another deployment.

Adopting each prints the settings checked here; with them, `to_athena` writes every `vpcflow` template
against the table, and that SQL, run on DuckDB (bot.query.engines.dialect.to_duckdb, as
tests/unit/test_security_lake.py does) over a table of the shape holding the records of
tests/unit/test_layout_sql.py's kind, answers what the playbook's own table answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
import sqlglot
from moto import mock_aws
from pydantic import ValidationError
from sqlglot import exp

from bot.aws.adopt import AdoptError, adopt, adoption_lines, decide
from bot.cli import main
from bot.health import catalog_problem
from bot.query.catalog import LOGICAL_TABLE, QueryTemplate, load_catalog
from bot.query.engines.athena import to_athena
from bot.query.engines.dialect import install_macros, to_duckdb
from bot.query.sources import physical_columns
from bot.request import FlowRequest, Window
from bot.settings import Settings
from tests.athena_sql import filled_in
from tests.conftest import fake_aws_environment

REGION = "eu-west-3"
ACCOUNT = "012345678901"
TEXT_SERDE = {
    "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
    "Parameters": {"field.delim": " ", "serialization.format": " "},
}
PARQUET_SERDE = {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}

AWS_COLUMNS = [
    ("version", "int"), ("account_id", "string"), ("interface_id", "string"), ("srcaddr", "string"),
    ("dstaddr", "string"), ("srcport", "int"), ("dstport", "int"), ("protocol", "bigint"),
    ("packets", "bigint"), ("bytes", "bigint"), ("start", "bigint"), ("end", "bigint"), ("action", "string"),
    ("log_status", "string"), ("vpc_id", "string"), ("subnet_id", "string"), ("instance_id", "string"),
    ("tcp_flags", "int"), ("type", "string"), ("pkt_srcaddr", "string"), ("pkt_dstaddr", "string"),
    ("region", "string"), ("az_id", "string"), ("sublocation_type", "string"), ("sublocation_id", "string"),
    ("pkt_src_aws_service", "string"), ("pkt_dst_aws_service", "string"), ("flow_direction", "string"),
    ("traffic_path", "int"),
]  # fmt: skip
"""The columns of AWS's text and Parquet DDLs for flow logs, in their order."""
PROJECTION_COLUMNS = [c for c in AWS_COLUMNS if c[0] != "region"]
"""The columns of AWS's projection examples: the same without `region` (a partition key there)."""
AWS_TO_LOGICAL = {
    "version": "version", "account_id": "account", "interface_id": "interfaceid", "srcaddr": "sourceaddress",
    "dstaddr": "destinationaddress", "srcport": "sourceport", "dstport": "destinationport",
    "protocol": "protocol", "packets": "numpackets", "bytes": "numbytes", "start": "starttime",
    "end": "endtime", "action": "action", "log_status": "logstatus", "vpc_id": "vpcid",
    "subnet_id": "subnetid", "instance_id": "instanceid", "tcp_flags": "tcpflags", "type": "type",
    "pkt_srcaddr": "pktsrcaddr", "pkt_dstaddr": "pktdstaddr", "region": "region", "az_id": "azid",
    "sublocation_type": "sublocationtype", "sublocation_id": "sublocationid",
    "pkt_src_aws_service": "pktsrcawsservice", "pkt_dst_aws_service": "pktdstawsservice",
    "flow_direction": "flowdirection", "traffic_path": "trafficpath",
}  # fmt: skip
AWS_ENTRIES = (
    "version:version,account_id:account,interface_id:interfaceid,srcaddr:sourceaddress,"
    "dstaddr:destinationaddress,srcport:sourceport,dstport:destinationport,protocol:protocol:bigint,"
    "packets:numpackets,bytes:numbytes,start:starttime,end:endtime,action:action,log_status:logstatus,"
    "vpc_id:vpcid,subnet_id:subnetid,instance_id:instanceid,tcp_flags:tcpflags:int,type:type,"
    "pkt_srcaddr:pktsrcaddr,pkt_dstaddr:pktdstaddr,region:region,az_id:azid,"
    "sublocation_type:sublocationtype,sublocation_id:sublocationid,pkt_src_aws_service:pktsrcawsservice,"
    "pkt_dst_aws_service:pktdstawsservice,flow_direction:flowdirection,traffic_path:trafficpath"
)
"""FLOWBOT_ATHENA_ADOPTED_COLUMNS for AWS's columns: `protocol bigint` and `tcp_flags int` differ from
Flowbot's integer and smallint."""
PROJECTION_ENTRIES = AWS_ENTRIES.replace("region:region,", "")
AWS_FORMAT = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
    "${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} "
    "${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${sublocation-type} "
    "${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}"
)
"""The log format AWS's DDLs are written for (their column order: versions 2 to 5)."""
PROJECTION_FORMAT = AWS_FORMAT.replace("${region} ", "")
PLAYBOOK_COLUMNS = [
    ("version", "int"), ("account", "string"), ("interfaceid", "string"), ("sourceaddress", "string"),
    ("destinationaddress", "string"), ("sourceport", "int"), ("destinationport", "int"), ("protocol", "int"),
    ("numpackets", "int"), ("numbytes", "bigint"), ("starttime", "int"), ("endtime", "int"),
    ("action", "string"), ("logstatus", "string"),
]  # fmt: skip
"""The playbook's own `vpcflow` columns and types (version 2; packets, start and end as int)."""
V2_FORMAT = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
    "${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
)
FLOWBOT_COLUMNS = [
    (n, "bigint" if n in ("numpackets", "starttime", "endtime") else t) for n, t in PLAYBOOK_COLUMNS
]


@dataclass(frozen=True)
class Shape:
    """One existing table, as its source declares it, and the settings adopting it prints."""

    name: str
    serde: dict[str, Any]
    columns: list[tuple[str, str]]
    keys: list[tuple[str, str]]
    location: str
    settings: dict[str, str]
    parameters: dict[str, str] = field(default_factory=dict)
    partitions: list[list[str]] = field(default_factory=list)
    """Glue partitions (values) of a table that is not projected, as MSCK REPAIR or ALTER TABLE adds them."""

    @property
    def logical(self) -> dict[str, str]:
        """Table column → the logical column it holds."""
        return {name: AWS_TO_LOGICAL.get(name, name) for name, _ in self.columns}


PROJECTED_DAY = {
    "projection.enabled": "true",
    "projection.region.type": "enum",
    "projection.region.values": "us-east-1,us-west-2,ap-south-1,eu-west-1,eu-west-3",
}
SHAPES = [
    Shape(
        "vpc_flow_logs",
        TEXT_SERDE,
        AWS_COLUMNS,
        [("date", "date")],
        f"s3://amzn-s3-demo-bucket/prefix/AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/",
        {
            "FLOWBOT_LAYOUT": "text-daily",
            "FLOWBOT_LOG_FORMAT": AWS_FORMAT,
            "FLOWBOT_ATHENA_ADOPTED_COLUMNS": AWS_ENTRIES,
            "FLOWBOT_ATHENA_ADOPTED_PARTITIONS": "date:date",
            "FLOWBOT_ACCOUNTS": ACCOUNT,
            "FLOWBOT_REGIONS": REGION,
            "FLOWBOT_FLOW_LOGS_BUCKET": "amzn-s3-demo-bucket",
            "FLOWBOT_FLOW_LOGS_PREFIX": "prefix",
        },
        {"EXTERNAL": "TRUE", "skip.header.line.count": "1"},
    ),
    Shape(
        "vpc_flow_logs_parquet",
        PARQUET_SERDE,
        AWS_COLUMNS,
        [
            (k, "string")
            for k in ("aws-account-id", "aws-service", "aws-region", "year", "month", "day", "hour")
        ],
        "s3://amzn-s3-demo-bucket/prefix/AWSLogs/",
        {
            "FLOWBOT_LAYOUT": "parquet-hive-hourly",
            "FLOWBOT_LOG_FORMAT": AWS_FORMAT,
            "FLOWBOT_ATHENA_ADOPTED_COLUMNS": AWS_ENTRIES,
            "FLOWBOT_ATHENA_ADOPTED_PARTITIONS": (
                "aws-account-id:account,aws-service:service,aws-region:region,year:year,month:month,day:day,"
                "hour:hour"
            ),
            "FLOWBOT_FLOW_LOGS_BUCKET": "amzn-s3-demo-bucket",
            "FLOWBOT_FLOW_LOGS_PREFIX": "prefix",
        },
        {"EXTERNAL": "true", "skip.header.line.count": "1"},
    ),
    Shape(
        "vpc_flow_logs_parquet_daily",
        PARQUET_SERDE,
        AWS_COLUMNS,
        [(k, "string") for k in ("aws-account-id", "aws-service", "aws-region", "year", "month", "day")],
        "s3://amzn-s3-demo-bucket/prefix/AWSLogs/",
        {
            "FLOWBOT_LAYOUT": "parquet-hive-daily",
            "FLOWBOT_LOG_FORMAT": AWS_FORMAT,
            "FLOWBOT_ATHENA_ADOPTED_COLUMNS": AWS_ENTRIES,
            "FLOWBOT_ATHENA_ADOPTED_PARTITIONS": (
                "aws-account-id:account,aws-service:service,aws-region:region,year:year,month:month,day:day"
            ),
            "FLOWBOT_FLOW_LOGS_BUCKET": "amzn-s3-demo-bucket",
            "FLOWBOT_FLOW_LOGS_PREFIX": "prefix",
        },
        {"EXTERNAL": "true", "skip.header.line.count": "1"},
    ),
    Shape(
        "test_table_vpclogs",
        TEXT_SERDE,
        PROJECTION_COLUMNS,
        [("accid", "string"), ("region", "string"), ("day", "string")],
        "s3://amzn-s3-demo-bucket/AWSLogs/",
        {
            "FLOWBOT_LAYOUT": "text-daily",
            "FLOWBOT_LOG_FORMAT": PROJECTION_FORMAT,
            "FLOWBOT_ATHENA_ADOPTED_COLUMNS": PROJECTION_ENTRIES,
            "FLOWBOT_ATHENA_ADOPTED_PARTITIONS": "accid:account,region:region,day:date-slashes",
            "FLOWBOT_ACCOUNTS": f"{ACCOUNT},111122223333",
            "FLOWBOT_REGIONS": "us-east-1,us-west-2,ap-south-1,eu-west-1,eu-west-3",
            "FLOWBOT_FLOW_LOGS_BUCKET": "amzn-s3-demo-bucket",
        },
        {
            "skip.header.line.count": "1",
            **PROJECTED_DAY,
            "projection.accid.type": "enum",
            "projection.accid.values": f"{ACCOUNT},111122223333",
            "projection.day.type": "date",
            "projection.day.range": "2021/01/01,NOW",
            "projection.day.format": "yyyy/MM/dd",
            "storage.location.template": "s3://amzn-s3-demo-bucket/AWSLogs/${accid}/vpcflowlogs/${region}/${day}",
        },
    ),
    Shape(
        "test_table_vpclogs_parquet",
        PARQUET_SERDE,
        PROJECTION_COLUMNS,
        [("region", "string"), ("date", "string"), ("hour", "string")],
        f"s3://amzn-s3-demo-bucket/prefix/AWSLogs/{ACCOUNT}/vpcflowlogs/",
        {
            "FLOWBOT_LAYOUT": "parquet-hourly",
            "FLOWBOT_LOG_FORMAT": PROJECTION_FORMAT,
            "FLOWBOT_ATHENA_ADOPTED_COLUMNS": PROJECTION_ENTRIES,
            "FLOWBOT_ATHENA_ADOPTED_PARTITIONS": "region:region,date:date-slashes,hour:hour",
            "FLOWBOT_ACCOUNTS": ACCOUNT,
            "FLOWBOT_REGIONS": "us-east-1,us-west-2,ap-south-1,eu-west-1,eu-west-3",
            "FLOWBOT_FLOW_LOGS_BUCKET": "amzn-s3-demo-bucket",
            "FLOWBOT_FLOW_LOGS_PREFIX": "prefix",
        },
        {
            "EXTERNAL": "true",
            "skip.header.line.count": "1",
            **PROJECTED_DAY,
            "projection.date.type": "date",
            "projection.date.range": "2021/01/01,NOW",
            "projection.date.format": "yyyy/MM/dd",
            "projection.hour.type": "integer",
            "projection.hour.range": "00,23",
            "projection.hour.digits": "2",
        },
    ),
    Shape(
        "vpc_flow_logs_myawsaccount",
        TEXT_SERDE,
        PLAYBOOK_COLUMNS,
        [("dt", "string")],
        f"s3://your-vpc-flow-logs-s3-bucket/AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/",
        {
            "FLOWBOT_LAYOUT": "text-daily",
            "FLOWBOT_LOG_FORMAT": V2_FORMAT,
            "FLOWBOT_ATHENA_ADOPTED_COLUMNS": (
                "version:version,account:account,interfaceid:interfaceid,sourceaddress:sourceaddress,"
                "destinationaddress:destinationaddress,sourceport:sourceport,destinationport:destinationport,"
                "protocol:protocol,numpackets:numpackets:int,numbytes:numbytes,starttime:starttime:int,"
                "endtime:endtime:int,action:action,logstatus:logstatus"
            ),
            "FLOWBOT_ATHENA_ADOPTED_PARTITIONS": "dt:date-dashes",
            "FLOWBOT_ACCOUNTS": ACCOUNT,
            "FLOWBOT_REGIONS": REGION,
            "FLOWBOT_FLOW_LOGS_BUCKET": "your-vpc-flow-logs-s3-bucket",
        },
        {"skip.header.line.count": "1"},
        [["2026-11-18"], ["2026-11-19"]],
    ),
    Shape(
        "vpcflow",
        TEXT_SERDE,
        FLOWBOT_COLUMNS,
        [("date_partition", "string"), ("region_partition", "string"), ("account_partition", "string")],
        "s3://central-logs/AWSLogs/",
        {
            "FLOWBOT_LAYOUT": "text-daily",
            "FLOWBOT_LOG_FORMAT": V2_FORMAT,
            "FLOWBOT_ATHENA_ADOPTED_COLUMNS": ",".join(f"{n}:{n}" for n, _ in FLOWBOT_COLUMNS),
            "FLOWBOT_ATHENA_ADOPTED_PARTITIONS": (
                "date_partition:date-slashes,region_partition:region,account_partition:account"
            ),
            "FLOWBOT_ACCOUNTS": ACCOUNT,
            "FLOWBOT_REGIONS": REGION,
            "FLOWBOT_FLOW_LOGS_BUCKET": "central-logs",
        },
        {
            "skip.header.line.count": "1",
            "projection.enabled": "true",
            "projection.date_partition.type": "date",
            "projection.date_partition.range": "2025/11/30,NOW",
            "projection.date_partition.format": "yyyy/MM/dd",
            "projection.region_partition.type": "enum",
            "projection.region_partition.values": REGION,
            "projection.account_partition.type": "enum",
            "projection.account_partition.values": ACCOUNT,
        },
    ),
]
BY_NAME = {shape.name: shape for shape in SHAPES}
BASE = {"athena_flow_database": "logs", "athena_database": "flow_db", "athena_ioc_table": "iocs_v1"}


def _settings(shape: Shape, **more: Any) -> Settings:
    """Settings naming the table to adopt, and nothing of it yet."""
    return Settings(**BASE, athena_table=shape.name, **more)  # type: ignore[arg-type]


def adopted(shape: Shape) -> Settings:
    """The settings adopting the shape prints (its `settings`), with the base ones."""
    values = {name.removeprefix("FLOWBOT_").lower(): value for name, value in shape.settings.items()}
    return Settings(**BASE, athena_table=shape.name, athena_adopt_table=True, **values)  # type: ignore[arg-type]


def _glue_table(glue: Any, shape: Shape) -> None:
    """The shape as its DDL makes it in Glue (and its partitions, when it is not projected)."""
    if not any(d["Name"] == "logs" for d in glue.get_databases()["DatabaseList"]):
        glue.create_database(DatabaseInput={"Name": "logs"})
    storage = {
        "Columns": [{"Name": n, "Type": t} for n, t in shape.columns],
        "Location": shape.location,
        "SerdeInfo": shape.serde,
    }
    glue.create_table(
        DatabaseName="logs",
        TableInput={
            "Name": shape.name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": shape.parameters,
            "PartitionKeys": [{"Name": n, "Type": t} for n, t in shape.keys],
            "StorageDescriptor": storage,
        },
    )
    for values in shape.partitions:
        glue.create_partition(
            DatabaseName="logs",
            TableName=shape.name,
            PartitionInput={"Values": values, "StorageDescriptor": storage},
        )


@pytest.fixture
def glue() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("glue", region_name="us-east-1")


# --- adopting each shape prints the settings that read it -----------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_adopting_each_documented_table_prints_the_settings_that_read_it(glue: Any, shape: Shape) -> None:
    _glue_table(glue, shape)
    lines = adoption_lines(adopt(glue, _settings(shape)))
    at = lines.index("# settings:")
    assert all(line.startswith("# ") for line in lines[:at])
    printed = dict(line.split("=", 1) for line in lines[at + 1 :])
    wanted = {
        "FLOWBOT_ATHENA_ADOPT_TABLE": "true",
        "FLOWBOT_ATHENA_FLOW_DATABASE": "logs",
        "FLOWBOT_ATHENA_TABLE": shape.name,
        **shape.settings,
    }
    assert printed == {name: (f"'{v}'" if "$" in v else v) for name, v in wanted.items()}  # shell-quoted
    adopted(shape)  # the printed settings load together


def test_the_comments_say_what_was_read() -> None:
    shape = BY_NAME["vpc_flow_logs"]
    lines = adoption_lines(decide(_glue_description(shape), _settings(shape)))
    assert lines[:6] == [
        "# table logs.vpc_flow_logs: text (LazySimpleSerDe), 29 flow-log columns, partition keys date (date)",
        "# partitions: kept in Glue (Athena prunes them by the predicates on their keys; someone must add "
        "new ones)",
        "# date_partition: key date (a date)",
        f"# region_partition: {REGION}, the one its location names (the table has no region key)",
        f"# account_partition: {ACCOUNT}, the one its location names (the table has no account key)",
        "# a text table's columns are its fields, in order: FLOWBOT_LOG_FORMAT is its format",
    ]
    parquet = BY_NAME["vpc_flow_logs_parquet"]
    extra = _glue_description(parquet, columns=[*parquet.columns, ("ingested_at", "timestamp")])
    lines = adoption_lines(decide(extra, _settings(parquet, accounts=ACCOUNT)))
    assert "# left out (not flow-log fields; Parquet columns are read by name): ingested_at" in lines
    assert "# date_partition: keys year, month and day; hour_partition: key hour" in lines
    bare = adoption_lines(decide(_glue_description(shape, parameters={}), _settings(shape)))
    assert "# note: the table does not skip each file's header line" in " ".join(bare)


def _glue_description(shape: Shape, **changes: Any) -> dict[str, Any]:
    """GetTable's `Table` for the shape (without a Glue), with `columns`, `keys` or `parameters` changed."""
    columns, keys = changes.get("columns", shape.columns), changes.get("keys", shape.keys)
    return {
        "Name": shape.name,
        "Parameters": changes.get("parameters", shape.parameters),
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in keys],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "Location": changes.get("location", shape.location),
            "SerdeInfo": changes.get("serde", shape.serde),
        },
    }


# --- refusals: one clear line each ----------------------------------------------------------------------

TEXT = BY_NAME["vpc_flow_logs"]
HIVE = BY_NAME["vpc_flow_logs_parquet"]
DT = BY_NAME["vpc_flow_logs_myawsaccount"]
REFUSALS = [
    (
        HIVE,
        {"keys": [*HIVE.keys, ("vpc", "string")]},
        {},
        "table logs.vpc_flow_logs_parquet: partition keys aws-account-id (string), aws-service (string), "
        "aws-region (string), year (string), month (string), day (string), hour (string), vpc (string): "
        "Flowbot does not know vpc; it reads an account key",
    ),
    (
        HIVE,
        {
            "keys": [
                ("aws-account-id", "string"),
                ("aws-region", "string"),
                ("year", "int"),
                ("month", "int"),
                ("day", "int"),
            ]
        },
        {},
        "partition key year is int; Flowbot reads year keys as strings, as AWS's DDLs declare them",
    ),
    (
        TEXT,
        {"columns": [*TEXT.columns[:2], ("vpc_name", "string"), *TEXT.columns[2:]]},
        {},
        "column vpc_name (position 3) is not a flow-log field by AWS's names",
    ),
    (
        TEXT,
        {"columns": [("start", "timestamp"), *TEXT.columns[1:]]},
        {},
        "column start is timestamp; Flowbot reads a flow-log field from tinyint, smallint, int, bigint, "
        "string",
    ),
    (
        TEXT,
        {"serde": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}},
        {},
        "its SerDe is org.openx.data.jsonserde.JsonSerDe; Flowbot adopts flow-log tables of text",
    ),
    (
        TEXT,
        {"serde": {**TEXT_SERDE, "Parameters": {"field.delim": ","}}},
        {},
        "its fields are split by ','; flow-log text is split by spaces",
    ),
    (
        TEXT,
        {"keys": []},
        {},
        "partition keys none hold no whole day; Flowbot bounds every query by its days",
    ),
    (
        TEXT,
        {"keys": [("date", "date"), ("dt", "date")]},
        {},
        "partition keys date and dt both hold the date",
    ),
    (
        DT,
        {},
        {},
        "cannot tell how partition key dt writes a day (it is not projected and has no partition yet); "
        "Flowbot reads 'yyyy/MM/dd' and 'yyyy-MM-dd' text, or a date",
    ),
    (
        BY_NAME["test_table_vpclogs"],
        {"parameters": {**BY_NAME["test_table_vpclogs"].parameters, "projection.day.format": "yyyyMMdd"}},
        {},
        "cannot tell how partition key day writes a day (its projection's format is yyyyMMdd)",
    ),
    (
        BY_NAME["test_table_vpclogs"],
        {"parameters": {**BY_NAME["test_table_vpclogs"].parameters, "projection.region.type": "injected"}},
        {},
        "partition key region is projected as `injected`, which needs an equality on it in every query",
    ),
    (
        TEXT,
        {"location": "s3://amzn-s3-demo-bucket/flow-logs/"},
        {"accounts": f"{ACCOUNT},111122223333"},
        "table logs.vpc_flow_logs has no account key, so it holds one account's logs: set FLOWBOT_ACCOUNTS "
        "to that one account (it lists 2)",
    ),
]


@pytest.mark.parametrize(("shape", "changes", "more", "line"), REFUSALS, ids=lambda v: str(v)[:40])
def test_a_table_flowbot_cannot_read_is_refused_in_one_line(
    shape: Shape, changes: dict[str, Any], more: dict[str, Any], line: str
) -> None:
    with pytest.raises(AdoptError) as refused:
        decide(_glue_description(shape, **changes), _settings(shape, **more))
    message = str(refused.value)
    assert line in message and "\n" not in message
    assert message.startswith(f"table logs.{shape.name}")


def test_a_missing_table_names_the_settings(glue: Any) -> None:
    with pytest.raises(AdoptError, match=r"^table logs.nothing_here does not exist: point "):
        adopt(glue, Settings(**BASE, athena_table="nothing_here"))  # type: ignore[arg-type]


def test_a_day_key_whose_partitions_write_another_form_is_refused(glue: Any) -> None:
    odd = Shape(
        DT.name, DT.serde, DT.columns, DT.keys, DT.location, DT.settings, DT.parameters, [["20261118"]]
    )
    _glue_table(glue, odd)
    with pytest.raises(AdoptError, match=r"its partitions hold values like '20261118'"):
        adopt(glue, _settings(odd))


# --- the settings are checked where they are read ---------------------------------------------------------


def test_the_adopted_settings_are_checked_as_they_load() -> None:
    shape = BY_NAME["vpc_flow_logs_parquet"]
    values = {name.removeprefix("FLOWBOT_").lower(): value for name, value in shape.settings.items()}

    def load(**changes: str) -> Settings:
        return Settings(**BASE, athena_table=shape.name, athena_adopt_table=True, **(values | changes))  # type: ignore[arg-type]

    assert load().athena_adopted_partitions[0] == "aws-account-id:account"
    refused = {
        "athena_adopted_columns": "srcaddr:sourceaddress,dstaddr:sourceaddress",
        "athena_adopted_partitions": 'aws-account-id:account,"x":region,year:year,month:month,day:day',
        "log_format": V2_FORMAT,
        "layout": "parquet-hive-daily",
    }
    messages = {
        "athena_adopted_columns": "a logical column appears twice: sourceaddress",
        "athena_adopted_partitions": "is not `key:role`",
        "log_format": "FLOWBOT_LOG_FORMAT has",
        "layout": "the table has an hour key: FLOWBOT_LAYOUT=parquet-hive-daily says otherwise",
    }
    for name, value in refused.items():
        with pytest.raises(ValidationError, match=messages[name]):
            load(**{name: value})
    with pytest.raises(ValidationError, match="the day must be held once"):
        load(
            athena_adopted_partitions="aws-account-id:account,year:year,date:date",
            layout="parquet-hive-daily",
        )
    with pytest.raises(ValidationError, match="set FLOWBOT_ACCOUNTS to that one account"):
        load(athena_adopted_partitions="aws-region:region,date:date", layout="parquet-daily", accounts="")
    with pytest.raises(ValidationError, match="not flow-log columns: sourceaddr"):
        load(athena_adopted_columns="srcaddr:sourceaddr")


def test_an_adopted_table_is_never_flowbots_to_make() -> None:
    from bot.aws.ddl import statements

    settings = adopted(BY_NAME["vpc_flow_logs_parquet"])
    assert not settings.flow_table_managed
    assert [s.creates for s in statements(settings)] == ["database flow_db"]


# --- the SQL Athena receives, for every template and every shape --------------------------------------------

CATALOG = load_catalog()
FLOW_TEMPLATES = [t for t in CATALOG if t.table == LOGICAL_TABLE]
WINDOW = Window(start=datetime(2026, 11, 18, 6, tzinfo=UTC), end=datetime(2026, 11, 19, 6, tzinfo=UTC))


def request(template: QueryTemplate, window: Window = WINDOW, **scope: Any) -> FlowRequest:
    return FlowRequest(
        query=template.name,
        params={p.name: "10.0.0.5" for p in template.params},
        window=window,
        limit=500,
        text=template.name,
        **scope,
    )


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
@pytest.mark.parametrize("template", FLOW_TEMPLATES, ids=lambda t: t.name)
def test_every_template_reads_the_adopted_table_through_a_pruning_subquery(
    template: QueryTemplate, shape: Shape
) -> None:
    settings = adopted(shape)
    bindings = request(template, account=ACCOUNT, region=REGION).bindings()
    sql, parameters = to_athena(template.sql, settings, bindings)
    tree = sqlglot.parse_one(sql, read="trino")  # parses in Athena's dialect
    placeholders = list(tree.find_all(exp.Placeholder))
    assert len(placeholders) == len(parameters) > 0
    assert str(bindings["first_day"]) not in sql  # values travel as parameters only
    reads = [t for t in tree.find_all(exp.Table) if t.db == "logs"]
    assert [t.name for t in reads] == [shape.name]
    scan = reads[0].find_ancestor(exp.Select)
    assert scan is not None and isinstance(scan.parent, exp.Subquery)
    keys = {name for name, _ in shape.keys}
    assert {c.name for c in scan.find_all(exp.Column)} <= set(shape.logical) | keys
    where = scan.args["where"]
    assert {c.name for c in where.find_all(exp.Column)} <= keys  # pruned on the table's own keys
    day_keys = [k for k in keys if k in ("date", "day", "dt", "date_partition", "year")]
    assert any(f'"{key}" BETWEEN' in where.sql("trino") for key in day_keys)  # a one-column range


def test_the_day_bounds_are_written_in_each_keys_own_form() -> None:
    count = CATALOG["count"]
    bindings = request(count).bindings()
    forms = {
        "vpc_flow_logs": (
            "\"date\" BETWEEN CAST(REPLACE(?, '/', '-') AS DATE) AND CAST(REPLACE(?, '/', '-') AS DATE)"
        ),
        "vpc_flow_logs_myawsaccount": "\"dt\" BETWEEN REPLACE(?, '/', '-') AND REPLACE(?, '/', '-')",
        "test_table_vpclogs": '"day" BETWEEN ? AND ?',
        "vpc_flow_logs_parquet": (
            '"year" BETWEEN ? AND ? AND "month" BETWEEN ? AND ? AND "day" BETWEEN ? AND ?'
        ),
    }
    for name, form in forms.items():
        sql, parameters = to_athena(count.sql, adopted(BY_NAME[name]), bindings)
        assert form in " ".join(sql.split()), name
        assert parameters[:2] in (["'2026/11/18'", "'2026/11/20'"], ["'2026'", "'2026'"])  # 1-day margin


# --- running the Athena SQL: each adopted shape answers what the playbook's table answers -------------------

TRAFFIC = [
    ("10.0.0.5", "198.51.100.7", 443, 6, "ACCEPT", 5_000),
    ("198.51.100.7", "10.0.0.5", 51000, 6, "ACCEPT", 90_000),
    ("10.0.0.5", "203.0.113.9", 22, 6, "REJECT", 120),
    ("203.0.113.9", "10.0.0.5", 3389, 6, "REJECT", 60),
    ("10.0.0.6", "10.0.0.5", 53, 17, "ACCEPT", 300),
    ("2001:db8::1", "10.0.0.5", 443, 6, "ACCEPT", 700),
    ("10.0.0.5", "192.0.2.44", 8443, 6, "ACCEPT", 12_345),
]
_BASE = int(datetime(2026, 11, 18, 6, tzinfo=UTC).timestamp())


def _record(i: int, src: str, dst: str, dport: int, proto: int, action: str, size: int) -> dict[str, Any]:
    """Record `i` (logical column → value), starting 3 hours after the one before: over two days."""
    start = _BASE + i * 3 * 3600 + 17 * 60
    return {
        "version": 5, "account": ACCOUNT, "interfaceid": f"eni-{i:04x}", "sourceaddress": src,
        "destinationaddress": dst, "sourceport": 40000 + i, "destinationport": dport, "protocol": proto,
        "numpackets": 3 + i, "numbytes": size, "starttime": start, "endtime": start + 50, "action": action,
        "logstatus": "OK", "vpcid": "vpc-1", "type": "IPv4", "tcpflags": 2 + i, "subnetid": f"subnet-{i % 2}",
        "sublocationtype": "-", "sublocationid": "-", "region": REGION, "pktsrcaddr": src,
        "pktdstaddr": dst, "instanceid": f"i-{i % 3}", "azid": "euw3-az1", "pktsrcawsservice": "-",
        "pktdstawsservice": "-", "flowdirection": "ingress", "trafficpath": 1,
    }  # fmt: skip


RECORDS = [_record(i, *flow) for i, flow in enumerate(TRAFFIC)]
IOC_ROWS = [("203.0.113.9", "scanner"), ("198.51.100.0/24", "c2 range")]
DUCK = {"int": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT", "string": "VARCHAR", "date": "DATE"}


def _key_value(key: str, role: str, start: int) -> object:
    """A record's value of a partition key: its start hour's folder, as the key writes it."""
    when = datetime.fromtimestamp(start, UTC)
    return {
        "account": ACCOUNT,
        "region": REGION,
        "service": "vpcflowlogs",
        "year": f"{when:%Y}",
        "month": f"{when:%m}",
        "day": f"{when:%d}",
        "hour": f"{when:%H}",
        "date": when.date(),
        "date-slashes": f"{when:%Y/%m/%d}",
        "date-dashes": f"{when:%Y-%m-%d}",
    }[role]


def _roles(shape: Shape) -> dict[str, str]:
    """The shape's keys' roles, as its settings (written out above) give them."""
    entries = shape.settings["FLOWBOT_ATHENA_ADOPTED_PARTITIONS"].split(",")
    return dict(entry.split(":") for entry in entries)


def _database(
    db: str, table: str, columns: dict[str, str], rows: list[dict[str, object]]
) -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """DuckDB holding `db.table` (the rows) and the IOC table, and their schema."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    install_macros(con)
    for schema in {db, "flow_db"}:
        con.execute(f"CREATE SCHEMA {schema}")
    ddl = ", ".join(f'"{n}" {DUCK[t]}' for n, t in columns.items())
    con.execute(f"CREATE TABLE {db}.{table} ({ddl})")
    holes = ", ".join("?" for _ in columns)
    con.executemany(f"INSERT INTO {db}.{table} VALUES ({holes})", [[r[n] for n in columns] for r in rows])
    con.execute("CREATE TABLE flow_db.iocs_v1 (threat_ip VARCHAR, threat_comment VARCHAR)")
    con.executemany("INSERT INTO flow_db.iocs_v1 VALUES (?, ?)", IOC_ROWS)
    schema: dict[str, Any] = {"flow_db": {"iocs_v1": {"threat_ip": "varchar", "threat_comment": "varchar"}}}
    schema.setdefault(db, {})[table] = {n: DUCK[t].lower() for n, t in columns.items()}
    return con, schema


@cache
def _adopted_database(name: str) -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """The shape's table in DuckDB, holding RECORDS (each in its start hour's partition)."""
    shape = BY_NAME[name]
    roles, logical = _roles(shape), shape.logical
    columns = dict(shape.columns) | {
        key: ("date" if role == "date" else "string") for key, role in roles.items()
    }
    rows = [
        {column: r[logical[column]] for column, _ in shape.columns}
        | {key: _key_value(key, role, r["starttime"]) for key, role in roles.items()}
        for r in RECORDS
    ]
    return _database("logs", name, columns, rows)


@cache
def _playbook_database(log_format: str) -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """The playbook's own table (Flowbot's text-daily table, bot/aws/ddl.py) of the same fields, holding
    RECORDS in their start days' partitions."""
    hive = {"integer": "int", "bigint": "bigint", "smallint": "smallint", "varchar": "string"}
    columns = {n: hive[t] for n, t in physical_columns(Settings(log_format=log_format))}
    columns |= dict.fromkeys(("date_partition", "region_partition", "account_partition"), "string")
    partitions = {"region_partition": REGION, "account_partition": ACCOUNT}
    rows = [
        r | partitions | {"date_partition": _key_value("", "date-slashes", r["starttime"])} for r in RECORDS
    ]
    return _database("flow_db", "flow_v2", columns, rows)


def _answer(settings: Settings, database: tuple[duckdb.DuckDBPyConnection, dict[str, Any]],
            template: QueryTemplate, bindings: dict[str, object]) -> list[tuple[Any, ...]]:  # fmt: skip
    sql, parameters = to_athena(template.sql, settings, bindings)
    con, schema = database
    return con.execute(to_duckdb(filled_in(sql, parameters), schema)).fetchall()


def _readable(shape: Shape) -> list[QueryTemplate]:
    """The templates whose fields the shape holds (the parser refuses the others by name)."""
    fields = set(shape.logical.values())
    return [t for t in FLOW_TEMPLATES if t.fields_used <= fields]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_each_adopted_shape_answers_what_the_playbooks_table_answers(shape: Shape) -> None:
    settings = adopted(shape)
    playbook = Settings(
        log_format=settings.log_format,
        athena_database="flow_db",
        athena_table="flow_v2",
        athena_ioc_table="iocs_v1",
    )
    readable = _readable(shape)
    assert {"count", "hunt", "ratio", "top_src", "sample", "timeline"} <= {t.name for t in readable}
    for template in readable:
        for scope in ({}, {"account": ACCOUNT, "region": REGION}, {"region": "us-east-1"}):
            bindings = request(template, **scope).bindings()
            wanted = _answer(playbook, _playbook_database(settings.log_format), template, bindings)
            assert _answer(settings, _adopted_database(shape.name), template, bindings) == wanted, (
                template.name
            )
            if template.name in ("count", "hunt", "sample") and not scope.get("region") == "us-east-1":
                assert wanted and wanted != [(0,)]  # the records do reach these answers


def test_the_adopted_predicate_prunes_partitions_outside_the_window() -> None:
    """A record whose partition lies outside the window is not read, whatever its start says."""
    count = CATALOG["count"]
    narrow = Window(start=datetime(2026, 11, 18, 9, tzinfo=UTC), end=datetime(2026, 11, 18, 10, tzinfo=UTC))
    bindings = request(count, narrow).bindings()
    for name in (
        "vpc_flow_logs",
        "vpc_flow_logs_parquet",
        "test_table_vpclogs_parquet",
        "vpc_flow_logs_myawsaccount",
    ):
        shape = BY_NAME[name]
        roles = _roles(shape)
        columns = dict(shape.columns) | {k: ("date" if r == "date" else "string") for k, r in roles.items()}
        later = [r["starttime"] + 400 * 86400 for r in RECORDS]
        for moved in (False, True):
            rows = [
                {column: r[shape.logical[column]] for column, _ in shape.columns}
                | {k: _key_value(k, role, t if moved else r["starttime"]) for k, role in roles.items()}
                for r, t in zip(RECORDS, later, strict=True)
            ]
            database = _database("logs", name, columns, rows)
            assert _answer(adopted(shape), database, count, bindings) == [(0,) if moved else (1,)], name
            database[0].close()


def test_an_injected_account_key_is_named_in_every_query() -> None:
    """AWS's projection example with `projection.accid.type` `injected` (Athena User Guide, "Use dynamic ID
    partitioning"): adopt says FLOWBOT_ACCOUNT_PROJECTION=injected, and each query names its accounts."""
    base = BY_NAME["test_table_vpclogs"]
    parameters = {k: v for k, v in base.parameters.items() if not k.startswith("projection.accid")}
    found = decide(
        _glue_description(base, parameters={**parameters, "projection.accid.type": "injected"}),
        _settings(base),
    )
    assert ("FLOWBOT_ACCOUNT_PROJECTION", "injected") in found.settings()
    settings = adopted(base).model_copy(update={"account_projection": "injected", "accounts": (ACCOUNT,)})
    count = CATALOG["count"]
    sql, parameters_ = to_athena(count.sql, settings, request(count).bindings())
    assert '"accid" IN (?)' in " ".join(sql.split()) and f"'{ACCOUNT}'" in parameters_
    wanted = _answer(adopted(base), _adopted_database(base.name), count, request(count).bindings())
    assert _answer(settings, _adopted_database(base.name), count, request(count).bindings()) == wanted


# --- setup, adopt and check on Glue: Flowbot reads the table, never changes it ----------------------------

AWS_REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    fake_aws_environment(monkeypatch, tmp_path, AWS_REGION, prefixes=("FLOWBOT_", "AWS_"))
    for key, value in {
        "FLOWBOT_ENGINE": "athena",
        "FLOWBOT_ATHENA_REGION": AWS_REGION,
        "FLOWBOT_ATHENA_DATABASE": "flow_db",
        "FLOWBOT_ATHENA_FLOW_DATABASE": "logs",
        "FLOWBOT_ATHENA_TABLE": "vpc_flow_logs_parquet",
        "FLOWBOT_ATHENA_OUTPUT_LOCATION": "s3://athena-results/flowbot/",
        "FLOWBOT_ATHENA_WORKGROUP": "flowbot",
        "FLOWBOT_ATHENA_ADOPT_TABLE": "true",
        "FLOWBOT_IOC_STORE": "s3://analysis/iocs",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        boto3.client("s3", region_name=AWS_REGION).create_bucket(
            Bucket="athena-results", CreateBucketConfiguration={"LocationConstraint": AWS_REGION}
        )
        _glue_table(boto3.client("glue", region_name=AWS_REGION), HIVE)
        yield monkeypatch


def _table() -> Any:
    glue = boto3.client("glue", region_name=AWS_REGION)
    return glue.get_table(DatabaseName="logs", Name="vpc_flow_logs_parquet")["Table"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


def test_adopt_prints_and_setup_waits_then_matches_and_check_reports_a_changed_table(
    aws: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _table()
    code, lines, _ = _run(capsys, "athena", "adopt")
    assert (
        code == 0
        and "FLOWBOT_ATHENA_ADOPTED_PARTITIONS=" + HIVE.settings["FLOWBOT_ATHENA_ADOPTED_PARTITIONS"] in lines
    )

    code, lines, _ = _run(capsys, "athena", "setup")
    assert code == 1  # not read yet: the settings to set are printed
    assert lines[:3] == [
        "created workgroup flowbot",
        "created database flow_db",
        "table logs.vpc_flow_logs_parquet (adopted): Flowbot reads it with these settings (set them, then "
        "run setup again):",
    ]
    assert f"FLOWBOT_ATHENA_ADOPTED_COLUMNS={AWS_ENTRIES}" in lines
    assert lines[-2:] == [
        "created table flow_db.incident_iocs",
        "the IOC view reads the adopted table: it waits for the settings above",
    ]
    problem = catalog_problem(Settings())
    assert (
        problem is not None
        and "FLOWBOT_ATHENA_ADOPTED_COLUMNS and FLOWBOT_ATHENA_ADOPTED_PARTITIONS are not set" in problem
    )

    for name, value in HIVE.settings.items():
        aws.setenv(name, value)
    code, lines, _ = _run(capsys, "athena", "setup")
    assert (code, lines) == (
        0,
        [
            "workgroup flowbot matches the settings",
            "table logs.vpc_flow_logs_parquet (adopted) matches FLOWBOT_ATHENA_ADOPTED_COLUMNS and "
            "_PARTITIONS",
            "table flow_db.incident_iocs matches the settings",
            "created or replaced view flow_db.incident_vpc_flow_directional",
        ],
    )
    assert catalog_problem(Settings()) is None
    after = _table()
    assert {k: after[k] for k in ("StorageDescriptor", "PartitionKeys", "Parameters")} == {
        k: before[k] for k in ("StorageDescriptor", "PartitionKeys", "Parameters")
    }  # read, never changed

    changed = {k: before[k] for k in ("Name", "TableType", "Parameters")}
    storage = dict(before["StorageDescriptor"])
    storage["Columns"] = [c for c in storage["Columns"] if c["Name"] != "srcaddr"]
    storage["Columns"] = [
        {"Name": c["Name"], "Type": "int" if c["Name"] == "protocol" else c["Type"]}
        for c in storage["Columns"]
    ]
    keys = [k for k in before["PartitionKeys"] if k["Name"] != "hour"]
    boto3.client("glue", region_name=AWS_REGION).update_table(
        DatabaseName="logs", TableInput={**changed, "StorageDescriptor": storage, "PartitionKeys": keys}
    )
    problem = catalog_problem(Settings())
    assert problem == (
        "table logs.vpc_flow_logs_parquet (adopted) does not match the settings (column srcaddr "
        "(sourceaddress) is gone; column protocol: int in the table, bigint in "
        "FLOWBOT_ATHENA_ADOPTED_COLUMNS; partition keys: the table has aws-account-id:account,"
        "aws-service:service,aws-region:region,year:year,month:month,day:day; "
        "FLOWBOT_ATHENA_ADOPTED_PARTITIONS has aws-account-id:account,aws-service:service,aws-region:region,"
        "year:year,month:month,day:day,hour:hour); run `flowbot athena adopt` and set what it prints"
    )
    code, lines, _ = _run(capsys, "athena", "setup", "--apply")
    assert code == 1 and lines[1] == "table logs.vpc_flow_logs_parquet (adopted) does not match the settings:"
    assert "  column srcaddr (sourceaddress) is gone" in lines
    assert not any("--apply" in line for line in lines)  # nothing of Flowbot's own to update
    assert len(_table()["StorageDescriptor"]["Columns"]) == len(AWS_COLUMNS) - 1  # --apply left it alone


def test_adopt_refuses_in_one_line_on_stderr(
    aws: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.setenv("FLOWBOT_ATHENA_TABLE", "not_there")
    code, lines, err = _run(capsys, "athena", "adopt")
    assert (code, lines) == (1, [])
    assert err == (
        "flowbot: table logs.not_there does not exist: point FLOWBOT_ATHENA_FLOW_DATABASE and "
        "FLOWBOT_ATHENA_TABLE at the flow-log table to adopt\n"
    )


def test_the_dates_of_a_date_key_are_dates() -> None:
    """DuckDB reads the `date` key as a DATE, as Athena does: the comparison is of dates, not text."""
    con, _ = _adopted_database("vpc_flow_logs")
    assert con.execute('SELECT min("date") FROM logs.vpc_flow_logs').fetchone() == (date(2026, 11, 18),)
