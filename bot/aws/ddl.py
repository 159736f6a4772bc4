"""The playbook's Athena DDL, generated from settings: never hand-edited, never holding user text.

Statements, in the order `flowbot athena setup` applies them:
1. the database;
2. the partition-projected flow-log table, with the columns of the configured log format in its order
   (Athena maps delimited fields by position; Parquet columns by name, under their Parquet names), stored
   and partitioned as the configured layout (FLOWBOT_LAYOUT) delivers: text or Parquet; partitions
   projected on date (or, with Hive-compatible prefixes, year, month and day), hour in an hourly layout,
   region and account;
3. the JSON-serde `vpc_flow_logs` table (when its location is set);
4. the IOC table and 5. the directional IOC view (when the IOC location is set). The view keeps the
   partition columns, so a query on it still prunes partitions.
Every name and path comes from validated settings (see bot/settings.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flowlog_format import JSON_FIELDS, format_columns
from bot.flowlog_layouts import Layout
from bot.query.catalog import IOC_COLUMNS
from bot.query.ocsf import OCSF_FORMAT
from bot.query.sources import (
    DAY_PARTITION,
    HOUR_PARTITION,
    MONTH_PARTITION,
    YEAR_CEILING,
    YEAR_PARTITION,
    flow_relation,
    partition_keys,
    physical_columns,
)
from bot.settings import MissingSettingError, Settings

HIVE_TYPES = {"integer": "int", "bigint": "bigint", "smallint": "smallint", "varchar": "string"}
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
"""The Parquet SerDe and formats of AWS's reference DDL for Parquet flow logs (Athena User Guide, "Create
tables for flow logs in Apache Parquet format", https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-parquet.html)."""
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
JSON_SERDE_PROPERTIES = {"ignore.malformed.json": "true"}
IOC_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
IOC_SERDE_PROPERTIES = {"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\"}
"""SerDes and their properties, shared by the printed DDL and the Glue tables of setup (bot/aws/glue.py)."""


def _serde_properties(properties: dict[str, str]) -> str:
    """`WITH SERDEPROPERTIES (...)`, a backslash doubled inside the quotes as Hive reads it."""
    escaped = {key: value.replace("\\", "\\\\") for key, value in properties.items()}
    pairs = ", ".join(f"'{key}' = '{value}'" for key, value in escaped.items())
    return f"WITH SERDEPROPERTIES ({pairs})"


@dataclass(frozen=True)
class Statement:
    """One DDL statement and what it creates, for `setup`'s progress lines."""

    creates: str
    sql: str


def require_flow_logs(settings: Settings) -> str:
    """The flow-log table's location, `s3://bucket/[prefix/]AWSLogs/`, once the settings it needs are set."""
    missing = [
        name
        for name, value in (
            ("FLOWBOT_FLOW_LOGS_BUCKET", settings.flow_logs_bucket),
            ("FLOWBOT_ACCOUNTS", settings.accounts or settings.account_projection == "injected"),
            ("FLOWBOT_REGIONS", settings.regions),
            ("FLOWBOT_FIRST_DAY", settings.first_day),
        )
        if not value
    ]
    if missing:
        raise MissingSettingError(f"the Athena tables need {', '.join(missing)}")
    prefix = f"{settings.flow_logs_prefix}/" if settings.flow_logs_prefix else ""
    return f"s3://{settings.flow_logs_bucket}/{prefix}AWSLogs/"


def flow_table_columns(settings: Settings) -> list[tuple[str, str]]:
    """The flow-log table's columns (name, Athena type), in the configured format's field order: the logical
    names for text, the Parquet names and types of AWS's reference DDL for Parquet (bot/query/sources.py)."""
    return physical_columns(settings)


def flow_partition_keys(settings: Settings) -> list[tuple[str, str]]:
    """The flow-log table's partition columns (name, Hive type) for the configured layout: all strings.

    Strings, not integers, even where the projection is an integer one: a string column holds the value as
    the path writes it (`05`, the projection's `digits`), and the logical partition columns are text compared
    as text ('yyyy/MM/dd', 'yyyy/MM/dd/HH'). AWS's own hourly projection example declares `hour string`
    with an integer projection likewise (Athena User Guide,
    "Create tables for flow logs in Apache Parquet format using partition projection",
    https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-partition-projection-parquet-example.html).
    """
    return [(name, "string") for name in partition_keys(settings.flow_layout)]


def _integer_projection(column: str, low: int, high: int, digits: int) -> dict[str, str]:
    """An integer projection whose values are written with `digits` digits (`05`): Athena User Guide,
    "Supported types for partition projection", `projection.<column>.digits`."""
    return {
        f"projection.{column}.type": "integer",
        f"projection.{column}.range": f"{low},{high}",
        f"projection.{column}.digits": str(digits),
    }


def location_template(settings: Settings) -> str:
    """`storage.location.template`: the folder of one partition, as the layout's S3 prefixes are
    (Amazon VPC User Guide, "Flow log files", https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html:
    `AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<MM>/<dd>[/<HH>]`, or with Hive-compatible prefixes
    `AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=<yyyy>/month=<MM>/day=<dd>
    [/hour=<HH>]`)."""
    base, layout = require_flow_logs(settings), settings.flow_layout
    if layout.hive:
        folder = (
            "aws-account-id=${account_partition}/aws-service=vpcflowlogs/aws-region=${region_partition}/"
            "year=${year_partition}/month=${month_partition}/day=${day_partition}"
        )
        return base + folder + ("/hour=${hour_partition}" if layout.hourly else "")
    folder = "${account_partition}/vpcflowlogs/${region_partition}/${date_partition}"
    return base + folder + ("/${hour_partition}" if layout.hourly else "")


def flow_table_properties(settings: Settings) -> dict[str, str]:
    """The flow-log table's TBLPROPERTIES: the header line skipped (text only: a Parquet file has none),
    partitions projected (Athena User Guide, "Supported types for partition projection").

    Plain layouts project `date_partition` as a date from FLOWBOT_FIRST_DAY to NOW (and an hourly one
    `hour_partition` as 00 to 23, as AWS's hourly Parquet example does). Hive layouts project the path's
    year, month and day (and hour) as integers: month 01-12, day 01-31 (a day a month lacks is an empty
    partition, which Athena reads as no rows), year from FLOWBOT_FIRST_DAY's year to YEAR_CEILING
    (bot/query/sources.py says why a constant).
    """
    require_flow_logs(settings)
    assert settings.first_day is not None  # require_flow_logs checked it
    layout = settings.flow_layout
    properties = {"skip.header.line.count": "1"} if layout.file_format == "text" else {}
    properties["projection.enabled"] = "true"
    if layout.hive:
        properties |= _integer_projection(YEAR_PARTITION, settings.first_day.year, YEAR_CEILING, 4)
        properties |= _integer_projection(MONTH_PARTITION, 1, 12, 2)
        properties |= _integer_projection(DAY_PARTITION, 1, 31, 2)
    else:
        properties |= {
            "projection.date_partition.type": "date",
            "projection.date_partition.range": f"{settings.first_day:%Y/%m/%d},NOW",
            "projection.date_partition.format": "yyyy/MM/dd",
            "projection.date_partition.interval": "1",
            "projection.date_partition.interval.unit": "DAYS",
        }
    if layout.hourly:
        properties |= _integer_projection(HOUR_PARTITION, 0, 23, 2)
    properties |= {
        "projection.region_partition.type": "enum",
        "projection.region_partition.values": ",".join(settings.regions),
    }
    if settings.account_projection == "injected":  # Athena User Guide, "Use dynamic ID partitioning"
        properties["projection.account_partition.type"] = "injected"
    else:
        properties["projection.account_partition.type"] = "enum"
        properties["projection.account_partition.values"] = ",".join(settings.accounts)
    properties["storage.location.template"] = location_template(settings)
    return properties


def _storage_clause(layout: Layout) -> str:
    """How the files are read: space-delimited text, or Parquet (AWS's reference DDL for Parquet flow logs,
    https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-parquet.html)."""
    if layout.file_format == "text":
        return "ROW FORMAT DELIMITED\nFIELDS TERMINATED BY ' '\n"
    return (
        f"ROW FORMAT SERDE '{PARQUET_SERDE}'\n"
        f"STORED AS INPUTFORMAT '{PARQUET_INPUT}'\nOUTPUTFORMAT '{PARQUET_OUTPUT}'\n"
    )


def flow_table(settings: Settings) -> Statement:
    """The flow-log table for the configured format and layout (for text-daily, the playbook's `vpcflow`
    table, but for numpackets, starttime and endtime as bigint, as AWS's reference DDL has them: see
    bot/flowlog_format.py)."""
    base, database = require_flow_logs(settings), settings.athena_database
    columns = ",\n".join(f"  `{name}` {HIVE_TYPES[kind]}" for name, kind in flow_table_columns(settings))
    keys = ",\n".join(f"  `{name}` {kind}" for name, kind in flow_partition_keys(settings))
    props = ",\n".join(f"  '{k}' = '{v}'" for k, v in flow_table_properties(settings).items())
    sql = (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{settings.athena_table}` (\n{columns}\n)\n"
        f"PARTITIONED BY (\n{keys}\n)\n"
        f"{_storage_clause(settings.flow_layout)}"
        f"LOCATION '{base}'\nTBLPROPERTIES (\n{props}\n)"
    )
    return Statement(f"table {database}.{settings.athena_table}", sql)


def json_table(settings: Settings) -> Statement:
    """The playbook's JSON-serde `vpc_flow_logs` table."""
    if settings.athena_json_location is None:
        raise MissingSettingError("the JSON table needs FLOWBOT_ATHENA_JSON_LOCATION")
    columns = ",\n".join(f"  `{name}` {HIVE_TYPES[kind]}" for name, kind in JSON_FIELDS)
    sql = (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{settings.athena_database}`.`{settings.athena_json_table}` (\n"
        f"{columns}\n)\n"
        f"ROW FORMAT SERDE '{JSON_SERDE}'\n{_serde_properties(JSON_SERDE_PROPERTIES)}\n"
        f"LOCATION '{settings.athena_json_location}'"
    )
    return Statement(f"table {settings.athena_database}.{settings.athena_json_table}", sql)


def ioc_table(settings: Settings) -> Statement:
    """The playbook's IOC table: CSV files of (threat_ip, threat_comment)."""
    if settings.ioc_table_location is None:
        raise MissingSettingError("the IOC table on Athena needs FLOWBOT_IOC_STORE=s3://bucket/prefix")
    columns = ",\n".join(f"  `{name}` {HIVE_TYPES[kind]}" for name, kind in IOC_COLUMNS)
    sql = (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{settings.athena_database}`.`{settings.athena_ioc_table}` (\n"
        f"{columns}\n)\n"
        f"ROW FORMAT SERDE '{IOC_SERDE}'\n{_serde_properties(IOC_SERDE_PROPERTIES)}\n"
        f"STORED AS TEXTFILE\nLOCATION '{settings.ioc_table_location}'"
    )
    return Statement(f"table {settings.athena_database}.{settings.athena_ioc_table}", sql)


VIEW_COLUMNS = frozenset(
    {"account", "interfaceid", "sourceaddress", "sourceport", "destinationaddress", "destinationport"}
    | {"protocol", "numpackets", "numbytes", "action", "logstatus", "starttime", "endtime"}
)
"""The flow-log columns the directional IOC view reads (`_direction_select`)."""


def readable_columns(settings: Settings) -> frozenset[str]:
    """The flow-log columns the configured source gives: the log format's, or Security Lake's."""
    return format_columns(OCSF_FORMAT if settings.flow_layout.file_format == "ocsf" else settings.log_format)


def _direction_select(table: str, iocs: str, direction: str, peer: str, match: str, hourly: bool) -> str:
    """One arm of the view; every interpolated name is a validated setting or a constant here, and `table`
    the logical flow-log relation (`flow_relation`, built from the same)."""
    return (
        "SELECT vpc.account,\n"
        "  vpc.interfaceid,\n"
        "  vpc.sourceaddress || ':' || CAST(vpc.sourceport AS VARCHAR) AS source,\n"
        "  vpc.destinationaddress || ':' || CAST(vpc.destinationport AS VARCHAR) AS destination,\n"
        f"  '{direction}' AS direction,\n"
        f"  vpc.{peer}address AS connecting_ip,\n"
        f"  vpc.{peer}port AS connecting_port,\n"
        "  vpc.protocol, vpc.numpackets, vpc.numbytes, vpc.action, vpc.logstatus,\n"
        "  CAST(from_unixtime(vpc.starttime) AS TIMESTAMP) AS starttime,\n"
        "  CAST(from_unixtime(vpc.endtime) AS TIMESTAMP) AS endtime,\n"
        "  date_diff('second', from_unixtime(vpc.starttime), from_unixtime(vpc.endtime)) AS sessiontime,\n"
        "  vpc.date_partition, vpc.region_partition, vpc.account_partition"
        + (", vpc.hour_partition\n" if hourly else "\n")
        + f"FROM {table} AS vpc\n"
        f"WHERE vpc.{match}address IN (SELECT threat_ip FROM {iocs})"
    )


def ioc_view(settings: Settings) -> Statement:
    """The playbook's `incident_vpc_flow_directional` view: flows to and from any IOC, labelled.

    It reads the logical flow-log relation, so it has the same columns whatever the layout: the table itself
    for text-daily, else the layout's subquery without its window predicate (a view binds no values; a query
    on the view prunes through its own predicates on the partition columns, which it keeps, `hour_partition`
    too in an hourly layout)."""
    db = settings.athena_database
    table = flow_relation(settings, window=False)
    iocs = f'"{db}"."{settings.athena_ioc_table}"'
    hourly = settings.flow_layout.hourly
    sql = (
        f'CREATE OR REPLACE VIEW "{db}"."{settings.athena_ioc_view}" AS\n'
        + _direction_select(table, iocs, "INBOUND", "source", "destination", hourly)
        + "\nUNION ALL\n"
        + _direction_select(table, iocs, "OUTBOUND", "destination", "source", hourly)
    )
    return Statement(f"view {db}.{settings.athena_ioc_view}", sql)


def statements(settings: Settings) -> list[Statement]:
    """Everything `flowbot athena setup` creates for these settings, in order."""
    out = [
        Statement(
            f"database {settings.athena_database}",
            f"CREATE DATABASE IF NOT EXISTS `{settings.athena_database}`",
        ),
    ]
    if settings.flow_table_managed:  # Security Lake's table is Security Lake's
        out.append(flow_table(settings))
    if settings.athena_json_location is not None:
        out.append(json_table(settings))
    if settings.ioc_table_location is not None:
        out.append(ioc_table(settings))
        if VIEW_COLUMNS <= readable_columns(settings):  # a transit gateway's has no interface, no action
            out.append(ioc_view(settings))
    return out
