"""The query catalogue: `query_templates/*.sql` plus their `*.toml` specs, loaded into frozen models.

A template is data. Loading it checks the spec: its one-sentence `finding` names only its columns, its
parameters and `rows`, and its summary columns are among its columns. Its SQL is checked by a SQL parser in
bot/query/sql_checks.py, which every worker runs at start-up (and the tests run), so that a bad template stops
start-up instead of a responder's query; the Slack app, which only parses commands, loads no SQL parser.
What the app needs of the SQL (the parameters it binds, the flow-log fields it reads) is read here from its
words, and the check proves that reading equal to the parser's for every template. A spec lists its
columns as a `[[columns]]` array or names a preset of `_columns.toml` (`columns = "record"`), so that the
queries that list whole records share one definition of a record.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterator
from functools import cache, cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from bot.flowlog_format import FIELDS

FLOW_COLUMNS: frozenset[str] = frozenset(f.column for f in FIELDS)
TableName = Literal["vpcflow", "vpc_flow_logs"]
LOGICAL_TABLE: Final = "vpcflow"
"""The flow-log table's name in templates; engines point it at the real table or at local files."""
JSON_TABLE: Final = "vpc_flow_logs"
"""The playbook's JSON-serde table's name in templates."""
TABLE_OF_KIND: dict[str, TableName] = {"vpcflow": LOGICAL_TABLE, "json": JSON_TABLE}
"""`FLOWBOT_TABLE_KIND` → the table whose templates answer."""
IOC_TABLE: Final = "incident_iocs"
"""The playbook's IOC table's name in templates (columns `threat_ip`, `threat_comment`, both varchar)."""
IOC_COLUMNS: tuple[tuple[str, str], ...] = (("threat_ip", "varchar"), ("threat_comment", "varchar"))
"""The IOC table's columns as Athena declares them (OpenCSVSerde: every column a string)."""
EXTRA_TABLES: dict[str, frozenset[str]] = {LOGICAL_TABLE: frozenset({IOC_TABLE}), JSON_TABLE: frozenset()}
"""Tables a template may read besides its own: hunts on `vpcflow` join the IOC table."""

SCOPE_PARAMS: frozenset[str] = frozenset(
    {"from_ts", "to_ts", "from_iso", "to_iso", "first_day", "last_day", "account", "region", "indicators"}
)
"""Values every request binds (`FlowRequest.bindings`) that narrow what a template reads; `indicators` is a
hunt's list of indicators, one string (`,a,b,`), for a retro-hunt of new ones."""
REQUIRED_SCOPE: dict[str, frozenset[str]] = {
    LOGICAL_TABLE: frozenset({"from_ts", "to_ts", "first_day", "last_day"}),
    JSON_TABLE: frozenset({"from_iso", "to_iso"}),  # the playbook's JSON table has no partitions
}
LIMIT_PARAM = "limit"
LITERAL_PARAMS: frozenset[str] = frozenset({LIMIT_PARAM})
"""Parameters Athena receives written into the SQL as integer literals, not as `?`: Athena takes `?` only
in a WHERE clause ("Use parameterized queries", Considerations and limitations,
https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html). Each is a
validated integer (`FlowRequest.limit`), so writing it in carries no user text into the SQL."""
ROWS_FIELD = "rows"
"""The one `finding` field that is neither a column nor a parameter: how many rows the answer has."""
PRESETS_FILE: Final = "_columns.toml"
"""The column presets, by name, in the templates' folder: lists that several specs would otherwise repeat."""

AthenaType = Literal["integer", "bigint", "smallint", "double", "varchar", "boolean", "timestamp", "date"]
ColumnKind = Literal["ip", "eni", "bytes", "count", "time", "epoch", "text", "number", "port"]
"""How a column is shown; `ip` and `eni` (a network interface id) columns are also named (bot/enrich/)."""


class TemplateError(ValueError):
    """A template or its spec is wrong; raised at load time, never at query time."""


class ParamSpec(BaseModel):
    """A positional parameter a user types after the command word (e.g. the IP of `ratio`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    type: Literal["ip"]
    help: str


class ColumnSpec(BaseModel):
    """An output column: its Athena type (what the engines must return) and how to show it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    type: AthenaType
    kind: ColumnKind = "text"
    label: str = Field("", description="Short heading for the phone summary; the name when empty.")

    @property
    def heading(self) -> str:
        """What the summary table shows above the column."""
        return self.label or self.name


class QueryTemplate(BaseModel):
    """One query of the catalogue: what it is called, what it binds, what it returns."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    table: TableName = LOGICAL_TABLE
    command: tuple[str, ...] = Field(min_length=1, description="Words that select it, e.g. ('top', 'src').")
    title: str
    description: str
    finding: str = Field(
        min_length=1,
        description="The answer in one sentence, from the first row: `{column}`, `{parameter}`, `{rows}`.",
    )
    example: str
    source: str
    params: tuple[ParamSpec, ...] = ()
    columns: tuple[ColumnSpec, ...]
    summary_columns: tuple[str, ...] = Field(min_length=1, max_length=4)
    default_limit: int | None = None
    sql: str

    @model_validator(mode="after")
    def _check(self) -> QueryTemplate:
        names = [c.name for c in self.columns]
        unknown = set(self.summary_columns) - set(names)
        if unknown:
            raise ValueError(f"summary_columns not among columns: {sorted(unknown)}")
        fields = finding_fields(self.finding)
        known = {*names, *(p.name for p in self.params), ROWS_FIELD}
        if fields - known:
            raise ValueError(
                f"finding names {sorted(fields - known)}, which are neither columns, parameters nor `rows`"
            )
        return self

    @cached_property
    def placeholders(self) -> frozenset[str]:
        """Every parameter name the SQL binds."""
        return frozenset(PLACEHOLDER.findall(sql_code(self.sql)))

    @cached_property
    def reads_iocs(self) -> bool:
        """Whether the SQL reads the IOC table (a hunt)."""
        return IOC_TABLE in WORD.findall(sql_code(self.sql))

    @property
    def uses_limit(self) -> bool:
        """Whether the SQL takes `:limit` (an aggregate like `count` does not)."""
        return LIMIT_PARAM in self.placeholders

    @cached_property
    def fields_used(self) -> frozenset[str]:
        """Flow-log columns the SQL reads: a log format without one of them cannot answer it."""
        words = PLACEHOLDER.sub(" ", ALIAS.sub(" ", sql_code(self.sql)))
        return frozenset(WORD.findall(words)) & FLOW_COLUMNS

    @property
    def usage(self) -> str:
        """The command as a user types it, e.g. `ratio <ip>`."""
        return " ".join([*self.command, *(f"<{p.name}>" for p in self.params)])


STRING_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|--[^\n]*")
PLACEHOLDER = re.compile(r"(?<![\w:]):([A-Za-z_]\w*)")
WORD = re.compile(r"[A-Za-z_]\w*")
ALIAS = re.compile(r"\bAS\s+[A-Za-z_]\w*", re.IGNORECASE)


def sql_code(sql: str) -> str:
    """The SQL without its comments, and its string literals emptied: what is left are its words."""
    return STRING_OR_COMMENT.sub(lambda m: "''" if m.group().startswith("'") else " ", sql)


def finding_fields(finding: str) -> frozenset[str]:
    """The `{field}`s of a finding sentence; a spec or conversion is refused, as cells format values."""
    try:
        parts = list(string.Formatter().parse(finding))
    except ValueError as exc:
        raise ValueError(f"finding is not a format string: {exc}") from exc
    fields = set()
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            written = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(f"finding fields are bare names like {{total_bytes}}, not {{{written}}}")
        fields.add(name)
    return frozenset(fields)


class Catalog:
    """All templates, looked up by name or by the words a user typed."""

    def __init__(self, templates: list[QueryTemplate]) -> None:
        self._by_name = {t.name: t for t in templates}
        self._by_command = {(t.table, t.command): t for t in templates}
        if len(self._by_name) != len(templates) or len(self._by_command) != len(templates):
            raise TemplateError("template names and command words must be unique")

    def __iter__(self) -> Iterator[QueryTemplate]:
        return iter(self._by_name.values())

    def __getitem__(self, name: str) -> QueryTemplate:
        return self._by_name[name]

    def for_table(self, table: TableName) -> list[QueryTemplate]:
        """The templates that read this table, i.e. the commands a deployment offers."""
        return [t for t in self if t.table == table]

    def match(self, words: list[str], table: TableName = LOGICAL_TABLE) -> tuple[QueryTemplate, int] | None:
        """The template whose command words start `words` (longest match) and how many words it took."""
        longest = max(len(command) for _, command in self._by_command)
        for size in range(min(len(words), longest), 0, -1):
            template = self._by_command.get((table, tuple(w.lower() for w in words[:size])))
            if template:
                return template, size
        return None

    def families(self, table: TableName = LOGICAL_TABLE) -> dict[str, list[QueryTemplate]]:
        """Templates grouped by first command word (`top` → top src, top dst)."""
        groups: dict[str, list[QueryTemplate]] = {}
        for template in self.for_table(table):
            groups.setdefault(template.command[0], []).append(template)
        return groups


@cache
def load_catalog() -> Catalog:
    """Load every template shipped in `query_templates/`, its spec checked (once per process); its SQL is
    checked by `bot.query.sql_checks.check_catalog` where queries run."""
    return read_catalog(resources.files("query_templates"))


def read_catalog(folder: Traversable) -> Catalog:
    """Load and validate every `<name>.toml` of a folder with its `<name>.sql`; tests bring their own."""
    presets = read_presets(folder)
    templates = []
    for spec_file in sorted(folder.iterdir(), key=lambda f: f.name):
        if not spec_file.name.endswith(".toml") or spec_file.name == PRESETS_FILE:
            continue
        name = spec_file.name.removesuffix(".toml")
        sql_file = folder / f"{name}.sql"
        try:
            spec = with_preset(tomllib.loads(spec_file.read_text(encoding="utf-8")), presets)
            templates.append(QueryTemplate(name=name, sql=sql_file.read_text(encoding="utf-8"), **spec))
        except (ValueError, FileNotFoundError) as exc:
            raise TemplateError(f"query_templates/{name}: {exc}") from exc
    if not templates:
        raise TemplateError("no templates found in query_templates/")
    return Catalog(templates)


PRESETS: TypeAdapter[dict[str, tuple[ColumnSpec, ...]]] = TypeAdapter(
    dict[str, tuple[ColumnSpec, ...]], config=ConfigDict(title="column presets")
)
"""`_columns.toml` read: a preset name to the columns it stands for."""


def read_presets(folder: Traversable) -> dict[str, tuple[ColumnSpec, ...]]:
    """The folder's column presets (none without `_columns.toml`), each checked even if no spec names it."""
    presets_file = folder / PRESETS_FILE
    if not presets_file.is_file():
        return {}
    try:
        return PRESETS.validate_python(tomllib.loads(presets_file.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise TemplateError(f"query_templates/{PRESETS_FILE}: {exc}") from exc


def with_preset(spec: dict[str, Any], presets: dict[str, tuple[ColumnSpec, ...]]) -> dict[str, Any]:
    """The spec with `columns = "<preset>"` replaced by that preset's columns; other specs as they are."""
    columns = spec.get("columns")
    if not isinstance(columns, str):
        return spec
    if columns not in presets:
        known = ", ".join(sorted(presets)) or f"none, as there is no {PRESETS_FILE}"
        raise ValueError(f"columns = {columns!r} is not a preset of {PRESETS_FILE}; known presets: {known}")
    return {**spec, "columns": presets[columns]}
