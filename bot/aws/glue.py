"""The Athena tables as the Glue Data Catalog holds them: what the settings want, what is there, the
difference, and bringing the catalog there.

`CREATE EXTERNAL TABLE IF NOT EXISTS` never changes a table that exists, so a table made before
`FLOWBOT_ACCOUNTS`, `FLOWBOT_REGIONS`, `FLOWBOT_FIRST_DAY` or `FLOWBOT_LOG_FORMAT` changed keeps its old
projection values and columns: a newly listed account matches nothing, a new field is COLUMN_NOT_FOUND,
reordered fields read wrong values. So `flowbot athena setup` works on Glue itself: GetTable, compare,
then CreateTable or (with `--apply`) UpdateTable. These are external tables: the catalog entry describes
files in S3, and replacing it moves no data.

The wanted shapes come from the same pieces as the printed DDL (`bot/aws/ddl.py`): the columns of the log
format, the layout's storage format (text or Parquet) and partition keys, the projection properties, the
locations. A Parquet table's column order is not compared: "By default, Parquet will access columns by
name" (Athena User Guide, "Handle schema updates",
https://docs.aws.amazon.com/athena/latest/ug/handling-schema-updates-chapter.html). Only what Flowbot sets
is compared; properties Athena or Glue add themselves (`transient_lastDdlTime`, ...) are left alone.

A flow-log table that is not Flowbot's is checked, never created or changed: Security Lake's, and an
adopted one (FLOWBOT_ATHENA_ADOPT_TABLE: bot/aws/adopt.py reads it and says when it no longer matches the
settings that describe it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bot.aws.adopt import LAZY_SIMPLE, adopted_problems, adoption_report
from bot.aws.ddl import (
    HIVE_TYPES,
    IOC_SERDE,
    IOC_SERDE_PROPERTIES,
    JSON_SERDE,
    JSON_SERDE_PROPERTIES,
    PARQUET_INPUT,
    PARQUET_OUTPUT,
    PARQUET_SERDE,
    flow_partition_keys,
    flow_table_columns,
    flow_table_properties,
    require_flow_logs,
)
from bot.flowlog_format import JSON_FIELDS
from bot.query.catalog import IOC_COLUMNS
from bot.query.sources import SECURITY_LAKE_PARTITIONS
from bot.settings import Settings

TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
"""With LAZY_SIMPLE (bot/aws/adopt.py), what Athena's `ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '` stands
for."""
TEXT_SERDE_PARAMETERS = {"field.delim": " ", "serialization.format": " "}


@dataclass(frozen=True)
class TableShape:
    """One external table as Glue describes it, reduced to what Flowbot decides."""

    name: str
    columns: tuple[tuple[str, str], ...]
    location: str
    serde: str
    serde_parameters: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)
    partition_keys: tuple[tuple[str, str], ...] = ()
    input_format: str = TEXT_INPUT
    output_format: str = TEXT_OUTPUT

    @property
    def by_name(self) -> bool:
        """Whether the files' columns are matched by name (Parquet), not by position (delimited text)."""
        return self.serde == PARQUET_SERDE

    def table_input(self) -> dict[str, Any]:
        """Glue's TableInput for CreateTable / UpdateTable."""
        return {
            "Name": self.name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"EXTERNAL": "TRUE", **self.parameters},
            "PartitionKeys": [{"Name": n, "Type": t} for n, t in self.partition_keys],
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in self.columns],
                "Location": self.location,
                "InputFormat": self.input_format,
                "OutputFormat": self.output_format,
                "SerdeInfo": {"SerializationLibrary": self.serde, "Parameters": dict(self.serde_parameters)},
            },
        }


def _flow_table_shape(settings: Settings) -> TableShape:
    """The flow-log table Flowbot makes for the configured layout."""
    base = require_flow_logs(settings)
    parquet = settings.flow_layout.file_format == "parquet"
    return TableShape(
        settings.athena_table,
        tuple((name, HIVE_TYPES[kind]) for name, kind in flow_table_columns(settings)),
        base,
        PARQUET_SERDE if parquet else LAZY_SIMPLE,
        {} if parquet else TEXT_SERDE_PARAMETERS,
        flow_table_properties(settings),
        tuple(flow_partition_keys(settings)),
        PARQUET_INPUT if parquet else TEXT_INPUT,
        PARQUET_OUTPUT if parquet else TEXT_OUTPUT,
    )


SECURITY_LAKE_COLUMNS: dict[str, tuple[str, ...]] = {
    "metadata": ("product", "version"),
    "cloud": ("account", "uid", "region", "zone"),
    "src_endpoint": ("ip", "port", "interface_uid", "vpc_uid", "subnet_uid", "instance_uid", "svc_name"),
    "dst_endpoint": ("ip", "port", "interface_uid", "vpc_uid", "subnet_uid", "instance_uid", "svc_name"),
    "connection_info": ("protocol_num", "tcp_flags", "direction"),
    "traffic": ("packets", "bytes"),
    "start_time": (),
    "end_time": (),
    "action_id": (),
    "status_code": (),
}
"""The columns of Security Lake's VPC flow table that bot/query/ocsf.py reads, with the struct fields it reads
in each (checked as names inside Glue's `struct<...>` type text)."""


def security_lake_problems(glue: Any, settings: Settings) -> list[str]:
    """What Security Lake's flow table lacks of what Flowbot reads (empty: it has it all). Flowbot never
    changes that table: Security Lake owns it."""
    database, name = settings.flow_database, settings.athena_table
    try:
        table = glue.get_table(DatabaseName=database, Name=name)["Table"]
    except ClientError as exc:
        if _missing(exc):
            return [
                f"table {database}.{name} does not exist: point FLOWBOT_ATHENA_FLOW_DATABASE and "
                "FLOWBOT_ATHENA_TABLE at Security Lake's VPC flow table "
                "(amazon_security_lake_glue_db_<region>.amazon_security_lake_table_<region>_vpc_flow_2_0)"
            ]
        raise
    columns = {c["Name"].lower(): c.get("Type", "").lower() for c in table["StorageDescriptor"]["Columns"]}
    keys = [k["Name"].lower() for k in table.get("PartitionKeys") or []]
    problems = []
    for column, fields in SECURITY_LAKE_COLUMNS.items():
        if column not in columns:
            problems.append(f"column {column} is missing")
            continue
        lacking = [f for f in fields if f"{f}:" not in columns[column]]
        if lacking:
            problems.append(f"column {column} lacks {', '.join(lacking)}")
    lacking_keys = [k for k in SECURITY_LAKE_PARTITIONS if k not in keys]
    if lacking_keys:
        problems.append(f"partition keys lack {', '.join(lacking_keys)}")
    return [f"table {database}.{name} (Security Lake's): {p}" for p in problems]


def foreign_table_problems(glue: Any, settings: Settings) -> list[str]:
    """What is wrong with a flow-log table Flowbot reads but does not keep (Security Lake's, or an adopted
    one: bot/aws/adopt.py); empty for Flowbot's own table, which `differences` compares."""
    if settings.flow_table_managed:
        return []
    if settings.athena_adopt_table:
        return adopted_problems(glue, settings)
    return security_lake_problems(glue, settings)


def wanted_tables(settings: Settings) -> list[TableShape]:
    """Every table `flowbot athena setup` keeps for these settings: the flow-log table (unless another
    owns it: Security Lake, or whoever made an adopted table), then the JSON and IOC tables when their
    locations are set."""
    tables = [_flow_table_shape(settings)] if settings.flow_table_managed else []
    if settings.athena_json_location is not None:
        tables.append(
            TableShape(
                settings.athena_json_table,
                tuple((name, HIVE_TYPES[kind]) for name, kind in JSON_FIELDS),
                settings.athena_json_location,
                JSON_SERDE,
                JSON_SERDE_PROPERTIES,
            )
        )
    if settings.ioc_table_location is not None:
        tables.append(
            TableShape(
                settings.athena_ioc_table,
                tuple((name, HIVE_TYPES[kind]) for name, kind in IOC_COLUMNS),
                settings.ioc_table_location,
                IOC_SERDE,
                IOC_SERDE_PROPERTIES,
            )
        )
    return tables


def live_shape(table: Mapping[str, Any], like: TableShape) -> TableShape:
    """GetTable's `Table`, read as a TableShape; parameters only those `like` sets (the rest are Glue's)."""
    storage = table.get("StorageDescriptor") or {}
    serde = storage.get("SerdeInfo") or {}
    params = table.get("Parameters") or {}
    serde_params = serde.get("Parameters") or {}
    return TableShape(
        str(table.get("Name", like.name)),
        tuple((str(c["Name"]), str(c["Type"]).lower()) for c in storage.get("Columns") or []),
        str(storage.get("Location", "")),
        str(serde.get("SerializationLibrary", "")),
        {k: str(serde_params[k]) for k in like.serde_parameters if k in serde_params},
        {k: str(params[k]) for k in like.parameters if k in params},
        tuple((str(c["Name"]), str(c["Type"]).lower()) for c in table.get("PartitionKeys") or []),
        str(storage.get("InputFormat", "")),
        str(storage.get("OutputFormat", "")),
    )


def _columns(columns: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{n} {t}" for n, t in columns) or "none"


def differences(wanted: TableShape, live: TableShape) -> list[str]:
    """What differs, one line each, live value before wanted value."""
    out: list[str] = []
    if live.columns != wanted.columns:
        live_names, wanted_names = [n for n, _ in live.columns], [n for n, _ in wanted.columns]
        added = [n for n in wanted_names if n not in live_names]
        removed = [n for n in live_names if n not in wanted_names]
        if added:
            out.append(f"columns to add: {', '.join(added)}")
        if removed:
            out.append(f"columns to drop: {', '.join(removed)}")
        common_live = [n for n in live_names if n in wanted_names]
        common_wanted = [n for n in wanted_names if n in live_names]
        if common_live != common_wanted and not wanted.by_name:
            out.append(
                f"column order: the table has {', '.join(common_live)}; the settings have "
                f"{', '.join(common_wanted)} (Athena reads fields by position)"
            )
        live_types, wanted_types = dict(live.columns), dict(wanted.columns)
        for name in common_wanted:
            if live_types[name] != wanted_types[name]:
                out.append(f"column {name}: {live_types[name]} in the table, {wanted_types[name]} wanted")
    if live.partition_keys != wanted.partition_keys:
        out.append(
            f"partition keys: {_columns(live.partition_keys)}; wanted {_columns(wanted.partition_keys)}"
        )
    if live.location != wanted.location:
        out.append(f"location: {live.location or 'none'}; wanted {wanted.location}")
    if live.serde != wanted.serde:
        out.append(f"SerDe: {live.serde or 'none'}; wanted {wanted.serde}")
    if (live.input_format, live.output_format) != (wanted.input_format, wanted.output_format):
        out.append(
            f"storage format: {live.input_format or 'none'}, {live.output_format or 'none'}; "
            f"wanted {wanted.input_format}, {wanted.output_format}"
        )
    for name in ("serde_parameters", "parameters"):
        have, want = getattr(live, name), getattr(wanted, name)
        for key, value in want.items():
            if have.get(key) != value:
                out.append(f"{key}: {have.get(key, 'not set')!r}; wanted {value!r}")
    return out


@dataclass(frozen=True)
class TableState:
    """One table compared: missing (`live` None), matching (no differences), or drifted."""

    wanted: TableShape
    live: TableShape | None
    differences: tuple[str, ...]

    @property
    def matches(self) -> bool:
        return self.live is not None and not self.differences


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) == "EntityNotFoundException"


def database_exists(glue: Any, database: str) -> bool:
    """GetDatabase; False when Glue has no such database."""
    try:
        glue.get_database(Name=database)
    except ClientError as exc:
        if _missing(exc):
            return False
        raise
    return True


def compare(glue: Any, database: str, wanted: TableShape) -> TableState:
    """GetTable, and how it differs from what the settings want."""
    try:
        table = glue.get_table(DatabaseName=database, Name=wanted.name)["Table"]
    except ClientError as exc:
        if _missing(exc):
            return TableState(wanted, None, ())
        raise
    live = live_shape(table, wanted)
    return TableState(wanted, live, tuple(differences(wanted, live)))


def drift(glue: Any, settings: Settings) -> list[str]:
    """One line per table that is missing or differs from the settings (empty: the catalog agrees)."""
    database = settings.athena_database
    if not database_exists(glue, database):
        return [f"database {database} does not exist (run `flowbot athena setup`)"]
    lines = foreign_table_problems(glue, settings)
    for wanted in wanted_tables(settings):
        state = compare(glue, database, wanted)
        if state.live is None:
            lines.append(f"table {database}.{wanted.name} does not exist (run `flowbot athena setup`)")
        elif state.differences:
            lines.append(
                f"table {database}.{wanted.name} differs from the settings ({'; '.join(state.differences)}); "
                "run `flowbot athena setup --apply`"
            )
    return lines


@dataclass
class SetupReport:
    """What `flowbot athena setup` did, a line each, and whether tables were left differing."""

    lines: list[str] = field(default_factory=list)
    drifted: int = 0


def converge(glue: Any, settings: Settings, *, apply: bool) -> SetupReport:
    """Create what is missing; for a table that differs, show how, and with `apply` update it
    (UpdateTable replaces the table's definition; its files in S3 are untouched)."""
    shapes = wanted_tables(settings)  # a missing setting stops before any call
    database = settings.athena_database
    report = SetupReport()
    if not database_exists(glue, database):
        glue.create_database(DatabaseInput={"Name": database})
        report.lines.append(f"created database {database}")
    foreign = 0  # lines about a flow-log table that is not Flowbot's to change
    if settings.athena_adopt_table:
        lines, foreign = adoption_report(glue, settings)
        report.lines += lines
    elif not settings.flow_table_managed:
        problems = security_lake_problems(glue, settings)
        foreign = len(problems)
        report.lines += problems or [
            f"table {settings.flow_database}.{settings.athena_table} (Security Lake's) has what Flowbot reads"
        ]
    report.drifted += foreign
    for shape in shapes:
        state = compare(glue, database, shape)
        name = f"table {database}.{shape.name}"
        if state.live is None:
            glue.create_table(DatabaseName=database, TableInput=shape.table_input())
            report.lines.append(f"created {name}")
        elif state.matches:
            report.lines.append(f"{name} matches the settings")
        elif apply:
            glue.update_table(DatabaseName=database, TableInput=shape.table_input())
            report.lines += [f"updated {name}:", *(f"  {line}" for line in state.differences)]
        else:
            report.drifted += 1
            report.lines += [
                f"{name} differs from the settings:",
                *(f"  {line}" for line in state.differences),
            ]
    if report.drifted > foreign:  # Flowbot's own tables (Security Lake's or an adopted one are not its own)
        report.lines.append(
            "run `flowbot athena setup --apply` to update them (external tables: the files in S3 stay)"
        )
    return report
