"""No SQL from user text anywhere: hostile strings in every place a user types a value.

A corpus of injection strings (`injection_corpus.txt`, plus very long ones made here) goes into every
template of both table kinds, at every position a user controls: each parameter and each option
(`--last`, `--from`, `--to`, `--account`, `--region`, `--limit`, as `--name value` and `--name=value`),
the `context …` values and the `ioc` values and comments. Each command is parsed by the real parser:
it is refused with one short line, or it yields a typed request whose values are validated.

Every accepted request (and benign ones, so that every template runs) then goes to the engines:
- Athena, on a botocore Stubber: the StartQueryExecution sent has the QueryString of the same template
  with a fixed benign request, byte for byte, and the values only in ExecutionParameters, each a
  Trino literal (text single-quoted, a quote inside doubled) that reads back as the request's value;
- local DuckDB, on the sample flow logs: what the connection executes is the benign request's SQL
  text, the values arriving only as bound parameters (IOC comments included).

The menu and button values (JSON that comes back from Slack) and a channel's stored context are
validated the same way, and hypothesis tries arbitrary text for `ratio`'s address, `--from`, whole
commands and IOC comments.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any, Literal

import boto3
import duckdb
import pytest
import sqlglot
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlglot import TokenType, exp

import query_templates
from bot.flowlog_format import ALL_HEADERS
from bot.iocs.commands import MAX_COMMENT, IocAdd, IocHistory, IocRemove
from bot.iocs.indicators import Indicator
from bot.iocs.store import Submission, one_line, read_table_row, table_key, table_row
from bot.parse.channel_context import ChannelContext, ContextRequest, ContextScope
from bot.parse.command import CancelRequest, HelpRequest, recheck
from bot.parse.in_channel import ChannelRequest, parse_in_channel
from bot.query.catalog import (
    LIMIT_PARAM,
    LITERAL_PARAMS,
    SCOPE_PARAMS,
    TABLE_OF_KIND,
    QueryTemplate,
    load_catalog,
)
from bot.query.engines.athena import AthenaEngine, sql_literal, to_athena
from bot.query.engines.base import RunControl
from bot.query.engines.local import LocalEngine, _split_lines, opencsv_fields
from bot.request import FlowRequest
from bot.settings import Settings
from bot.words import CommandError
from handlers.buttons import wider
from handlers.lookup import LookupChoice
from tests.conftest import SAMPLE_END

TableKind = Literal["vpcflow", "json"]
CATALOG = load_catalog()
NOW = SAMPLE_END
"""Queries are asked at the end of the sample data, so that the local engine's windows hold records."""
ACCOUNT = "012345678901"
REGION = "us-east-1"
BENIGN_IP = "10.0.1.25"
TOKEN = "0123456789abcdef0123456789abcdef"
ALL_FIELDS = " ".join(f"${{{header}}}" for header in ALL_HEADERS)
"""A log format with every field, so that no template is refused for a missing one."""
OPTIONS = ("last", "from", "to", "account", "region", "limit")

# What a validated value may hold: an address, a date, a time, an account, a region, digits.
SAFE_VALUE = re.compile(r"[0-9A-Za-z:./-]*")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")
DURATION = re.compile(r"[0-9]{1,6}(m|min|mins|h|hr|hrs|d|day|days|w)")
INDICATOR = re.compile(r"[0-9a-f:./]+")
TRINO_LITERAL = re.compile(r"'((?:[^']|'')*)'|(0|[1-9][0-9]*)", re.DOTALL)
"""An ExecutionParameter: a string literal (a quote inside doubled) or an integer."""
MAX_ERROR = 300
LONG_TEXT = 200
"""Errors quote the value that was wrong; for a text this long they are not yet shortened (see
test_an_error_quotes_a_very_long_value_shortened)."""


def _settings(kind: TableKind) -> Settings:
    return Settings(
        engine="athena",
        table_kind=kind,
        log_format=ALL_FIELDS,
        accounts=(),
        regions=(),
        athena_region=REGION,
        athena_database="flowbot",
        athena_table="vpcflow",
        athena_json_table="vpc_flow_logs",
        athena_ioc_table="incident_iocs",
        athena_workgroup="primary",
        athena_output_location="s3://flowbot-results/athena/",
        default_window="24h",
        max_window_days=90,
        default_limit=10_000,
        max_limit=1_000_000,
    )


SETTINGS: dict[TableKind, Settings] = {"vpcflow": _settings("vpcflow"), "json": _settings("json")}
KIND_OF_TABLE: dict[str, TableKind] = {TABLE_OF_KIND[kind]: kind for kind in SETTINGS}
TEMPLATES = sorted(CATALOG, key=lambda t: (t.table, t.name))


def settings_for(template: QueryTemplate) -> Settings:
    return SETTINGS[KIND_OF_TABLE[template.table]]


# --- the corpus ----------------------------------------------------------------------------------------


def load_corpus() -> tuple[str, ...]:
    """The corpus file's strings (escapes decoded), then the very long ones."""
    path = Path(__file__).with_name("injection_corpus.txt")
    written = [
        line.encode("ascii").decode("unicode_escape")
        for line in path.read_text(encoding="ascii").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    long = [
        "A" * 5000,
        "' OR 1=1 -- " * 400,
        "1" * 4000,
        "10.0.0.1" + "'" * 3000,
        "2600:" * 1000 + ":1",
        "\u2019" * 2000,
        "10[.]0[.]0[.]1" + "[.]" * 2000,
        "x" * 250 + "';DROP TABLE vpcflow;--",
    ]
    return tuple(dict.fromkeys([*written, *long]))


CORPUS = load_corpus()
SHORT_CORPUS = tuple(v for v in CORPUS if len(v) < 200)
BENIGN: dict[str, tuple[str, ...]] = {
    "ip": (
        BENIGN_IP,
        "2600:1f18::1",
        "10[.]0[.]1[.]25",
        "<http://10.0.1.25|10.0.1.25>",
        "hxxp://[2600:1f18::1]/",
        "'10.0.1.25'",
    ),
    "last": ("15m", "6h", "7d", "2w", "90d"),
    "from": ("2026-11-19T00:00", "2026-11-19T12:00:00Z", "2026-11-18", "2026-11-19T13:00+01:00"),
    "to": ("2026-11-19T12:00", "2026-11-19T23:59:59Z"),
    "account": (ACCOUNT, "111122223333"),
    "region": (REGION, "EU-WEST-2"),
    "limit": ("1", "1,000", "1_000_000"),
    "page": ("1", "2"),
}
"""Values the parser accepts, in the forms people type them, so that every position reaches an engine."""


def is_hostile(value: str) -> bool:
    """A corpus string with something a validated value never holds (quote, space, control, ...)."""
    return len(value) >= 3 and not SAFE_VALUE.fullmatch(value)


# --- where a user types a value -------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """One place a user types a value: the text before it and after it, and what it means."""

    name: str
    before: str
    after: str = ""
    kind: str = ""
    """Which benign values fit here (a key of BENIGN), or "" for none."""

    def text(self, value: str) -> str:
        return f"{self.before}{value}{self.after}"


def query_positions(template: QueryTemplate) -> list[Position]:
    """Each parameter, and each option in both spellings (`--name value`, `--name=value`)."""
    command = " ".join(template.command)
    addresses = [BENIGN_IP] * len(template.params)
    positions = []
    for i, spec in enumerate(template.params):
        before = " ".join([command, *addresses[:i]])
        after = "".join(f" {a}" for a in addresses[i + 1 :])
        positions.append(Position(f"<{spec.name}>", f"{before} ", after, spec.type))
    prefix = " ".join([command, *addresses])
    for option in OPTIONS:
        window = " --from 2026-11-19T00:00" if option == "to" else ""
        for joiner in (" ", "="):
            positions.append(
                Position(f"--{option}{joiner.strip()}", f"{prefix}{window} --{option}{joiner}", "", option)
            )
    return positions


CONTEXT_POSITIONS = [
    *(Position(f"context {n}", f"context {n} ", "", n) for n in ("account", "region", "last")),
    *(Position(f"context {n}=", f"context {n}=", "", n) for n in ("account", "region", "last")),
    Position("context from", "context from ", " to 2026-11-20T00:00", "from"),
    Position("context to", "context from 2026-11-18T00:00 to ", "", "to"),
]
IOC_POSITIONS = [
    Position("ioc add <ip>", "ioc add ", "", "ip"),
    Position("ioc add <ip> <ip>", "ioc add 203.0.113.7 ", "", "ip"),
    Position("ioc add … comment", "ioc add 203.0.113.7 ", " C2 beacon", "ip"),
    Position("ioc add … -- comment", "ioc add 203.0.113.7 -- ", "", "comment"),
    Position("ioc remove", "ioc remove ", "", "ip"),
    Position("ioc history", "ioc history ", "", "ip"),
    Position("ioc list", "ioc list ", "", "page"),
]


# --- what parsing may give ----------------------------------------------------------------------------


def parsed(text: str, settings: Settings, context: ChannelContext | None = None) -> ChannelRequest | None:
    """The parser's request, or None when it refused the text with a proper error."""
    try:
        return parse_in_channel(text, CATALOG, settings, NOW, context)
    except CommandError as exc:
        check_error(str(exc), short=len(text) < LONG_TEXT)
        return None


def check_error(message: str, *, short: bool = True) -> None:
    """A refusal is one line a responder can read, never a traceback; short unless the text was long."""
    assert message, "an empty error"
    assert len(message.splitlines()) == 1, f"not one line: {message[:200]!r}"
    assert "Traceback" not in message and 'File "' not in message, message[:200]
    if short:
        assert len(message) < MAX_ERROR, f"{len(message)} characters: {message[:120]!r}…"


def check_value_not_kept(value: str, fields: object) -> None:
    """A hostile string is not kept as it was typed in any field (the `text` echo aside)."""
    if not is_hostile(value):
        return
    if isinstance(fields, dict):
        for item in fields.values():
            check_value_not_kept(value, item)
    elif isinstance(fields, list | tuple):
        for item in fields:
            check_value_not_kept(value, item)
    elif isinstance(fields, str):
        assert value not in fields, f"{value!r} kept in {fields!r}"


def check_request(request: FlowRequest, template: QueryTemplate, settings: Settings, typed: str = "") -> None:
    """Every field of a query request is a validated value of its type."""
    assert request.query == template.name
    assert set(request.params) == {p.name for p in template.params}
    for address in request.params.values():
        assert isinstance(address, IPv4Address | IPv6Address)
        assert getattr(address, "scope_id", None) is None, f"an address with a zone: {address}"
    assert request.account is None or ACCOUNT_ID.fullmatch(request.account), request.account
    assert request.region is None or REGION_NAME.fullmatch(request.region), request.region
    assert type(request.limit) is int and 1 <= request.limit <= settings.max_limit
    assert request.window.end - request.window.start <= timedelta(days=settings.max_window_days)
    for name, value in request.bindings().items():
        assert type(value) is int or (isinstance(value, str) and SAFE_VALUE.fullmatch(value)), (name, value)
    check_value_not_kept(typed, request.model_dump(mode="json", exclude={"text"}))


def check_scope(scope: ContextScope) -> None:
    """A context's values are validated as a query's are."""
    assert scope.account is None or ACCOUNT_ID.fullmatch(scope.account), scope.account
    assert scope.region is None or REGION_NAME.fullmatch(scope.region), scope.region
    assert scope.last is None or DURATION.fullmatch(scope.last), scope.last


def check_indicators(indicators: tuple[str, ...]) -> None:
    for value in indicators:
        assert Indicator(value).value == value  # canonical, or Indicator raises
        assert INDICATOR.fullmatch(value), value


def check_any(result: ChannelRequest | None, typed: str = "") -> None:
    """Whatever the parser returned holds only validated values (Help's `unknown` is only displayed)."""
    if isinstance(result, FlowRequest):
        check_request(result, CATALOG[result.query], SETTINGS["vpcflow"], typed)
    elif isinstance(result, ContextRequest):
        assert result.scope is None or result.action == "set"
        if result.scope is not None:
            check_scope(result.scope)
    elif isinstance(result, IocAdd):
        check_indicators(result.indicators)
        assert len(result.comment) <= MAX_COMMENT
    elif isinstance(result, IocRemove):
        check_indicators(result.indicators)
    elif isinstance(result, IocHistory):
        check_indicators((result.indicator,))
    elif isinstance(result, CancelRequest):
        assert re.fullmatch(r"[0-9a-f]{8,32}", result.job)
    else:
        assert result is None or isinstance(result, HelpRequest) or result.kind in {"list", "export", "form"}


# --- the sweeps ---------------------------------------------------------------------------------------


@dataclass
class Sweep:
    """What one sweep of positions and values gave: counts, and the requests an engine is to run.

    Every distinct request accepted from a corpus string runs; of the benign ones, one a kind of value
    (and IP version, and set of context fields) runs: their SQL can differ only by their shape.
    """

    cases: int = 0
    refused: int = 0
    accepted_hostile: list[tuple[str, str]] = field(default_factory=list)
    """(position, corpus string) of every corpus string the parser accepted."""
    requests: dict[str, FlowRequest] = field(default_factory=dict)

    def keep(self, request: FlowRequest, shape: str) -> None:
        self.requests.setdefault(shape, request)


@functools.cache
def context_sweep() -> tuple[Sweep, tuple[ContextScope, ...]]:
    """Every context position with each corpus and benign values; the distinct scopes accepted."""
    sweep = Sweep()
    scopes: dict[str, ContextScope] = {}
    for position in CONTEXT_POSITIONS:
        for value in (*CORPUS, *BENIGN[position.kind]):
            sweep.cases += 1
            result = parsed(position.text(value), SETTINGS["vpcflow"])
            if result is None:
                sweep.refused += 1
                continue
            assert isinstance(result, ContextRequest) and result.action == "set", result
            assert result.scope is not None
            check_scope(result.scope)
            check_value_not_kept(value, result.scope.model_dump(mode="json"))
            if value in CORPUS:
                sweep.accepted_hostile.append((position.name, value))
            scopes.setdefault(result.scope.model_dump_json(), result.scope)
    return sweep, tuple(scopes.values())


@functools.cache
def query_sweep(name: str) -> Sweep:
    """Every position of one template with each corpus and benign values, plus every accepted context."""
    template = CATALOG[name]
    settings = settings_for(template)
    sweep = Sweep()
    for position in query_positions(template):
        for value in (*CORPUS, *BENIGN.get(position.kind, ())):
            sweep.cases += 1
            result = parsed(position.text(value), settings)
            if result is None:
                sweep.refused += 1
                continue
            assert isinstance(result, FlowRequest), result
            check_request(result, template, settings, value)
            if value in CORPUS:
                sweep.accepted_hostile.append((position.name, value))
                sweep.keep(result, f"corpus {result.model_dump_json(exclude={'text'})}")
            else:
                versions = sorted({a.version for a in result.params.values()})
                sweep.keep(result, f"{position.kind} {versions}")
    command = " ".join([*template.command, *[BENIGN_IP] * len(template.params)])
    for scope in context_sweep()[1]:
        context = ChannelContext(**scope.model_dump(), set_by="U0123ABCD", set_at=NOW)
        result = parsed(command, settings, context)
        assert isinstance(result, FlowRequest), result
        check_request(result, template, settings)
        sweep.keep(result, f"context {sorted(scope.model_dump(exclude_none=True))}")
    return sweep


def benign_request(template: QueryTemplate) -> FlowRequest:
    """The fixed request every template's SQL is compared with."""
    command = " ".join([*template.command, *[BENIGN_IP] * len(template.params)])
    scope = f" --account {ACCOUNT} --region {REGION}" if "account" in template.placeholders else ""
    result = parse_in_channel(f"{command} --last 15m{scope}", CATALOG, settings_for(template), NOW)
    assert isinstance(result, FlowRequest)
    return result


# --- Athena, on a Stubber -----------------------------------------------------------------------------


class StubbedAthena:
    """One Athena client answered by botocore's Stubber; every StartQueryExecution it is asked is kept."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "athena", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.sent: list[dict[str, Any]] = []
        self.client.meta.events.register_first(
            "before-parameter-build.athena.StartQueryExecution", self._record
        )

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.sent.append(dict(params))

    def start(self, template: QueryTemplate, request: FlowRequest) -> dict[str, Any]:
        """Run the template to its (empty) result; the StartQueryExecution parameters it sent."""
        before = len(self.sent)
        engine = AthenaEngine(
            settings_for(template),
            athena_client=self.client,
            s3_client=object(),
            clock=lambda: 0.0,
            sleep=lambda _: None,
        )
        with Stubber(self.client) as stub:
            stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
            stub.add_response("get_query_execution", _succeeded(), {"QueryExecutionId": "q-1"})
            stub.add_response("get_query_results", _header_only(template))
            stream = engine.run(template, request, RunControl(token=TOKEN))
            assert list(stream.batches()) == []
            stub.assert_no_pending_responses()
        assert len(self.sent) == before + 1
        return self.sent[-1]


def _succeeded() -> dict[str, Any]:
    return {
        "QueryExecution": {
            "QueryExecutionId": "q-1",
            "Query": "SELECT ...",
            "StatementType": "DML",
            "ResultConfiguration": {"OutputLocation": "s3://flowbot-results/athena/q-1.csv"},
            "Status": {"State": "SUCCEEDED"},
            "Statistics": {"DataScannedInBytes": 0, "EngineExecutionTimeInMillis": 1},
        }
    }


def _header_only(template: QueryTemplate) -> dict[str, Any]:
    return {
        "ResultSet": {
            "Rows": [{"Data": [{"VarCharValue": c.name} for c in template.columns]}],
            "ResultSetMetadata": {"ColumnInfo": [{"Name": c.name, "Type": c.type} for c in template.columns]},
        }
    }


@functools.cache
def athena() -> StubbedAthena:
    """One client for the module (hypothesis reuses it across examples)."""
    return StubbedAthena()


@functools.cache
def benign_start(name: str) -> dict[str, Any]:
    return athena().start(CATALOG[name], benign_request(CATALOG[name]))


@functools.cache
def parameter_order(name: str) -> tuple[str, ...]:
    """The placeholder each ExecutionParameter stands for, in order (each bound to its own name)."""
    template = CATALOG[name]
    names = {n: 1 if n in LITERAL_PARAMS else n for n in template.placeholders}  # the limit: an integer
    _, literals = to_athena(template.sql, settings_for(template), names)
    return tuple(str(read_literal(literal)) for literal in literals)


def read_literal(literal: str) -> str | int:
    """An ExecutionParameter read back as Trino reads it; AssertionError if it is no single literal."""
    match = TRINO_LITERAL.fullmatch(literal)
    assert match, f"not one Trino literal: {literal!r}"
    if match.group(2) is not None:
        return int(match.group(2))
    return match.group(1).replace("''", "'")


def check_sent(sent: dict[str, Any], template: QueryTemplate, request: FlowRequest) -> None:
    """The benign SQL text, byte for byte, but for the row limit, a validated integer written as a number
    (Athena takes `?` only in WHERE); the request's other values only as parameters, each a literal."""
    benign = benign_start(template.name)["QueryString"]
    if template.uses_limit:
        assert isinstance(request.limit, int) and not isinstance(request.limit, bool)
        tail = f"\nLIMIT {benign_request(template).limit}"
        assert benign.endswith(tail)
        benign = benign.removesuffix(tail) + f"\nLIMIT {request.limit}"
    assert sent["QueryString"] == benign
    bindings = request.bindings()
    expected = [bindings[name] for name in parameter_order(template.name)]
    assert [read_literal(p) for p in sent["ExecutionParameters"]] == expected
    for name, value in bindings.items():  # no value of the request is in the text (beyond its own literal)
        if name in LITERAL_PARAMS:
            continue
        if (isinstance(value, str) and len(value) >= 4) or (isinstance(value, int) and value >= 100_000):
            assert str(value) not in sent["QueryString"]
    if " " in request.text:  # the echo, once it holds a value, is in neither (a bare command word may be)
        assert request.text not in sent["QueryString"]
        assert all(request.text not in p for p in sent["ExecutionParameters"])


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: f"{t.table}-{t.name}")
def test_no_typed_value_changes_the_sql_athena_runs(template: QueryTemplate) -> None:
    sweep = query_sweep(template.name)
    assert sweep.requests  # the benign values at least
    for request in sweep.requests.values():
        check_sent(athena().start(template, request), template, request)


# --- the template files themselves ---------------------------------------------------------------------

_BIND_PARENTS = (exp.EQ, exp.LT, exp.GTE, exp.Between, exp.Limit, exp.StrPosition)
"""Where a placeholder may stand: compared, or a bound list searched for a column's text (the hunt's
`strpos(:indicators, listed)`)."""


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: f"{t.table}-{t.name}")
def test_a_template_takes_values_only_through_named_placeholders(template: QueryTemplate) -> None:
    text = (Path(query_templates.__file__).parent / f"{template.name}.sql").read_text(encoding="utf-8")
    assert template.sql == text  # the file as written: no formatting step between file and engine
    declared = {p.name for p in template.params}
    assert template.placeholders <= declared | SCOPE_PARAMS | {LIMIT_PARAM}
    for token in sqlglot.tokenize(text, read="trino"):  # comments are no tokens; a literal's text is data
        if token.token_type is not TokenType.STRING:
            assert not set(token.text) & set("{}%$?"), f"{token.text!r}: a format field or an anonymous bind"
    for placeholder in sqlglot.parse_one(text, read="trino").find_all(exp.Placeholder):
        assert placeholder.this, "templates name their placeholders"
        assert isinstance(placeholder.parent, _BIND_PARENTS), f"{placeholder.name} in {placeholder.parent}"
        for other in placeholder.parent.iter_expressions():  # compared with a column or a constant only
            assert isinstance(other, exp.Column | exp.Literal | exp.Placeholder), other.sql()


def test_every_engine_parameter_is_a_literal_even_for_values_that_were_never_validated() -> None:
    """Defence in depth: were a hostile string bound, the SQL text stays and the literal holds it."""
    for i, template in enumerate(TEMPLATES):
        settings = settings_for(template)
        benign_sql, _ = to_athena(template.sql, settings, benign_request(template).bindings())
        strings = sorted(n for n in template.placeholders if n not in {"from_ts", "to_ts", "limit"})
        # a different corpus string for each text placeholder of each template: most of the corpus in all
        hostile = {n: SHORT_CORPUS[(i * 7 + j) % len(SHORT_CORPUS)] for j, n in enumerate(strings)}
        bindings = {**benign_request(template).bindings(), **hostile}
        sql, literals = to_athena(template.sql, settings, bindings)
        assert sql == benign_sql
        expected = [bindings[n] for n in parameter_order(template.name)]
        assert [read_literal(p) for p in literals] == expected
    for value in CORPUS:
        assert read_literal(sql_literal(value)) == value


# --- the sweeps' own results ----------------------------------------------------------------------------


RECOVERED = {
    "10.0.0.1\n--limit 5",  # a line break separates words: the address, then `--limit 5`
    "<http://10.0.0.1'OR'1'='1|10.0.0.1>",  # Slack shows a link's label; its URL is dropped
    "10.0.0.1" + "'" * 3000,  # quotes around an address are trimmed
}
"""The corpus strings the parser accepts, and why; the request holds only the typed address."""


def test_the_parser_accepts_only_what_it_can_type() -> None:
    """Every other hostile string is refused at every position, in both table kinds."""
    accepted = {(name, *case) for name in sorted(t.name for t in TEMPLATES) for case in _hostile(name)}
    with_address = {t.name for t in TEMPLATES if t.params}
    assert accepted == {(name, "<ip>", value) for name in with_address for value in RECOVERED}


def _hostile(name: str) -> list[tuple[str, str]]:
    return query_sweep(name).accepted_hostile


def test_an_error_quotes_a_very_long_value_shortened() -> None:
    long = [v for v in CORPUS if len(v) >= LONG_TEXT]
    positions = [*query_positions(CATALOG["ratio"]), *CONTEXT_POSITIONS, *IOC_POSITIONS]
    lengths: dict[str, int] = {}
    for position in positions:
        for value in long:
            try:
                parse_in_channel(position.text(value), CATALOG, SETTINGS["vpcflow"], NOW)
            except CommandError as exc:
                lengths[position.name] = max(lengths.get(position.name, 0), len(str(exc)))
    assert {name: n for name, n in lengths.items() if n >= MAX_ERROR} == {}


def test_context_values_are_validated() -> None:
    sweep, scopes = context_sweep()
    assert len(scopes) > 5  # every field, from the benign values
    assert sweep.accepted_hostile == []


HOSTILE_STORED_CONTEXTS = [
    {"account": "012345678901' OR '1'='1"},
    {"region": "us-east-1'--"},
    {"last": "6h' OR 1=1"},
    {"last": "\u0661h"},
    {"account": "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661"},
    {"region": "us-east-\u0661"},
    {"window": {"start": "2026-11-19T00:00:00Z';DROP", "end": "2026-11-20T00:00:00Z"}},
    {"window": {"start": "2025-01-01T00:00:00Z", "end": "2026-11-20T00:00:00Z"}},  # longer than allowed
    {"account": "012345678901", "sql": "DROP TABLE vpcflow"},
]


@pytest.mark.parametrize("fields", HOSTILE_STORED_CONTEXTS)
def test_a_hostile_stored_context_never_reaches_a_query(fields: dict[str, object]) -> None:
    """A context read back from Redis is validated again, and once more when a query applies it."""
    raw = json.dumps({**fields, "set_by": "U0123ABCD", "set_at": "2026-11-19T00:00:00Z"})
    with pytest.raises((ValidationError, CommandError)):
        context = ChannelContext.model_validate_json(raw)
        parse_in_channel(f"ratio {BENIGN_IP}", CATALOG, SETTINGS["vpcflow"], NOW, context)


def test_ioc_values_are_indicators_and_comments_stay_in_their_csv_field() -> None:
    comments: list[str] = []
    for position in IOC_POSITIONS:
        for value in (*CORPUS, *BENIGN.get(position.kind, ())):
            result = parsed(position.text(value), SETTINGS["vpcflow"])
            if result is None:
                continue
            check_any(result)
            if isinstance(result, IocAdd):  # the value was read as indicators, or as (part of) the comment
                check_value_not_kept(value, list(result.indicators))
                comments.append(result.comment)
            elif isinstance(result, IocRemove):
                check_value_not_kept(value, list(result.indicators))
            elif isinstance(result, IocHistory):
                check_value_not_kept(value, result.indicator)
    hostile = [c for c in comments if is_hostile(c)]
    assert hostile  # a comment is free text: it must be kept, safely
    for comment in comments:
        check_comment_row(comment)


def check_comment_row(comment: str) -> None:
    """A comment stays in its own field of its own row, as the store writes it and Athena/DuckDB read it."""
    submission = Submission.new(
        "203.0.113.7",
        comment=comment,
        submitted_by="U0123ABCD",
        channel="C0123ABCD",
        source="command",
        at=NOW,
    )
    data = table_row(submission)
    lines = _split_lines(data)
    assert len(lines) == 1, lines
    fields = opencsv_fields(lines[0])
    assert fields is not None and len(fields) == 7
    assert submission.comment == one_line(comment)
    assert fields[:2] == ["203.0.113.7", submission.comment]
    assert read_table_row(data) == submission


# --- interaction payloads ---------------------------------------------------------------------------


def lookup_request(value: str, settings: Settings) -> FlowRequest:
    """What handle_lookup_choice asks for a menu option's value (the same validation and lookup)."""
    choice = LookupChoice.model_validate_json(value)
    template = CATALOG[choice.q]
    result = parse_in_channel(f"{' '.join(template.command)} {choice.ip}", CATALOG, settings, NOW)
    assert isinstance(result, FlowRequest)
    return result


def rerun_request(value: str, settings: Settings) -> FlowRequest | None:
    """What handle_rerun_wider would enqueue for a button's value, and the template the worker looks up."""
    old = recheck(FlowRequest.model_validate_json(value), CATALOG, settings)  # as handle_rerun_wider does
    return wider(old, settings)


def _choice(**fields: object) -> str:
    return json.dumps({"q": "ratio", "ip": BENIGN_IP, "t": "1732540000.000100", **fields})


def _button(**fields: object) -> str:
    request: dict[str, object] = {
        "query": "ratio",
        "params": {"ip": BENIGN_IP},
        "window": {"start": "2026-11-19T00:00:00Z", "end": "2026-11-20T00:00:00Z"},
        "account": None,
        "region": None,
        "limit": 100,
        "text": "ratio 10.0.1.25",
        "context": None,
    }
    request.update(fields)
    return json.dumps(request)


REFUSED = (ValidationError, KeyError, CommandError)
HOSTILE_CHOICES = [
    '{"q": "ratio; DROP", "ip": "1.1.1.1\' --"}',
    _choice(q="ratio; DROP TABLE vpcflow"),
    _choice(q="ratio' OR 1=1 --"),
    _choice(ip="1.1.1.1' --"),
    _choice(ip="1.1.1.1; DROP TABLE vpcflow"),
    _choice(ip="fe80::1%' OR 1=1 --"),
    _choice(ip="fe80::1%'OR'1'='1"),
    _choice(ip=["1.1.1.1"]),
    _choice(sql="DROP TABLE vpcflow"),
    _choice(q="top_src"),  # takes no address
    '{"q": "ratio", "ip": "1.1.1.1"',
    "ratio 1.1.1.1",
    "",
    *CORPUS,
]


def short_id(value: object) -> str:
    """A readable test id for a hostile string: its start, escaped."""
    text = ascii(value)[1:-1]
    return text if len(text) <= 32 else f"{text[:28]}...{len(str(value))}"


@pytest.mark.parametrize("value", HOSTILE_CHOICES, ids=short_id)
def test_a_hostile_menu_choice_is_refused(value: str) -> None:
    with pytest.raises(REFUSED):
        lookup_request(value, SETTINGS["vpcflow"])


def test_a_menu_choice_as_flowbot_writes_it_runs() -> None:
    request = lookup_request(_choice(), SETTINGS["vpcflow"])
    check_request(request, CATALOG["ratio"], SETTINGS["vpcflow"])


HOSTILE_BUTTONS = [
    _button(query="ratio; DROP TABLE vpcflow"),
    _button(query="nope"),
    _button(sql="DROP TABLE vpcflow"),
    _button(params={"ip": "1.1.1.1' OR 1=1 --"}),
    _button(params={"ip": "1.1.1.1", "x": "' OR 1=1"}),
    _button(account="012345678901' OR '1'='1"),
    _button(region="us-east-1' --"),
    _button(limit="100; DROP TABLE vpcflow"),
    _button(limit=0),
    _button(limit=-1),
    _button(window={"start": "2026-11-19T00:00:00Z' OR 1=1", "end": "2026-11-20T00:00:00Z"}),
    _button(window={"start": "2026-11-20T00:00:00Z", "end": "2026-11-19T00:00:00Z"}),
    _button(window={"start": "2025-01-01T00:00:00Z", "end": "2026-11-20T00:00:00Z"}),  # longer than allowed
    _button(window={"start": "2026-08-22T00:00:00Z", "end": "2026-11-20T00:00:00Z"}),  # already the longest
    _button(window={"start": "2026-11-19T00:00:00Z", "end": "2026-11-20T00:00:00Z", "x": 1}),
    _button(context=["' OR 1=1"]),
    '{"query": "ratio"',
    "ratio 1.1.1.1",
    *CORPUS,
]


@pytest.mark.parametrize("value", HOSTILE_BUTTONS, ids=short_id)
def test_a_hostile_rerun_button_is_refused(value: str) -> None:
    try:
        request = rerun_request(value, SETTINGS["vpcflow"])
    except REFUSED:
        return
    assert request is None, f"enqueued {request}"


GAPS = [
    pytest.param(
        _button(params={"ip": "fe80::1%' OR 1=1 --"}),
        id="zone-in-params",
    ),
    pytest.param(
        _button(limit=10**18),
        id="limit-over-max",
    ),
    pytest.param(
        _button(account="\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661"),
        id="non-ascii-digits-account",
    ),
    pytest.param(
        _button(query="json_top", params={}),
        id="other-table-kind",
    ),
    pytest.param(
        _button(params={}),
        id="missing-parameter",
    ),
]
"""Button values FlowRequest's validation alone let through, now refused by `recheck` (they reached
Athena only as quoted literals even before: see
test_every_engine_parameter_is_a_literal_even_for_values_that_were_never_validated)."""


@pytest.mark.parametrize("value", GAPS)
def test_a_rerun_button_is_checked_against_the_catalog_and_settings(value: str) -> None:
    test_a_hostile_rerun_button_is_refused(value)


def test_a_rerun_button_as_flowbot_writes_it_runs() -> None:
    request = rerun_request(_button(), SETTINGS["vpcflow"])
    assert request is not None
    check_request(request, CATALOG["ratio"], SETTINGS["vpcflow"])


# --- the local engine, on the sample flow logs ----------------------------------------------------------


class RecordingConnection:
    """A DuckDB connection that keeps every statement executed and the parameters bound to it."""

    def __init__(self, con: duckdb.DuckDBPyConnection, calls: list[tuple[str, object]]) -> None:
        self._con = con
        self.calls = calls

    def execute(self, query: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        self.calls.append((query, parameters))
        return self._con.execute(query) if parameters is None else self._con.execute(query, parameters)

    def sql(self, query: str) -> duckdb.DuckDBPyRelation:
        self.calls.append((query, None))
        return self._con.sql(query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def recorded_run(
    engine: LocalEngine, template: QueryTemplate, request: FlowRequest, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, object]]:
    """What the engine executed for the request (rows read to the end)."""
    calls: list[tuple[str, object]] = []
    connect: Callable[[], duckdb.DuckDBPyConnection] = functools.partial(LocalEngine._connect, engine)
    monkeypatch.setattr(engine, "_connect", lambda: RecordingConnection(connect(), calls))
    stream = engine.run(template, request)
    for _ in stream.batches():
        pass
    return calls


def local_variants(template: QueryTemplate) -> list[FlowRequest]:
    """Benign values in hostile-looking forms (defanged, a link, phone dashes, a comma), plus what the
    corpus got accepted, if anything; scoped to one account and region to keep it quick."""
    command = " ".join(template.command)
    addresses = " ".join(["10[.]0[.]1[.]25"] * len(template.params))
    scope = f" \u2014account={ACCOUNT} \u2014region US-EAST-1" if "account" in template.placeholders else ""
    text = f"{command} {addresses} \u2014last 15m{scope} --limit 1,000"
    first = parse_in_channel(text, CATALOG, settings_for(template), NOW)
    assert isinstance(first, FlowRequest)
    recovered = [
        parsed(f"{p.before}{v}{p.after} --last 15m{scope}", settings_for(template))
        for p in query_positions(template)
        for n, v in _hostile(template.name)
        if n == p.name and p.kind == "ip"
    ]
    distinct = {r.model_dump_json(exclude={"text"}): r for r in recovered if isinstance(r, FlowRequest)}
    return [first, *distinct.values()]


@pytest.fixture(scope="module")
def ioc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An IOC store's table holding one submission per hostile comment the parser accepts, written as the
    store writes them (bot/iocs/store.py; its fsyncs and audit files are left out to keep this quick)."""
    root = tmp_path_factory.mktemp("iocs")
    submissions = []
    for i, value in enumerate(v for v in SHORT_CORPUS if v.strip()):
        result = parsed(f"ioc add 198.51.100.{i % 250 + 1} -- {value}", SETTINGS["vpcflow"])
        if isinstance(result, IocAdd):
            submissions.append(
                Submission.new(
                    result.indicators[0],
                    comment=result.comment,
                    submitted_by="U0123ABCD",
                    channel="C0123ABCD",
                    source="command",
                    at=NOW,
                )
            )
    assert len(submissions) > 50
    for submission in submissions:
        path = root / table_key(Indicator(submission.indicator).slug, submission.submission_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(table_row(submission))
    return root


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: f"{t.table}-{t.name}")
def test_the_local_engine_binds_every_value(
    template: QueryTemplate, sample_root: Path, ioc_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = LocalEngine(sample_root, ioc_dir=ioc_dir)
    benign = recorded_run(engine, template, benign_request(template), monkeypatch)
    _, params = benign[-1]
    assert isinstance(params, dict) and set(params) == template.placeholders
    for request in local_variants(template):
        calls = recorded_run(engine, template, request, monkeypatch)
        assert [sql for sql, _ in calls] == [sql for sql, _ in benign]
        sql, bound = calls[-1]
        bindings = request.bindings()
        assert bound == {name: bindings[name] for name in template.placeholders}
        assert request.text not in sql
        for statement, values in calls[:-1]:  # set-up: fixed text; only the IOC rows are bound
            assert values is None or statement.startswith("INSERT INTO incident_iocs VALUES (?, ?)")
    if template.reads_iocs:  # the IOC rows, hostile comments among them, arrive as bound values
        rows = [v for _, values in benign[:-1] if isinstance(values, list) for v in values]
        assert all(Indicator(ip).value == ip for ip in rows[0::2])
        assert any(isinstance(comment, str) and is_hostile(comment) for comment in rows[1::2])


# --- hypothesis: arbitrary text ------------------------------------------------------------------------

ADDRESSISH = st.text(alphabet="0123456789abcdefABCDEF:.[]()%'\"`/-;<>|hxtp ", max_size=40)
ANY_TEXT = st.text(max_size=60)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.one_of(
        ANY_TEXT,
        ADDRESSISH,
        st.ip_addresses().map(str),
        st.builds(lambda a, b: a + b, st.ip_addresses().map(str), ANY_TEXT),
        st.builds(lambda a, b: f"<http://{a}|{a}{b}>", st.ip_addresses().map(str), ADDRESSISH),
    )
)
def test_any_text_as_the_address_of_ratio(value: str) -> None:
    template = CATALOG["ratio"]
    result = parsed(f"ratio {value}", SETTINGS["vpcflow"])
    if result is None:
        return
    assert isinstance(result, FlowRequest)
    check_request(result, template, SETTINGS["vpcflow"], value)
    check_sent(athena().start(template, result), template, result)


ISO = st.datetimes(min_value=datetime(2026, 8, 20), max_value=datetime(2026, 11, 19, 23)).map(
    lambda d: d.isoformat()
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.one_of(
        ANY_TEXT,
        ISO,
        st.builds(lambda a, b: a + b, ISO, ANY_TEXT),
        st.builds(lambda a, b: a + b, ISO, st.sampled_from(["Z", "z", "+05:30", "-00:00", "' --", "';"])),
    )
)
def test_any_text_as_the_from_of_a_query(value: str) -> None:
    template = CATALOG["top_src"]
    result = parsed(f"top src --from {value}", SETTINGS["vpcflow"])
    if result is None:
        return
    assert isinstance(result, FlowRequest)
    check_request(result, template, SETTINGS["vpcflow"], value)
    check_sent(athena().start(template, result), template, result)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        ANY_TEXT,
        st.builds(
            lambda word, rest: f"{word} {rest}",
            st.sampled_from(
                ["ratio", "top src", "count", "context", "ioc add", "ioc remove", "cancel", "--"]
            ),
            ANY_TEXT,
        ),
    )
)
def test_any_text_after_the_command(text: str) -> None:
    check_any(parsed(text, SETTINGS["vpcflow"]))


@settings(max_examples=200, deadline=None)
@given(comment=st.text(max_size=200))
def test_any_comment_stays_in_its_csv_field(comment: str) -> None:
    check_comment_row(comment)
