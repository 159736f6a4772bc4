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
- an adopted table (FLOWBOT_ATHENA_ADOPT_TABLE: someone else's table, which Flowbot reads and never changes):
  the same kind of subquery, its mapping and its partition predicate written from
  FLOWBOT_ATHENA_ADOPTED_COLUMNS and FLOWBOT_ATHENA_ADOPTED_PARTITIONS (`adopted_relation`;
  bot/aws/adopt.py reads them off the table in Glue).

Everything here is text built from constants and validated settings (the database and table names,
bot/settings.py); values appear only as named placeholders, which `to_athena` turns into `?`.
The physical tables themselves (columns, partition keys, projection) are written by bot/aws/ddl.py and
bot/aws/glue.py from the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.flowlog_format import BY_HEADER, COLUMN_HEADERS, parse_log_format
from bot.flowlog_layouts import PARQUET_COLUMNS, Layout
from bot.query.ocsf import ocsf_columns, ocsf_partitions
from bot.settings import MissingSettingError, Settings, adopted_column, adopted_partition

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


def is_the_table(settings: Settings) -> bool:
    """Whether the logical relation is the table itself: the playbook's table (text-daily, accounts
    enumerated)."""
    layout = settings.flow_layout
    plain_daily_text = layout.file_format == "text" and not layout.hive and not layout.hourly
    return plain_daily_text and settings.account_projection == "enum" and not settings.athena_adopt_table


SCOPE_ACCOUNT = "scope_account_{}"
"""The placeholders of the accounts an injected account projection reads (`:scope_account_0`, ...)."""


def scope_accounts(settings: Settings, account: str) -> tuple[str, ...]:
    """The accounts a query names for an injected projection: the request's, else every FLOWBOT_ACCOUNTS
    (empty: the query cannot run; the parser refuses it first)."""
    return (account,) if account else settings.accounts


def account_predicate(count: int) -> str:
    """`"account_partition" IN (:scope_account_0, ...)`: the static equality Athena requires of an injected
    partition key ("CONSTRAINT_VIOLATION: For the injected projected partition column ..., the WHERE clause
    must contain only static equality conditions": Athena User Guide, "Use dynamic ID partitioning")."""
    holes = ", ".join(f":{SCOPE_ACCOUNT.format(i)}" for i in range(count))
    return f"{_quoted(ACCOUNT_PARTITION)} IN ({holes})"


def flow_relation(settings: Settings, *, window: bool = True, accounts: int = 0) -> str:
    """The logical `vpcflow` as Trino SQL: `"db"."table"` for text-daily; else a parenthesised SELECT of the
    logical columns, with the layout's partition predicate when `window` (a view, which binds no values,
    leaves it out: a query on the view prunes through its own predicates). With an injected account
    projection the window also names `accounts` accounts (`account_predicate`). No alias: the caller names
    it."""
    layout = settings.flow_layout
    if settings.athena_adopt_table:
        return adopted_relation(settings, window=window, accounts=accounts)
    if is_the_table(settings):
        return physical_table(settings)
    if layout.file_format == "ocsf":
        return _security_lake_relation(settings, window=window)
    items = [*column_mapping(settings), *logical_partitions(layout)]
    select = ",\n       ".join(
        value if value == _quoted(name) else f"{value} AS {name}" for name, value in items
    )
    conditions = [window_predicate(layout)] if window else []
    if window and settings.account_projection == "injected":
        conditions.append(account_predicate(accounts))
    predicate = " AND ".join(c for c in conditions if c) or None
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


ADOPTED_ATHENA_TYPES = {
    "tinyint": "tinyint", "smallint": "smallint", "int": "integer", "integer": "integer", "bigint": "bigint",
    "string": "varchar", "varchar": "varchar",
}  # fmt: skip
"""An adopted column's Hive type (FLOWBOT_ATHENA_ADOPTED_COLUMNS) as the Athena type it reads as."""


@dataclass(frozen=True)
class AdoptedTable:
    """FLOWBOT_ATHENA_ADOPTED_COLUMNS and FLOWBOT_ATHENA_ADOPTED_PARTITIONS, read (bot/settings.py checked
    every entry): the table's flow-log columns (column, logical column, Hive type when not Flowbot's) in its
    order, and its partition keys (key, role) in its order."""

    columns: tuple[tuple[str, str, str | None], ...]
    keys: tuple[tuple[str, str], ...]

    @property
    def roles(self) -> dict[str, str]:
        """Partition key by role (`{"region": "aws-region", ...}`)."""
        return {role: key for key, role in self.keys}


def adopted_table(settings: Settings) -> AdoptedTable:
    """The adopted table as the settings describe it (`flowbot athena adopt` prints them)."""
    if not (settings.athena_adopted_columns and settings.athena_adopted_partitions):
        raise MissingSettingError(
            "the adopted flow-log table needs FLOWBOT_ATHENA_ADOPTED_COLUMNS and "
            "FLOWBOT_ATHENA_ADOPTED_PARTITIONS: run `flowbot athena adopt` and set what it prints"
        )
    return AdoptedTable(
        tuple(adopted_column(entry) for entry in settings.athena_adopted_columns),
        tuple(adopted_partition(entry) for entry in settings.athena_adopted_partitions),
    )


def adopted_columns(table: AdoptedTable) -> list[tuple[str, str]]:
    """(logical column, expression of the adopted table's column): cast where the table's type is not the
    logical one (`CAST("protocol" AS integer)`); text read as a number with TRY_CAST, which makes `-` (a
    field a record lacks) NULL as a numeric column of a text table does."""
    out = []
    for column, logical, kind in table.columns:
        wanted = BY_HEADER[COLUMN_HEADERS[logical]].athena_type
        have = ADOPTED_ATHENA_TYPES[kind] if kind else wanted
        value = _quoted(column)
        if have != wanted:
            value = f"{'TRY_CAST' if have == 'varchar' else 'CAST'}({value} AS {wanted})"
        out.append((logical, value))
    return out


def adopted_day(roles: dict[str, str]) -> str:
    """The logical `date_partition` ('yyyy/MM/dd') from the adopted table's day key or keys."""
    if "year" in roles:
        return _joined(roles["year"], roles["month"], roles["day"])
    if "date-slashes" in roles:
        return _quoted(roles["date-slashes"])
    if "date-dashes" in roles:
        return f"replace({_quoted(roles['date-dashes'])}, '-', '/')"
    return f"replace(CAST({_quoted(roles['date'])} AS varchar), '-', '/')"  # a date reads as yyyy-MM-dd


def _only(values: tuple[str, ...], setting: str) -> str:
    """The one configured account or region standing for a table that holds one's logs (bot/settings.py
    checked it is one, and a 12-digit account ID or a region name: safe inside a string literal)."""
    if len(values) != 1:
        raise MissingSettingError(f"the adopted table has no such key: set exactly one {setting}")
    return f"'{values[0]}'"


def adopted_partitions(settings: Settings, roles: dict[str, str]) -> list[tuple[str, str]]:
    """(logical partition column, expression of the adopted table's keys); a table without an account (or
    region) key holds one account's (region's) logs: the one of FLOWBOT_ACCOUNTS (FLOWBOT_REGIONS)."""
    out = [(DATE_PARTITION, adopted_day(roles))]
    for logical, role, configured, setting in (
        (REGION_PARTITION, "region", settings.regions, "FLOWBOT_REGIONS"),
        (ACCOUNT_PARTITION, "account", settings.accounts, "FLOWBOT_ACCOUNTS"),
    ):
        out.append((logical, _quoted(roles[role]) if role in roles else _only(configured, setting)))
    if "hour" in roles:
        out.append((HOUR_PARTITION, _quoted(roles["hour"])))
    return out


def adopted_window(roles: dict[str, str]) -> str:
    """The adopted table's partition predicate, on its own keys: a plain one-column range on the day key
    (its own text or type: `"date" BETWEEN CAST(replace(:first_day, '/', '-') AS date) AND ...`, a constant
    bound Athena folds before it prunes), or on each of Hive's year, month and day strings beside their
    joined day; with an hour key, the hour's range beside the joined hour, as Flowbot's own layouts do."""
    day = adopted_day(roles)
    if "year" in roles:
        year, month, mday = (_quoted(roles[r]) for r in ("year", "month", "day"))
        conditions = [
            f"{year} BETWEEN :first_year AND :last_year",
            f"{month} BETWEEN :first_month AND :last_month",
            f"{mday} BETWEEN :first_mday AND :last_mday",
        ]
    elif "date-slashes" in roles:
        conditions = [f"{day} BETWEEN :first_day AND :last_day"]
    elif "date-dashes" in roles:
        key = _quoted(roles["date-dashes"])
        conditions = [f"{key} BETWEEN replace(:first_day, '/', '-') AND replace(:last_day, '/', '-')"]
    else:
        key, bound = _quoted(roles["date"]), "CAST(replace(:{}_day, '/', '-') AS date)"
        conditions = [f"{key} BETWEEN {bound.format('first')} AND {bound.format('last')}"]
    if "hour" in roles:
        hour = _quoted(roles["hour"])
        conditions += [
            f"{hour} BETWEEN :first_hh AND :last_hh",
            f"concat({day}, '/', {hour}) BETWEEN :first_hour AND :last_hour",
        ]
    elif "year" in roles:
        conditions.append(f"{day} BETWEEN :first_day AND :last_day")
    return " AND ".join(conditions)


def adopted_relation(settings: Settings, *, window: bool, accounts: int = 0) -> str:
    """An adopted table (FLOWBOT_ATHENA_ADOPT_TABLE) as the logical `vpcflow`: `(SELECT <mapping> FROM
    "db"."table" WHERE <its partition predicate>)`, the predicate on the table's own keys only, so that
    Athena prunes its partitions, projected or kept in Glue. An injected account key is named as Flowbot's
    own is (`account_predicate`)."""
    table = adopted_table(settings)
    roles = table.roles
    items = [*adopted_columns(table), *adopted_partitions(settings, roles)]
    select = ",\n       ".join(
        value if value == _quoted(name) else f"{value} AS {name}" for name, value in items
    )
    conditions = [adopted_window(roles)] if window else []
    if window and settings.account_projection == "injected" and "account" in roles:
        holes = ", ".join(f":{SCOPE_ACCOUNT.format(i)}" for i in range(accounts))
        conditions.append(f"{_quoted(roles['account'])} IN ({holes})")
    where = f"\n WHERE {' AND '.join(conditions)}" if conditions else ""
    # Validated identifiers, constants and validated settings only; values stay named placeholders.
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
