"""The logical `vpcflow` relation on Athena, for every flow-log layout (bot/flowlog_layouts.py).

Templates read `vpcflow`: the logical columns of bot/flowlog_format.py (`sourceaddress`, `numbytes`, ...,
with the Athena types of FIELDS) and the logical partition columns `date_partition` ('yyyy/MM/dd'),
`region_partition` and `account_partition` (and `hour_partition`, 'HH', in an hourly layout). What stands
for it on Athena:

- `text-daily`, the playbook's table: the table itself, `"db"."table"` (its columns are the logical ones).
- every other layout: `(SELECT <mapping> FROM "db"."table" WHERE <partition predicate>)`:
  - the mapping gives each field of the configured log format its logical name and type: a text table's
    columns already have them; a Parquet table's have the names and types of AWS's reference DDL
    (`"srcaddr" AS sourceaddress`, `CAST("protocol" AS integer) AS protocol`), and the logical partition
    columns as expressions of the physical ones (Hive layouts: `concat(year_partition, '/', month_partition,
    '/', day_partition) AS date_partition`);
  - the partition predicate is written on the physical partition columns, inside the subquery, so that
    Athena prunes on them whatever the template does with the logical ones: hourly layouts bound the
    hour (`concat(<day>, '/', hour_partition) BETWEEN :first_hour AND :last_hour`), Hive layouts also
    the year (`year_partition BETWEEN :first_year AND :last_year`) and, when daily, the joined day.
    Beside each joined bound, every time column gets a plain range of its own (`month_partition BETWEEN
    :first_month AND :last_month`, ..., widened to the whole column where the window crosses the column
    above: `Window.column_bounds`): a projection that prunes only on one-column ranges still opens few
    partitions, whether or not Athena applies the joined predicate before listing (not confirmed). A
    plain daily layout needs none: the template's `date_partition BETWEEN :first_day AND :last_day` is
    already on the physical column.

Everything here is text built from constants and validated settings (the database and table names,
bot/settings.py); values appear only as named placeholders, which `to_athena` turns into `?`.
The physical tables themselves (columns, partition keys, projection) are written by bot/aws/ddl.py and
bot/aws/glue.py from the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.flowlog_format import BY_HEADER, parse_log_format
from bot.flowlog_layouts import PARQUET_COLUMNS, Layout
from bot.query.ocsf import ocsf_columns, ocsf_partitions
from bot.settings import Settings

DATE_PARTITION = "date_partition"
REGION_PARTITION = "region_partition"
ACCOUNT_PARTITION = "account_partition"
HOUR_PARTITION = "hour_partition"
YEAR_PARTITION = "year_partition"
MONTH_PARTITION = "month_partition"
DAY_PARTITION = "day_partition"

YEAR_CEILING = 2099
"""The last year a Hive layout's `year_partition` projects (integer projection, FLOWBOT_FIRST_DAY's year to
this). An integer projection's range is fixed text (Athena User Guide, "Supported types for partition
projection": `range` is "a two-element comma-separated list", no `NOW`), so the ceiling is a constant: one
computed from today would make the table differ from the settings every new year. Flowbot's queries bound
`year_partition` with a plain `BETWEEN` of the window's years, so the ceiling only matters to a query
without that bound, which projects every year up to it (empty partitions, no error)."""

PARQUET_BY_HEADER: dict[str, tuple[str, str]] = {
    header: (name, kind) for header, name, kind in PARQUET_COLUMNS
}
"""A field's Parquet column and its Athena type, by header name."""


def partition_keys(layout: Layout) -> tuple[str, ...]:
    """The physical partition columns of Flowbot's table for a layout, in the DDL's order (all strings).

    Plain daily: today's `date_partition, region_partition, account_partition`; plain hourly adds
    `hour_partition` after the day; Hive layouts mirror the path's `key=value` folders: account, region,
    year, month, day (and hour).
    """
    if layout.hive:
        keys = (ACCOUNT_PARTITION, REGION_PARTITION, YEAR_PARTITION, MONTH_PARTITION, DAY_PARTITION)
        return (*keys, HOUR_PARTITION) if layout.hourly else keys
    if layout.hourly:
        return (DATE_PARTITION, HOUR_PARTITION, REGION_PARTITION, ACCOUNT_PARTITION)
    return (DATE_PARTITION, REGION_PARTITION, ACCOUNT_PARTITION)


def _quoted(column: str) -> str:
    """A physical column as a quoted identifier (`"end"` is a reserved word in Trino)."""
    return f'"{column}"'


def _joined(*columns: str) -> str:
    """`concat("a", '/', "b", ...)`: partition values joined by slashes, as paths and bindings write them."""
    parts = ", '/', ".join(_quoted(c) for c in columns)
    return f"concat({parts})"


def day_expression(layout: Layout) -> str:
    """The logical `date_partition` ('yyyy/MM/dd') as an expression of the physical partition columns."""
    if layout.hive:
        return _joined(YEAR_PARTITION, MONTH_PARTITION, DAY_PARTITION)
    return _quoted(DATE_PARTITION)


def hour_expression(layout: Layout) -> str:
    """An hourly layout's partition as 'yyyy/MM/dd/HH' (what `:first_hour` and `:last_hour` hold), from the
    physical partition columns."""
    if layout.hive:
        return _joined(YEAR_PARTITION, MONTH_PARTITION, DAY_PARTITION, HOUR_PARTITION)
    return _joined(DATE_PARTITION, HOUR_PARTITION)


def logical_partitions(layout: Layout) -> list[tuple[str, str]]:
    """(logical partition column, expression of the physical ones), in the logical table's order."""
    out = [
        (DATE_PARTITION, day_expression(layout)),
        (REGION_PARTITION, _quoted(REGION_PARTITION)),
        (ACCOUNT_PARTITION, _quoted(ACCOUNT_PARTITION)),
    ]
    if layout.hourly:
        out.append((HOUR_PARTITION, _quoted(HOUR_PARTITION)))
    return out


def physical_columns(settings: Settings) -> list[tuple[str, str]]:
    """The table's data columns (name, Athena type) for the configured format, in its order.

    Text: the logical names and types (Athena maps delimited fields by position). Parquet: the names and
    types of AWS's reference DDL for Parquet flow logs (Amazon Athena User Guide, "Create tables for flow
    logs in Apache Parquet format", https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-parquet.html),
    which Athena matches by name ("By default, Parquet will access columns by name": Athena User Guide,
    "Handle schema updates", https://docs.aws.amazon.com/athena/latest/ug/handling-schema-updates-chapter.html).
    """
    headers = parse_log_format(settings.log_format)
    if settings.flow_layout.file_format == "parquet":
        return [PARQUET_BY_HEADER[h] for h in headers]
    return [(BY_HEADER[h].column, BY_HEADER[h].athena_type) for h in headers]


def column_mapping(settings: Settings) -> list[tuple[str, str]]:
    """(logical column, expression of the physical table) for each field of the configured format."""
    out = []
    for header, (name, kind) in zip(
        parse_log_format(settings.log_format), physical_columns(settings), strict=True
    ):
        field = BY_HEADER[header]
        value = _quoted(name)
        if kind != field.athena_type:
            value = f"CAST({value} AS {field.athena_type})"
        out.append((field.column, value))
    return out


def window_predicate(layout: Layout) -> str | None:
    """The subquery's partition predicate, on physical partition columns only (None: a plain daily layout,
    whose template predicate `date_partition BETWEEN :first_day AND :last_day` is on a physical column)."""
    conditions = []
    if layout.hive:
        conditions += [
            f"{_quoted(YEAR_PARTITION)} BETWEEN :first_year AND :last_year",
            f"{_quoted(MONTH_PARTITION)} BETWEEN :first_month AND :last_month",
            f"{_quoted(DAY_PARTITION)} BETWEEN :first_mday AND :last_mday",
        ]
    if layout.hourly:
        conditions.append(f"{_quoted(HOUR_PARTITION)} BETWEEN :first_hh AND :last_hh")
    if layout.hourly:
        conditions.append(f"{hour_expression(layout)} BETWEEN :first_hour AND :last_hour")
    elif layout.hive:
        conditions.append(f"{day_expression(layout)} BETWEEN :first_day AND :last_day")
    return " AND ".join(conditions) or None


def physical_table(settings: Settings) -> str:
    """The flow-log table as a quoted name, `"db"."table"` (validated identifiers)."""
    return f'"{settings.flow_database}"."{settings.athena_table}"'


def is_the_table(layout: Layout) -> bool:
    """Whether the logical relation is the table itself: the text-daily layout, the playbook's table."""
    return layout.file_format == "text" and not layout.hive and not layout.hourly


def flow_relation(settings: Settings, *, window: bool = True) -> str:
    """The logical `vpcflow` as Trino SQL: `"db"."table"` for text-daily; else a parenthesised SELECT of the
    logical columns, with the layout's partition predicate when `window` (a view, which binds no values,
    leaves it out: a query on the view prunes through its own predicates). No alias: the caller names it."""
    layout = settings.flow_layout
    if is_the_table(layout):
        return physical_table(settings)
    if layout.file_format == "ocsf":
        return _security_lake_relation(settings, window=window)
    items = [*column_mapping(settings), *logical_partitions(layout)]
    select = ",\n       ".join(
        value if value == _quoted(name) else f"{value} AS {name}" for name, value in items
    )
    predicate = window_predicate(layout) if window else None
    where = f"\n WHERE {predicate}" if predicate else ""
    # Constants and validated identifiers only (module docstring); values stay named placeholders.
    return f"(SELECT {select}\n FROM {physical_table(settings)}{where})"  # noqa: S608


SECURITY_LAKE_PARTITIONS = ("region", "accountid", "eventday")
"""Security Lake's partition keys (its example queries filter on `region`, `accountid` and `eventDay`)."""


def _security_lake_relation(settings: Settings, *, window: bool) -> str:
    """Security Lake's OCSF table as the logical `vpcflow` (bot/query/ocsf.py), pruned on `eventday`
    (yyyymmdd) by the window's days."""
    region, account, eventday = (_quoted(c) for c in ("region", "accountid", "eventday"))
    items = [*ocsf_columns("trino"), *ocsf_partitions("trino", eventday, region, account)]
    select = ",\n       ".join(f"{value} AS {name}" for name, value in items)
    where = f"\n WHERE {eventday} BETWEEN :first_eventday AND :last_eventday" if window else ""
    # Constants and validated identifiers only (module docstring); values stay named placeholders.
    return f"(SELECT {select}\n FROM {physical_table(settings)}{where})"  # noqa: S608


@dataclass(frozen=True)
class ProjectedDays:
    """The days a layout's projection holds (inclusive; `last` None: no upper bound but the caller's)."""

    first: date
    last: date | None


def projected_days(settings: Settings) -> ProjectedDays:
    """The days the table's partition projection holds, for the configured layout.

    Plain layouts project `date_partition` from FLOWBOT_FIRST_DAY to NOW; Hive layouts project whole years
    from FLOWBOT_FIRST_DAY's year to YEAR_CEILING (integer projections of year, month and day).
    """
    first = settings.first_day or date.min
    if settings.flow_layout.hive:
        return ProjectedDays(date(first.year, 1, 1), date(YEAR_CEILING, 12, 31))
    return ProjectedDays(first, None)
