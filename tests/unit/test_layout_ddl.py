"""The flow-log table of every layout: the printed DDL, the Glue table `flowbot athena setup` keeps (on moto),
the IOC view over the logical relation, and the folders the cost estimate lists.

What each layout should be is written out here from AWS's documentation:
- Parquet: AWS's reference DDL (Amazon Athena User Guide, "Create tables for flow logs in Apache Parquet
  format", https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-parquet.html): ParquetHiveSerDe,
  MapredParquetInputFormat / MapredParquetOutputFormat, the Parquet column names and types, no header line;
- hourly partitions: an integer projection 0-23 written with 2 digits, as AWS's hourly example does ("Create
  tables for flow logs in Apache Parquet format using partition projection",
  https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-partition-projection-parquet-example.html);
- the S3 prefixes of each option (Amazon VPC User Guide, "Flow log files",
  https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pytest
import sqlglot
from moto import mock_aws
from sqlglot import exp

from bot.aws.ddl import flow_table, ioc_view, statements
from bot.aws.format_check import check_formats, report_formats
from bot.aws.glue import converge, differences, drift, wanted_tables
from bot.flowlog_layouts import FLOW_LOG_LAYOUTS
from bot.query.engines.estimate import partition_prefixes
from bot.request import FlowRequest, Window
from bot.settings import Settings
from tests.conftest import fake_aws_environment

REGION = "eu-west-1"
V3 = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
    "${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${tcp-flags} ${instance-id}"
)
PARQUET_COLUMNS = (
    ("version", "int"), ("account_id", "string"), ("interface_id", "string"), ("srcaddr", "string"),
    ("dstaddr", "string"), ("srcport", "int"), ("dstport", "int"), ("protocol", "bigint"),
    ("packets", "bigint"), ("bytes", "bigint"), ("start", "bigint"), ("end", "bigint"), ("action", "string"),
    ("log_status", "string"), ("vpc_id", "string"), ("tcp_flags", "int"), ("instance_id", "string"),
)  # fmt: skip
"""V3's fields as AWS's reference Parquet DDL declares them, in the format's order."""
TEXT_COLUMNS = (
    ("version", "int"), ("account", "string"), ("interfaceid", "string"), ("sourceaddress", "string"),
    ("destinationaddress", "string"), ("sourceport", "int"), ("destinationport", "int"), ("protocol", "int"),
    ("numpackets", "bigint"), ("numbytes", "bigint"), ("starttime", "bigint"), ("endtime", "bigint"),
    ("action", "string"), ("logstatus", "string"), ("vpcid", "string"), ("tcpflags", "smallint"),
    ("instanceid", "string"),
)  # fmt: skip
"""V3's fields as the playbook's text table declares them (packets, start and end widened to bigint)."""
ENUMS = {
    "projection.region_partition.type": "enum",
    "projection.region_partition.values": "us-east-1,eu-west-1",
    "projection.account_partition.type": "enum",
    "projection.account_partition.values": "012345678901,111122223333",
}
DAILY_DATE = {
    "projection.date_partition.type": "date",
    "projection.date_partition.range": "2025/11/30,NOW",
    "projection.date_partition.format": "yyyy/MM/dd",
    "projection.date_partition.interval": "1",
    "projection.date_partition.interval.unit": "DAYS",
}
HOUR = {
    "projection.hour_partition.type": "integer",
    "projection.hour_partition.range": "0,23",
    "projection.hour_partition.digits": "2",
}
HIVE_DATE = {
    "projection.year_partition.type": "integer",
    "projection.year_partition.range": "2025,2099",
    "projection.year_partition.digits": "4",
    "projection.month_partition.type": "integer",
    "projection.month_partition.range": "1,12",
    "projection.month_partition.digits": "2",
    "projection.day_partition.type": "integer",
    "projection.day_partition.range": "1,31",
    "projection.day_partition.digits": "2",
}
ROOT = "s3://central-logs/prod/vpc/AWSLogs/"
PLAIN = ROOT + "${account_partition}/vpcflowlogs/${region_partition}/${date_partition}"
HIVE = (
    ROOT + "aws-account-id=${account_partition}/aws-service=vpcflowlogs/aws-region=${region_partition}/"
    "year=${year_partition}/month=${month_partition}/day=${day_partition}"
)
EXPECTED: dict[str, tuple[tuple[str, ...], dict[str, str], str]] = {
    "daily": (("date_partition", "region_partition", "account_partition"), DAILY_DATE, PLAIN),
    "hourly": (
        ("date_partition", "hour_partition", "region_partition", "account_partition"),
        DAILY_DATE | HOUR,
        PLAIN + "/${hour_partition}",
    ),
    "hive-daily": (
        ("account_partition", "region_partition", "year_partition", "month_partition", "day_partition"),
        HIVE_DATE,
        HIVE,
    ),
    "hive-hourly": (
        ("account_partition", "region_partition", "year_partition", "month_partition", "day_partition",
         "hour_partition"),
        HIVE_DATE | HOUR,
        HIVE + "/hour=${hour_partition}",
    ),
}  # fmt: skip
"""Per prefix style and grain: the partition keys (in the DDL's order), their projection, the location
template."""
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


def settings(layout: str, **extra: object) -> Settings:
    base: dict[str, object] = {
        "layout": layout,
        "log_format": V3,
        "flow_logs_bucket": "central-logs",
        "flow_logs_prefix": "prod/vpc",
        "accounts": ("012345678901", "111122223333"),
        "regions": ("us-east-1", "eu-west-1"),
        "first_day": "2025-11-30",
        "athena_database": "ir",
        "ioc_store": "s3://bucket-analysis/iocs",
    }
    return Settings(**(base | extra))  # type: ignore[arg-type]


def _kind(layout: str) -> str:
    return layout.split("-", 1)[1]


def _properties(tree: exp.Expression) -> dict[str, str]:
    return {p.name: p.text("value") for p in tree.find_all(exp.Property) if type(p) is exp.Property}


# --- the printed DDL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", FLOW_LOG_LAYOUTS)
def test_the_ddl_parses_and_declares_the_layouts_storage_columns_partitions_and_projection(
    layout: str,
) -> None:
    sql = flow_table(settings(layout)).sql
    tree = sqlglot.parse_one(sql, read="athena")
    assert isinstance(tree, exp.Create)
    keys, projection, template = EXPECTED[_kind(layout)]
    schema = tree.this
    assert [(c.name, c.args["kind"].sql("hive").lower()) for c in schema.expressions] == [
        (name, kind) for name, kind in (PARQUET_COLUMNS if layout.startswith("parquet") else TEXT_COLUMNS)
    ]
    partitioned = tree.find(exp.PartitionedByProperty)
    assert partitioned is not None
    assert [(c.name, c.args["kind"].sql("hive").lower()) for c in partitioned.this.expressions] == [
        (k, "string") for k in keys
    ]
    header = {"skip.header.line.count": "1"} if layout.startswith("text") else {}
    assert _properties(tree) == header | {"projection.enabled": "true"} | projection | ENUMS | {
        "storage.location.template": template
    }
    assert tree.find(exp.LocationProperty).this.name == ROOT  # type: ignore[union-attr]
    if layout.startswith("parquet"):
        serde = tree.find(exp.RowFormatSerdeProperty)
        formats = tree.find(exp.InputOutputFormat)
        assert serde is not None and serde.this.name == PARQUET_SERDE
        assert formats is not None
        assert (formats.args["input_format"].name, formats.args["output_format"].name) == (
            PARQUET_INPUT,
            PARQUET_OUTPUT,
        )
        assert "skip.header" not in sql and "DELIMITED" not in sql
    else:
        assert "ROW FORMAT DELIMITED\nFIELDS TERMINATED BY ' '\n" in sql


def test_the_default_layouts_ddl_is_the_playbooks_as_before() -> None:
    """No FLOWBOT_LAYOUT: the same statement as before layouts existed, byte for byte."""
    plain = Settings(
        flow_logs_bucket="central-logs", accounts="012345678901", regions="eu-west-1", first_day="2025-11-30",
        athena_database="ir", log_format="${version} ${account-id} ${srcaddr} ${start}",
    )  # fmt: skip
    assert flow_table(plain).sql == (
        "CREATE EXTERNAL TABLE IF NOT EXISTS `ir`.`vpcflow` (\n"
        "  `version` int,\n  `account` string,\n  `sourceaddress` string,\n  `starttime` bigint\n)\n"
        "PARTITIONED BY (\n  `date_partition` string,\n  `region_partition` string,\n"
        "  `account_partition` string\n)\n"
        "ROW FORMAT DELIMITED\nFIELDS TERMINATED BY ' '\n"
        "LOCATION 's3://central-logs/AWSLogs/'\nTBLPROPERTIES (\n"
        "  'skip.header.line.count' = '1',\n"
        "  'projection.enabled' = 'true',\n"
        "  'projection.date_partition.type' = 'date',\n"
        "  'projection.date_partition.range' = '2025/11/30,NOW',\n"
        "  'projection.date_partition.format' = 'yyyy/MM/dd',\n"
        "  'projection.date_partition.interval' = '1',\n"
        "  'projection.date_partition.interval.unit' = 'DAYS',\n"
        "  'projection.region_partition.type' = 'enum',\n"
        "  'projection.region_partition.values' = 'eu-west-1',\n"
        "  'projection.account_partition.type' = 'enum',\n"
        "  'projection.account_partition.values' = '012345678901',\n"
        "  'storage.location.template' = 's3://central-logs/AWSLogs/${account_partition}/vpcflowlogs/"
        "${region_partition}/${date_partition}'\n)"
    )


@pytest.mark.parametrize("layout", FLOW_LOG_LAYOUTS)
def test_the_ioc_view_parses_and_reads_the_logical_relation_without_a_window(layout: str) -> None:
    made = statements(settings(layout))
    assert [s.creates for s in made][-1] == "view ir.incident_vpc_flow_directional"
    view = ioc_view(settings(layout)).sql
    tree = sqlglot.parse_one(view, read="athena")
    assert isinstance(tree, exp.Create)
    assert not list(tree.find_all(exp.Placeholder))  # a view binds no values
    flows = [t for t in tree.find_all(exp.Table) if t.name == "vpcflow"]
    assert len(flows) == 2 and all(t.db == "ir" for t in flows)  # one per direction
    hourly = layout.endswith("hourly")
    for select in (s for s in tree.find_all(exp.Select) if "direction" in s.named_selects):
        partitions = {"date_partition", "region_partition", "account_partition"}
        assert partitions | ({"hour_partition"} if hourly else set()) <= set(select.named_selects)
        assert ("hour_partition" in select.named_selects) == hourly
    if layout == "text-daily":
        assert 'FROM "ir"."vpcflow" AS vpc' in view
    else:
        scans = [t.find_ancestor(exp.Select) for t in flows]
        for scan in scans:
            assert scan is not None and scan.args.get("where") is None
            assert {"sourceaddress", "date_partition", "starttime"} <= set(scan.named_selects)
        if layout.startswith("parquet"):
            assert '"srcaddr" AS sourceaddress' in view


# --- Glue (moto): setup creates each layout's table, then finds it in place; a layout change is drift ----


@pytest.fixture
def glue(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    fake_aws_environment(monkeypatch, tmp_path, REGION, prefixes=("FLOWBOT_", "AWS_"))
    with mock_aws():
        yield boto3.client("glue", region_name=REGION)


@pytest.mark.parametrize("layout", FLOW_LOG_LAYOUTS)
def test_glue_setup_makes_the_layouts_table_and_then_finds_it_matching(glue: object, layout: str) -> None:
    wanted = settings(layout)
    report = converge(glue, wanted, apply=False)
    assert report.lines[:2] == ["created database ir", "created table ir.vpcflow"]
    table = glue.get_table(DatabaseName="ir", Name="vpcflow")["Table"]  # type: ignore[attr-defined]
    storage = table["StorageDescriptor"]
    keys, projection, template = EXPECTED[_kind(layout)]
    parquet = layout.startswith("parquet")
    assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == list(
        PARQUET_COLUMNS if parquet else TEXT_COLUMNS
    )
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [(k, "string") for k in keys]
    assert storage["Location"] == ROOT
    if parquet:
        assert storage["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
        assert (storage["InputFormat"], storage["OutputFormat"]) == (PARQUET_INPUT, PARQUET_OUTPUT)
        assert "skip.header.line.count" not in table["Parameters"]
    else:
        assert storage["SerdeInfo"]["Parameters"]["field.delim"] == " "
        assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
        assert table["Parameters"]["skip.header.line.count"] == "1"
    assert {k: table["Parameters"][k] for k in projection} == projection
    assert table["Parameters"]["storage.location.template"] == template

    again = converge(glue, wanted, apply=False)
    assert again.drifted == 0 and "table ir.vpcflow matches the settings" in again.lines
    assert drift(glue, wanted) == []


@pytest.mark.parametrize(
    ("made", "now", "says"),
    [
        ("text-daily", "parquet-daily", "SerDe: org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe; wanted "),
        ("text-daily", "text-hourly", "partition keys: date_partition string, region_partition string, "),
        ("parquet-daily", "parquet-hive-daily", "storage.location.template: "),
        ("parquet-hive-daily", "parquet-hive-hourly", "projection.hour_partition.type: 'not set'; wanted"),
        ("parquet-hive-hourly", "text-hive-hourly", "storage format: " + PARQUET_INPUT),
    ],
)
def test_a_layout_change_is_reported_as_drift_and_apply_converges(
    glue: object, made: str, now: str, says: str
) -> None:
    converge(glue, settings(made), apply=False)
    report = converge(glue, settings(now), apply=False)
    assert report.drifted == 1
    assert any(line.strip().startswith(says) for line in report.lines), report.lines
    problems = drift(glue, settings(now))
    assert len(problems) == 1 and problems[0].startswith("table ir.vpcflow differs from the settings")
    applied = converge(glue, settings(now), apply=True)
    assert "updated table ir.vpcflow:" in applied.lines
    assert drift(glue, settings(now)) == []
    table = glue.get_table(DatabaseName="ir", Name="vpcflow")["Table"]  # type: ignore[attr-defined]
    assert ("skip.header.line.count" in table["Parameters"]) == now.startswith("text")


def test_a_parquet_tables_column_order_is_not_drift_but_a_text_tables_is() -> None:
    for layout, order_matters in (("parquet-daily", False), ("text-daily", True)):
        [shape] = [s for s in wanted_tables(settings(layout)) if s.name == "vpcflow"]
        swapped = replace(shape, columns=(shape.columns[1], shape.columns[0], *shape.columns[2:]))
        lines = differences(shape, swapped)
        assert bool(lines) == order_matters, lines


# --- the estimate lists the folders the location template gives Athena -----------------------------------


def _folder(layout: str, account: str, region: str, when: datetime) -> str:
    """The location template filled in, as Athena fills it for one partition (relative to the bucket)."""
    _, _, template = EXPECTED[_kind(layout)]
    values = {
        "account_partition": account,
        "region_partition": region,
        "date_partition": f"{when:%Y/%m/%d}",
        "year_partition": f"{when:%Y}",
        "month_partition": f"{when:%m}",
        "day_partition": f"{when:%d}",
        "hour_partition": f"{when:%H}",
    }
    for name, value in values.items():
        template = template.replace(f"${{{name}}}", value)
    return template.removeprefix("s3://central-logs/") + "/"


@pytest.mark.parametrize("layout", FLOW_LOG_LAYOUTS)
def test_the_estimates_prefixes_are_the_projected_folders_of_the_window(layout: str) -> None:
    start = datetime(2026, 11, 18, 22, 30, tzinfo=UTC)
    window = Window(start=start, end=start + timedelta(hours=1))
    request = FlowRequest(query="count", window=window, limit=10, text="count", account="111122223333")
    got = partition_prefixes(settings(layout), request, date(2026, 11, 20))
    if layout.endswith("hourly"):  # 22 and 23 (the window), 00 of the next day (the one-hour margin)
        partitions = [datetime(2026, 11, 18, 22), datetime(2026, 11, 18, 23), datetime(2026, 11, 19, 0)]
    else:  # the window's day and the next (the one-day margin)
        partitions = [datetime(2026, 11, 18), datetime(2026, 11, 19)]
    assert got == [
        _folder(layout, "111122223333", region, when)
        for region in ("us-east-1", "eu-west-1")
        for when in partitions
    ]


@pytest.mark.parametrize(("layout", "first"), [("text-hourly", 30), ("parquet-hive-daily", 1)])
def test_the_estimate_stops_where_the_projection_does(layout: str, first: int) -> None:
    """Plain layouts project days from FLOWBOT_FIRST_DAY; Hive layouts whole years from its year's start,
    so a day of November before the 30th is projected (empty, but listed as Athena would read it)."""
    start = datetime(2025, 11, 1, tzinfo=UTC)
    request = FlowRequest(
        query="count", window=Window(start=start, end=datetime(2025, 12, 1, tzinfo=UTC)), limit=10,
        text="count", account="012345678901", region="eu-west-1",
    )  # fmt: skip
    got = partition_prefixes(settings(layout), request, date(2025, 11, 30))
    days = sorted({p.split("/")[-3 if layout.endswith("hourly") else -2] for p in got})
    assert days[0].removeprefix("day=") == f"{first:02d}" and days[-1].removeprefix("day=") == "30"


# --- check-format looks in the layout's folders; Parquet needs no look ------------------------------------


def test_check_format_reads_headers_in_the_layouts_folders_and_skips_parquet(glue: object) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="central-logs", CreateBucketConfiguration={"LocationConstraint": REGION})
    layout = settings("text-hive-hourly", accounts=("012345678901",), regions=(REGION,))
    today = date(2026, 11, 20)
    folder = "prod/vpc/AWSLogs/aws-account-id=012345678901/aws-service=vpcflowlogs/aws-region=eu-west-1"
    header = V3.replace("${", "").replace("}", "")
    for day, head in ((date(2026, 1, 2), header), (today, header.replace(" instance-id", ""))):
        key = f"{folder}/year={day:%Y}/month={day:%m}/day={day:%d}/hour=07/012345678901_vpcflowlogs_x.log.gz"
        s3.put_object(Bucket="central-logs", Key=key, Body=gzip.compress((head + "\n").encode()))
    samples = check_formats(s3, layout, today)
    assert [(s.key.split("/")[-5:-2], s.difference) for s in samples] == [
        (["year=2026", "month=01", "day=02"], ""),  # the oldest object
        (["year=2026", "month=11", "day=20"], "lacks instance-id"),  # today's first
    ]
    lines, agree = report_formats(settings("parquet-hive-hourly"), today)
    assert agree and lines[0].startswith("not needed for parquet-hive-hourly")
