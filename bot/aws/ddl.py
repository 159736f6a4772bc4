"""The playbook's Athena DDL, generated from settings: never hand-edited, never holding user text.

Statements, in the order `flowbot athena setup` applies them:
1. the database;
2. the partition-projected flow-log table, with the columns of the configured log format in its order
   (Athena maps delimited fields by position), partitions projected on date, region and account;
3. the JSON-serde `vpc_flow_logs` table (when its location is set);
4. the IOC table and 5. the directional IOC view (when the IOC location is set). The view keeps the
   partition columns, so a query on it still prunes partitions.
Every name and path comes from validated settings (see bot/settings.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flowlog_format import BY_HEADER, JSON_FIELDS, parse_log_format
from bot.query.catalog import IOC_COLUMNS
from bot.settings import MissingSettingError, Settings

HIVE_TYPES = {"integer": "int", "bigint": "bigint", "smallint": "smallint", "varchar": "string"}
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
            ("FLOWBOT_ACCOUNTS", settings.accounts),
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
    """The flow-log table's columns (name, Athena type), in the configured format's field order."""
    return [(BY_HEADER[h].column, BY_HEADER[h].athena_type) for h in parse_log_format(settings.log_format)]


def flow_table_properties(settings: Settings) -> dict[str, str]:
    """The flow-log table's TBLPROPERTIES: the header line skipped, partitions projected."""
    base = require_flow_logs(settings)
    assert settings.first_day is not None  # require_flow_logs checked it
    return {
        "skip.header.line.count": "1",
        "projection.enabled": "true",
        "projection.date_partition.type": "date",
        "projection.date_partition.range": f"{settings.first_day:%Y/%m/%d},NOW",
        "projection.date_partition.format": "yyyy/MM/dd",
        "projection.date_partition.interval": "1",
        "projection.date_partition.interval.unit": "DAYS",
        "projection.region_partition.type": "enum",
        "projection.region_partition.values": ",".join(settings.regions),
        "projection.account_partition.type": "enum",
        "projection.account_partition.values": ",".join(settings.accounts),
        "storage.location.template": base
        + "${account_partition}/vpcflowlogs/${region_partition}/${date_partition}",
    }


def flow_table(settings: Settings) -> Statement:
    """The playbook's `vpcflow` table, for the configured format (numpackets, starttime and endtime as
    bigint, as AWS's reference DDL has them: see bot/flowlog_format.py)."""
    base, database = require_flow_logs(settings), settings.athena_database
    columns = ",\n".join(f"  `{name}` {HIVE_TYPES[kind]}" for name, kind in flow_table_columns(settings))
    props = ",\n".join(f"  '{k}' = '{v}'" for k, v in flow_table_properties(settings).items())
    sql = (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{settings.athena_table}` (\n{columns}\n)\n"
        "PARTITIONED BY (\n  `date_partition` string,\n  `region_partition` string,\n"
        "  `account_partition` string\n)\n"
        "ROW FORMAT DELIMITED\nFIELDS TERMINATED BY ' '\n"
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


def _direction_select(table: str, iocs: str, direction: str, peer: str, match: str) -> str:
    """One arm of the view; every interpolated name is a validated setting or a constant here."""
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
        "  vpc.date_partition, vpc.region_partition, vpc.account_partition\n"
        f"FROM {table} AS vpc\n"
        f"WHERE vpc.{match}address IN (SELECT threat_ip FROM {iocs})"
    )


def ioc_view(settings: Settings) -> Statement:
    """The playbook's `incident_vpc_flow_directional` view: flows to and from any IOC, labelled."""
    db = settings.athena_database
    table = f'"{db}"."{settings.athena_table}"'
    iocs = f'"{db}"."{settings.athena_ioc_table}"'
    sql = (
        f'CREATE OR REPLACE VIEW "{db}"."{settings.athena_ioc_view}" AS\n'
        + _direction_select(table, iocs, "INBOUND", "source", "destination")
        + "\nUNION ALL\n"
        + _direction_select(table, iocs, "OUTBOUND", "destination", "source")
    )
    return Statement(f"view {db}.{settings.athena_ioc_view}", sql)


def statements(settings: Settings) -> list[Statement]:
    """Everything `flowbot athena setup` creates for these settings, in order."""
    out = [
        Statement(
            f"database {settings.athena_database}",
            f"CREATE DATABASE IF NOT EXISTS `{settings.athena_database}`",
        ),
        flow_table(settings),
    ]
    if settings.athena_json_location is not None:
        out.append(json_table(settings))
    if settings.ioc_table_location is not None:
        out += [ioc_table(settings), ioc_view(settings)]
    return out
