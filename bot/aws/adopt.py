"""Adopting a flow-log table that already exists: read it from Glue, decide how Flowbot reads it, print the
settings that say so, and tell when the table no longer matches them.

Teams often have a flow-log table already: the one the VPC console's "Generate Athena integration" makes (EC2
GetFlowLogsIntegrationTemplate: a CloudFormation stack with "a table in Athena that maps fields to a custom
log format" and "a Lambda function that updates the table with new partitions"), or one made from AWS's
documentation (Amazon Athena User Guide, "Create a table for Amazon VPC flow logs and query it", "Create
tables for flow logs in Apache Parquet format", and their partition projection variants). With
FLOWBOT_ATHENA_ADOPT_TABLE, Flowbot reads that table (FLOWBOT_ATHENA_FLOW_DATABASE.FLOWBOT_ATHENA_TABLE)
and never creates or changes it.

What is read (GetTable; GetPartitions, one page, only to see how a text day key writes its days):
- the SerDe: text (LazySimpleSerDe: `ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '`) or Parquet
  (ParquetHiveSerDe); any other is refused;
- the columns, by AWS's names (`srcaddr`, `account_id`, `log_status`: the DDLs of the Athena User Guide) or
  the playbook's (`sourceaddress`, `account`, `logstatus`). Athena reads a text table's columns by position,
  so its column list IS the log format, and a column Flowbot does not know is refused; it reads a Parquet
  table's by name, so an unknown column is left out;
- the partition keys, each given one role (bot/settings.py PARTITION_ROLES) by its name and type:
  - the account: `aws-account-id` (AWS's Hive prefixes), `accid` (AWS's projection example),
    `account_partition` (Flowbot's and the playbook's), `account`, `account_id`, `accountid`;
  - the region: `aws-region`, `region`, `region_partition`; the service, `aws-service`, is not read;
  - the day: Hive's `year`, `month` and `day` strings (or Flowbot's `year_partition`, ...), or one key
    `date`, `dt`, `day` or `date_partition` holding the whole day: a `date` (AWS's text DDL), or text
    'yyyy/MM/dd' or 'yyyy-MM-dd' (the projection's `format` says which, or else a partition's value);
  - the hour (`hour`, `hour_partition`), strings 'HH';
  any other key is refused by name, so is a table without a day. A table without an account (or region)
  key holds one account's (region's) logs: the one of FLOWBOT_ACCOUNTS (FLOWBOT_REGIONS), or the one its
  location names (`.../AWSLogs/<account>/vpcflowlogs/<region>/`); an enum projection of the account (or
  region) key lists the accounts (regions) to set;
- the projection (`projection.enabled`, `projection.<key>.type`): an `injected` account key is read as
  Flowbot's own (FLOWBOT_ACCOUNT_PROJECTION=injected); any other injected key is refused.

The result is printed as settings (FLOWBOT_ATHENA_ADOPTED_COLUMNS and _PARTITIONS, with the log format and
layout they imply), so that queries need no Glue call: bot/query/sources.py writes the relation from them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError

from bot.aws.ddl import HIVE_TYPES, PARQUET_SERDE
from bot.flowlog_format import BY_HEADER, FIELDS
from bot.flowlog_layouts import Layout, parquet_column
from bot.identifiers import ACCOUNT_ID, REGION
from bot.query.sources import adopted_table
from bot.settings import (
    ADOPTED_TYPES,
    BUCKET,
    DAY_ROLES,
    PREFIX,
    Settings,
    adopted_partition,
)

LAZY_SIMPLE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
"""What Athena's `ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '` stands for."""

FIELD_BY_NAME: dict[str, str] = {
    **{parquet_column(f.header): f.header for f in FIELDS},
    **{f.column: f.header for f in FIELDS},
}
"""A flow-log field by a table's column name: AWS's (`srcaddr`, `account_id`) or the playbook's
(`account`)."""

KEY_ROLES: dict[str, str] = {
    **dict.fromkeys(("account_partition", "aws-account-id", "accid", "account", "account_id", "accountid"),
                    "account"),
    **dict.fromkeys(("region_partition", "aws-region", "region"), "region"),
    "aws-service": "service",
    **dict.fromkeys(("year_partition", "year"), "year"),
    **dict.fromkeys(("month_partition", "month"), "month"),
    **dict.fromkeys(("hour_partition", "hour"), "hour"),
    "day_partition": "day",
}  # fmt: skip
"""A partition key's role by its name; `day` is the day of the month beside `year` and `month` keys, and
the whole day otherwise (as `date`, `dt` and `date_partition` are)."""
DATE_KEYS = ("date_partition", "date", "dt", "day")
DAY_FORMATS = {"yyyy/MM/dd": "date-slashes", "yyyy-MM-dd": "date-dashes"}
DAY_VALUES = {
    "date-slashes": re.compile(r"\d{4}/\d{2}/\d{2}"),
    "date-dashes": re.compile(r"\d{4}-\d{2}-\d{2}"),
}
DAY_FORMS = {"date": "a date", "date-slashes": "'yyyy/MM/dd' text", "date-dashes": "'yyyy-MM-dd' text"}
TEXT_TYPES = ("string", "varchar")
KNOWN_KEYS = (
    "an account key (aws-account-id, accid, account_partition), a region key (aws-region, region, "
    "region_partition), the day as Hive year, month and day strings or as one key (date, dt, day, "
    "date_partition: a date, or 'yyyy/MM/dd' or 'yyyy-MM-dd' text), and an optional hour"
)
LOGS_FOLDER = re.compile(r"s3://([^/]+)/(?:(.*?)/)?AWSLogs/(?:(\d{12})/vpcflowlogs/(?:([a-z0-9-]+)/?)?)?")
"""A flow-log location: the bucket, the prefix before AWSLogs/, and (one account's and region's table, as
AWS's text DDL points at) the account and region."""
DaySample = Callable[[str], list[str]]


class AdoptError(Exception):
    """A table Flowbot cannot adopt, or cannot find: one line saying why."""


def hive_type(kind: str) -> str:
    """A Glue column type in the one spelling compared: `integer` is `int`, `varchar(n)` is `string`."""
    kind = kind.strip().lower()
    if kind == "integer":
        return "int"
    if kind == "varchar" or kind.startswith(("varchar(", "char(")):
        return "string"
    return kind


@dataclass(frozen=True)
class Adoption:
    """How Flowbot reads an existing flow-log table: its columns and keys, and what the settings then are."""

    database: str
    name: str
    file_format: Literal["text", "parquet"]
    columns: tuple[tuple[str, str, str], ...]
    """(column, logical column, its Hive type) in the table's order."""
    keys: tuple[tuple[str, str], ...]
    """(key, role) in the table's order."""
    key_types: tuple[str, ...]
    projected: bool
    location: str
    constants: Mapping[str, str] = field(default_factory=dict)
    """The account or region a table without that key holds, by role."""
    left_out: tuple[str, ...] = ()
    injected_account: bool = False
    skips_header: bool = True
    enumerated: Mapping[str, str] = field(default_factory=dict)
    """The accounts or regions an enum projection of the account or region key lists, by role."""

    @property
    def where(self) -> str:
        return f"table {self.database}.{self.name}"

    def column_entries(self) -> tuple[str, ...]:
        """FLOWBOT_ATHENA_ADOPTED_COLUMNS: `column:logical`, `:type` added where the table's is not ours."""
        out = []
        for column, logical, kind in self.columns:
            own = HIVE_TYPES[BY_HEADER[FIELD_BY_NAME[logical]].athena_type]
            out.append(f"{column}:{logical}" if kind == own else f"{column}:{logical}:{kind}")
        return tuple(out)

    def key_entries(self) -> tuple[str, ...]:
        """FLOWBOT_ATHENA_ADOPTED_PARTITIONS: `key:role`, in the table's order."""
        return tuple(f"{key}:{role}" for key, role in self.keys)

    @property
    def log_format(self) -> str:
        """The fields the table holds, as FLOWBOT_LOG_FORMAT (a text table's: the log format itself)."""
        return " ".join(f"${{{FIELD_BY_NAME[logical]}}}" for _, logical, _ in self.columns)

    @property
    def layout(self) -> Layout:
        """The layout the keys and location show: Hive prefixes (`aws-account-id=...` folders), hourly."""
        roles = {role for _, role in self.keys}
        hive = any(key in ("aws-account-id", "year_partition") for key, _ in self.keys) or (
            "/aws-account-id=" in self.location
        )
        return Layout(self.file_format, hive, "hour" in roles)

    def settings(self) -> list[tuple[str, str]]:
        """The settings that read the table, in the order an env file would list them."""
        pairs = [
            ("FLOWBOT_ATHENA_ADOPT_TABLE", "true"),
            ("FLOWBOT_ATHENA_FLOW_DATABASE", self.database),
            ("FLOWBOT_ATHENA_TABLE", self.name),
            ("FLOWBOT_LAYOUT", self.layout.name),
            ("FLOWBOT_LOG_FORMAT", self.log_format),
            ("FLOWBOT_ATHENA_ADOPTED_COLUMNS", ",".join(self.column_entries())),
            ("FLOWBOT_ATHENA_ADOPTED_PARTITIONS", ",".join(self.key_entries())),
        ]
        if self.injected_account:
            pairs.append(("FLOWBOT_ACCOUNT_PROJECTION", "injected"))
        for role, setting in (("account", "FLOWBOT_ACCOUNTS"), ("region", "FLOWBOT_REGIONS")):
            listed = self.constants.get(role) or self.enumerated.get(role)
            if listed:
                pairs.append((setting, listed))
        found = LOGS_FOLDER.match(self.location)
        if found and BUCKET.fullmatch(found.group(1)) and PREFIX.fullmatch(found.group(2) or ""):
            pairs.append(("FLOWBOT_FLOW_LOGS_BUCKET", found.group(1)))
            if found.group(2):
                pairs.append(("FLOWBOT_FLOW_LOGS_PREFIX", found.group(2)))
        return pairs


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) == "EntityNotFoundException"


def read_table(glue: Any, settings: Settings) -> Mapping[str, Any]:
    """GetTable of the table to adopt; a missing one is an AdoptError naming the settings."""
    database, name = settings.flow_database, settings.athena_table
    try:
        table: Mapping[str, Any] = glue.get_table(DatabaseName=database, Name=name)["Table"]
    except ClientError as exc:
        if _missing(exc):
            raise AdoptError(
                f"table {database}.{name} does not exist: point FLOWBOT_ATHENA_FLOW_DATABASE and "
                "FLOWBOT_ATHENA_TABLE at the flow-log table to adopt"
            ) from None
        raise
    return table


def partition_sample(glue: Any, settings: Settings, keys: list[str]) -> DaySample:
    """A key's values in the table's first page of Glue partitions (one GetPartitions call, made the first
    time a value is asked for)."""
    pages: list[list[list[str]]] = []

    def values(key: str) -> list[str]:
        if not pages:
            found = glue.get_partitions(
                DatabaseName=settings.flow_database, TableName=settings.athena_table, MaxResults=25
            )
            pages.append([list(p.get("Values") or []) for p in found.get("Partitions") or []])
        at = keys.index(key)
        return [row[at] for row in pages[0] if len(row) > at]

    return values


def _file_format(where: str, table: Mapping[str, Any]) -> Literal["text", "parquet"]:
    serde = (table.get("StorageDescriptor") or {}).get("SerdeInfo") or {}
    library = str(serde.get("SerializationLibrary") or "")
    if library == PARQUET_SERDE:
        return "parquet"
    if library != LAZY_SIMPLE:
        raise AdoptError(
            f"{where}: its SerDe is {library or 'not set'}; Flowbot adopts flow-log tables of text "
            f"(LazySimpleSerDe: ROW FORMAT DELIMITED FIELDS TERMINATED BY ' ') or Parquet (ParquetHiveSerDe)"
        )
    delimiter = (serde.get("Parameters") or {}).get("field.delim", " ")
    if delimiter != " ":
        raise AdoptError(f"{where}: its fields are split by {delimiter!r}; flow-log text is split by spaces")
    return "text"


def _columns(
    where: str, table: Mapping[str, Any], text: bool
) -> tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]]:
    """(column, logical column, Hive type) of the flow-log columns, and the Parquet columns left out."""
    kept: list[tuple[str, str, str]] = []
    left_out: list[str] = []
    held: dict[str, str] = {}
    listed = (table.get("StorageDescriptor") or {}).get("Columns") or []
    for position, column in enumerate(listed, start=1):
        name, kind = str(column["Name"]).lower(), hive_type(str(column.get("Type", "")))
        header = FIELD_BY_NAME.get(name)
        if header is None:
            if text:
                raise AdoptError(
                    f"{where}: column {name} (position {position}) is not a flow-log field by AWS's "
                    "names (srcaddr, account_id, ...) or the playbook's (sourceaddress, account, ...); a "
                    "text table reads the fields by position, so every column must be one"
                )
            left_out.append(name)
            continue
        if header in held:
            raise AdoptError(f"{where}: columns {held[header]} and {name} both hold the field {header}")
        if kind not in ADOPTED_TYPES:
            raise AdoptError(
                f"{where}: column {name} is {kind or 'untyped'}; Flowbot reads a flow-log field from "
                f"{', '.join(t for t in ADOPTED_TYPES if t not in ('integer', 'varchar'))}"
            )
        held[header] = name
        kept.append((name, BY_HEADER[header].column, kind))
    if not kept:
        raise AdoptError(f"{where}: no column is a flow-log field (by AWS's names or the playbook's)")
    return tuple(kept), tuple(left_out)


def _day_role(
    where: str, key: str, kind: str, params: Mapping[str, str], sample: DaySample, hint: str | None
) -> str:
    """A whole-day key's role: `date` for a date; for text, the format its projection or its partitions
    show (the settings' own role when the table has no partition to show one)."""
    if kind == "date":
        return "date"
    if kind not in TEXT_TYPES:
        raise AdoptError(f"{where}: partition key {key} is {kind}; a day key is a date or text")
    if params.get(f"projection.{key}.type") == "date":
        written = params.get(f"projection.{key}.format", "")
        if written in DAY_FORMATS:
            return DAY_FORMATS[written]
        reason = f"its projection's format is {written or 'not set'}"
    else:
        values = sample(key)
        roles = {role for role, pattern in DAY_VALUES.items() for v in values if pattern.fullmatch(v)}
        if len(roles) == 1 and all(any(p.fullmatch(v) for p in DAY_VALUES.values()) for v in values):
            return roles.pop()
        if not values and hint in ("date-slashes", "date-dashes"):
            return hint
        reason = (
            f"its partitions hold values like {values[0]!r}"
            if values
            else "it is not projected and has no partition yet"
        )
    raise AdoptError(
        f"{where}: cannot tell how partition key {key} writes a day ({reason}); Flowbot reads 'yyyy/MM/dd' "
        "and 'yyyy-MM-dd' text, or a date"
    )


def _keys(
    where: str, table: Mapping[str, Any], sample: DaySample, hints: Mapping[str, str]
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...], bool]:
    """(key, role) of every partition key, their types, and whether the account key is injected."""
    listed = [
        (str(k["Name"]).lower(), hive_type(str(k.get("Type", "")))) for k in table.get("PartitionKeys") or []
    ]
    params = {str(k): str(v) for k, v in (table.get("Parameters") or {}).items()}
    names = [name for name, _ in listed]
    described = ", ".join(f"{name} ({kind})" for name, kind in listed) or "none"
    unknown = [n for n in names if n not in KEY_ROLES and n not in DATE_KEYS]
    if unknown:
        raise AdoptError(
            f"{where}: partition keys {described}: Flowbot does not know {', '.join(unknown)}; it reads "
            f"{KNOWN_KEYS}"
        )
    split_day = {"year", "month"} <= {KEY_ROLES.get(n) for n in names}
    keys: list[tuple[str, str]] = []
    for name, kind in listed:
        role = KEY_ROLES.get(name) or ("day" if split_day and name == "day" else None)
        if role is None:  # a whole day: date, dt, date_partition, or day without year and month keys
            role = _day_role(where, name, kind, params, sample, hints.get(name))
        elif kind not in TEXT_TYPES:
            raise AdoptError(
                f"{where}: partition key {name} is {kind}; Flowbot reads {role} keys as strings, as AWS's "
                "DDLs declare them"
            )
        keys.append((name, role))
    roles = [role for _, role in keys]
    for role in set(roles):
        holders = [name for name, r in keys if r == role]
        if len(holders) > 1:
            raise AdoptError(f"{where}: partition keys {' and '.join(holders)} both hold the {role}")
    split = [r for r in roles if r in ("year", "month", "day")]
    whole = [r for r in roles if r in DAY_ROLES]
    if not ((len(split) == 3 and not whole) or (not split and len(whole) == 1)):
        raise AdoptError(
            f"{where}: partition keys {described} hold no whole day; Flowbot bounds every query by its days "
            f"and reads {KNOWN_KEYS}"
        )
    injected = False
    for name, role in keys:
        if params.get(f"projection.{name}.type") == "injected":
            if role != "account":
                raise AdoptError(
                    f"{where}: partition key {name} is projected as `injected`, which needs an equality on "
                    "it in every query; Flowbot names only accounts so (FLOWBOT_ACCOUNT_PROJECTION=injected)"
                )
            injected = True
    return tuple(keys), tuple(kind for _, kind in listed), injected


def _constants(where: str, roles: set[str], location: str, settings: Settings) -> dict[str, str]:
    """The account and region of a table without such a key: the one configured, else the location's."""
    found = LOGS_FOLDER.match(location)
    out = {}
    for role, configured, pattern, group, setting in (
        ("account", settings.accounts, ACCOUNT_ID, 3, "FLOWBOT_ACCOUNTS"),
        ("region", settings.regions, REGION, 4, "FLOWBOT_REGIONS"),
    ):
        if role in roles or len(configured) == 1:
            continue
        named = found.group(group) if found else None
        if named and pattern.fullmatch(named):
            out[role] = named
            continue
        raise AdoptError(
            f"{where} has no {role} key, so it holds one {role}'s logs: set {setting} to that one {role} "
            f"(it lists {len(configured)})"
        )
    return out


def _enumerated(keys: tuple[tuple[str, str], ...], params: Mapping[str, Any]) -> dict[str, str]:
    """The accounts and regions the enum projections of those keys list (FLOWBOT_ACCOUNTS and
    FLOWBOT_REGIONS, which estimates and an injected projection's queries use), when every value is one."""
    out = {}
    for key, role in keys:
        pattern = {"account": ACCOUNT_ID, "region": REGION}.get(role)
        values = str(params.get(f"projection.{key}.values", "")).split(",")
        if (
            pattern
            and params.get(f"projection.{key}.type") == "enum"
            and all(pattern.fullmatch(v) for v in values)
        ):
            out[role] = ",".join(values)
    return out


def decide(table: Mapping[str, Any], settings: Settings, sample: DaySample = lambda _: []) -> Adoption:
    """How Flowbot reads the table GetTable described (module docstring); AdoptError says why it cannot."""
    database, name = settings.flow_database, settings.athena_table
    where = f"table {database}.{name}"
    file_format = _file_format(where, table)
    columns, left_out = _columns(where, table, file_format == "text")
    hints = dict(adopted_partition(entry) for entry in settings.athena_adopted_partitions)
    keys, key_types, injected = _keys(where, table, sample, hints)
    location = str((table.get("StorageDescriptor") or {}).get("Location") or "")
    params = table.get("Parameters") or {}
    return Adoption(
        database,
        name,
        file_format,
        columns,
        keys,
        key_types,
        str(params.get("projection.enabled", "")).lower() == "true",
        location,
        _constants(where, {role for _, role in keys}, location, settings),
        left_out,
        injected,
        file_format == "parquet" or str(params.get("skip.header.line.count", "0")) != "0",
        _enumerated(keys, params),
    )


def adopt(glue: Any, settings: Settings) -> Adoption:
    """Read the table FLOWBOT_ATHENA_FLOW_DATABASE.FLOWBOT_ATHENA_TABLE from Glue; decide how to read it."""
    table = read_table(glue, settings)
    keys = [str(k["Name"]).lower() for k in table.get("PartitionKeys") or []]
    return decide(table, settings, partition_sample(glue, settings, keys))


def _partition_line(adoption: Adoption, logical: str, role: str) -> str:
    roles = {r: k for k, r in adoption.keys}
    if role in roles:
        return f"# {logical}: key {roles[role]}"
    if role in adoption.constants:
        named = adoption.constants[role]
        return f"# {logical}: {named}, the one its location names (the table has no {role} key)"
    return f"# {logical}: the one of FLOWBOT_{role.upper()}S (the table has no {role} key)"


def adoption_lines(adoption: Adoption) -> list[str]:
    """What `flowbot athena adopt` prints: what the table is, as `#` comments, then the settings (`NAME=value`
    lines a shell or an env file takes as they are)."""
    kind = "text (LazySimpleSerDe)" if adoption.file_format == "text" else "Parquet (ParquetHiveSerDe)"
    keys = ", ".join(
        f"{key} ({kind})" for (key, _), kind in zip(adoption.keys, adoption.key_types, strict=True)
    )
    partitions = (
        "projected"
        if adoption.projected
        else "kept in Glue (Athena prunes them by the predicates on their keys; someone must add new ones)"
    )
    roles = {role: key for key, role in adoption.keys}
    day = (
        f"keys {roles['year']}, {roles['month']} and {roles['day']}"
        if "year" in roles
        else next(f"key {key} ({DAY_FORMS[role]})" for key, role in adoption.keys if role in DAY_ROLES)
    )
    lines = [
        f"# {adoption.where}: {kind}, {len(adoption.columns)} flow-log columns, partition keys {keys}",
        f"# partitions: {partitions}",
        f"# date_partition: {day}" + (f"; hour_partition: key {roles['hour']}" if "hour" in roles else ""),
        _partition_line(adoption, "region_partition", "region"),
        _partition_line(adoption, "account_partition", "account"),
    ]
    if adoption.file_format == "text":
        lines.append("# a text table's columns are its fields, in order: FLOWBOT_LOG_FORMAT is its format")
    if adoption.left_out:
        left_out = ", ".join(adoption.left_out)
        lines.append(f"# left out (not flow-log fields; Parquet columns are read by name): {left_out}")
    if adoption.injected_account:
        lines.append("# the account key is projected as `injected`: every query names its accounts")
    if not adoption.skips_header:
        lines.append(
            "# note: the table does not skip each file's header line (skip.header.line.count), so it reads "
            "that line as a record of field names"
        )
    lines.append("# settings:")
    return lines + [f"{name}={shlex.quote(value)}" for name, value in adoption.settings()]


def mismatches(found: Adoption, settings: Settings) -> list[str]:
    """How the table as it is now differs from what the settings say of it (empty: they agree)."""
    if not (settings.athena_adopted_columns and settings.athena_adopted_partitions):
        return ["FLOWBOT_ATHENA_ADOPTED_COLUMNS and FLOWBOT_ATHENA_ADOPTED_PARTITIONS are not set"]
    said = adopted_table(settings)
    out = []
    if found.file_format != settings.flow_layout.file_format:
        out.append(f"the table is {found.file_format}; FLOWBOT_LAYOUT={settings.layout} is not")
    have = {column: (logical, kind) for column, logical, kind in found.columns}
    for column, logical, kind in said.columns:
        wanted = hive_type(kind) if kind else HIVE_TYPES[BY_HEADER[FIELD_BY_NAME[logical]].athena_type]
        if column not in have:
            out.append(f"column {column} ({logical}) is gone")
        elif have[column][0] != logical:
            out.append(f"column {column} holds {have[column][0]}, not {logical}")
        elif have[column][1] != wanted:
            table_type = have[column][1]
            out.append(
                f"column {column}: {table_type} in the table, {wanted} in FLOWBOT_ATHENA_ADOPTED_COLUMNS"
            )
    if found.file_format == "text":
        said_names = [column for column, _, _ in said.columns]
        found_names = [column for column, _, _ in found.columns]
        added = [c for c in found_names if c not in said_names]
        if added:
            out.append(f"new columns: {', '.join(added)}")
        common = [c for c in found_names if c in said_names]
        if common != [c for c in said_names if c in found_names]:
            order = ", ".join(common)
            out.append(f"column order: the table has {order} (a text table's columns are read by position)")
    if found.key_entries() != tuple(settings.athena_adopted_partitions):
        keys, said_keys = ",".join(found.key_entries()), ",".join(settings.athena_adopted_partitions)
        out.append(f"partition keys: the table has {keys}; FLOWBOT_ATHENA_ADOPTED_PARTITIONS has {said_keys}")
    if found.injected_account and settings.account_projection != "injected":
        out.append("the account key is projected as `injected`: set FLOWBOT_ACCOUNT_PROJECTION=injected")
    return out


ADOPT_AGAIN = "run `flowbot athena adopt` and set what it prints"


def adopted_problems(glue: Any, settings: Settings) -> list[str]:
    """`flowbot check`'s line for the adopted table (empty: it is there and the settings read it as it is)."""
    try:
        found = adopt(glue, settings)
    except AdoptError as exc:
        return [str(exc)]
    lines = mismatches(found, settings)
    if not lines:
        return []
    return [f"{found.where} (adopted) does not match the settings ({'; '.join(lines)}); {ADOPT_AGAIN}"]


def adoption_report(glue: Any, settings: Settings) -> tuple[list[str], int]:
    """`flowbot athena setup`'s lines for the adopted table, and 1 when the settings do not read it yet."""
    try:
        found = adopt(glue, settings)
    except AdoptError as exc:
        return [str(exc)], 1
    lines = mismatches(found, settings)
    if not lines:
        return [f"{found.where} (adopted) matches FLOWBOT_ATHENA_ADOPTED_COLUMNS and _PARTITIONS"], 0
    unset = not (settings.athena_adopted_columns and settings.athena_adopted_partitions)
    head = (
        [f"{found.where} (adopted): Flowbot reads it with these settings (set them, then run setup again):"]
        if unset
        else [f"{found.where} (adopted) does not match the settings:", *(f"  {line}" for line in lines)]
    )
    return [*head, *adoption_lines(found)], 1
