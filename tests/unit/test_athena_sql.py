"""Preparing a template for Athena: `?` placeholders in order of occurrence, values only as parameters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlglot
from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp

from bot.query.catalog import (
    IOC_TABLE,
    JSON_TABLE,
    LITERAL_PARAMS,
    LOGICAL_TABLE,
    QueryTemplate,
    load_catalog,
)
from bot.query.engines.athena import sql_literal, to_athena
from bot.request import FlowRequest, Window
from bot.settings import Settings
from tests.athena_sql import filled_in

SETTINGS = Settings(
    athena_database="flow_db",
    athena_table="flow_v2",
    athena_json_table="flow_json",
    athena_ioc_table="iocs_v1",
)
REQUEST = FlowRequest(
    query="ratio",
    params={"ip": "203.0.113.77"},
    window=Window(
        start=datetime(2026, 11, 18, 6, 0, tzinfo=UTC), end=datetime(2026, 11, 19, 6, 0, tzinfo=UTC)
    ),
    account="012345678901",
    region="eu-west-3",
    limit=4321,
    text="ratio 203.0.113.77",
)
REAL_TABLE = {
    LOGICAL_TABLE: '"flow_db"."flow_v2"',
    JSON_TABLE: '"flow_db"."flow_json"',
    IOC_TABLE: '"flow_db"."iocs_v1"',
}


def _literal_node(value: object) -> exp.Expression:
    return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(str(value))


def _expected_sql(template: QueryTemplate, bindings: dict[str, object]) -> str:
    """The template with its values written in by name (what the `?` + parameters must mean)."""
    tree = sqlglot.parse_one(template.sql, read="trino")
    for placeholder in list(tree.find_all(exp.Placeholder)):
        placeholder.replace(_literal_node(bindings[placeholder.name]))
    for table in tree.find_all(exp.Table):  # the name replaced, an alias (`vpcflow AS vpc`) kept
        real = exp.to_table(REAL_TABLE[table.name], dialect="trino")
        table.set("this", real.this)
        table.set("db", real.args["db"])
    return tree.sql(dialect="trino")


@pytest.mark.parametrize("template", list(load_catalog()), ids=lambda t: t.name)
def test_every_template_becomes_positional_sql_with_its_values_as_parameters(template: QueryTemplate) -> None:
    bindings = REQUEST.bindings()
    sql, parameters = to_athena(template.sql, SETTINGS, bindings)

    tree = sqlglot.parse_one(sql, read="trino")  # parses in Athena's dialect
    placeholders = list(tree.find_all(exp.Placeholder))
    assert placeholders and all(not p.this for p in placeholders)  # only `?`, no `:name` left
    assert len(placeholders) == len(parameters)
    for name, value in bindings.items():
        if value != "" and name not in LITERAL_PARAMS:
            # two-digit values (`first_hh` '05') would match any number: look for them as literals
            needle = str(value) if len(str(value)) > 2 else f"'{value}'"
            assert needle not in sql, f"{value!r} was written into the SQL"
    assert REAL_TABLE[template.table] in sql
    read = {REAL_TABLE[template.table]} | ({REAL_TABLE[IOC_TABLE]} if template.reads_iocs else set())
    assert {f'"{t.db}"."{t.name}"' for t in tree.find_all(exp.Table)} == read
    # Positional parameters mean exactly what the named ones did, occurrence by occurrence.
    assert filled_in(sql, parameters) == _expected_sql(template, bindings)


def test_a_name_used_twice_gives_two_placeholders_and_its_value_twice() -> None:
    sql, parameters = to_athena(load_catalog()["ratio"].sql, SETTINGS, REQUEST.bindings())
    assert parameters == [
        "'203.0.113.77'",
        "'203.0.113.77'",
        "'2026/11/18'",
        "'2026/11/20'",  # the window's last day plus the delivery margin
        "'eu-west-3'",
        "'eu-west-3'",
        "'012345678901'",  # quoted: an account ID keeps its leading zero
        "'012345678901'",
        str(REQUEST.window.from_ts),
        str(REQUEST.window.to_ts),
    ]
    assert sql.rstrip().endswith("LIMIT 4321")  # the validated limit as a literal: no ? outside WHERE


def _clause_of(placeholder: exp.Expression) -> str:
    """The clause a `?` sits in, named by walking up the parsed tree (independent of catalog.in_where)."""
    node: exp.Expression | None = placeholder
    while node is not None:
        if isinstance(node, exp.Where):
            return "WHERE"
        if isinstance(node.parent, exp.Select | exp.Join) and node.arg_key != "this":
            return node.arg_key.upper()  # expressions (the SELECT list), on, limit, group, having, order...
        node = node.parent
    return "?"


@pytest.mark.parametrize("template", list(load_catalog()), ids=lambda t: t.name)
def test_athena_gets_question_marks_only_in_where_clauses(template: QueryTemplate) -> None:
    """Athena: "Currently, ? parameters can be placed only in the WHERE clause" (parameterized queries)."""
    sql, parameters = to_athena(template.sql, SETTINGS, REQUEST.bindings())
    placeholders = list(sqlglot.parse_one(sql, read="trino").find_all(exp.Placeholder))
    assert len(placeholders) == len(parameters) > 0
    assert [_clause_of(p) for p in placeholders] == ["WHERE"] * len(placeholders), sql
    if template.uses_limit:
        limit = sqlglot.parse_one(sql, read="trino").args["limit"].expression
        assert isinstance(limit, exp.Literal) and limit.this == str(REQUEST.limit)


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT :ip AS a FROM vpcflow WHERE {' AND '.join(f'x = :{n}' for n in ('from_ts', 'to_ts'))}",
        "SELECT a FROM vpcflow GROUP BY a HAVING count(*) > :from_ts",
        "SELECT a FROM vpcflow AS v JOIN vpcflow AS w ON v.a = :ip",
    ],
)
def test_to_athena_refuses_a_parameter_outside_where(sql: str) -> None:
    with pytest.raises(ValueError, match="outside a WHERE clause"):
        to_athena(sql, SETTINGS, {"ip": "10.0.0.1", "from_ts": 1, "to_ts": 2})


@pytest.mark.parametrize("limit", [True, -1, "100", 1.5])
def test_only_a_non_negative_integer_limit_is_written_into_the_sql(limit: object) -> None:
    with pytest.raises(TypeError):
        to_athena("SELECT a FROM vpcflow WHERE a = :ip LIMIT :limit", SETTINGS, {"ip": "x", "limit": limit})


@pytest.mark.parametrize("template", list(load_catalog()), ids=lambda t: t.name)
def test_every_template_reads_each_table_once(template: QueryTemplate) -> None:
    """Trino shares no scan between two reads of a table (a UNION ALL's arms): each read is billed."""
    sql, _ = to_athena(template.sql, SETTINGS, REQUEST.bindings())
    reads = [f'"{t.db}"."{t.name}"' for t in sqlglot.parse_one(sql, read="trino").find_all(exp.Table)]
    assert len(reads) == len(set(reads)), reads


def test_parameters_are_sql_literals() -> None:
    assert sql_literal(42) == "42"
    assert sql_literal("") == "''"
    assert sql_literal("it's") == "'it''s'"
    assert sql_literal("x' OR '1'='1") == "'x'' OR ''1''=''1'"
    with pytest.raises(TypeError):
        sql_literal(True)
    with pytest.raises(TypeError):
        sql_literal(1.5)


@given(st.text())
def test_any_text_reads_back_as_the_same_string_literal(value: str) -> None:
    literal = sqlglot.parse_one(sql_literal(value), read="trino")
    assert isinstance(literal, exp.Literal) and literal.is_string and literal.this == value


def test_a_missing_value_or_an_unknown_table_is_refused() -> None:
    with pytest.raises(ValueError, match="no value"):
        to_athena("SELECT 1 FROM vpcflow WHERE a = :nope", SETTINGS, {})
    with pytest.raises(ValueError, match="not"):
        to_athena("SELECT 1 FROM other WHERE a = :x", SETTINGS, {"x": 1})
    with pytest.raises(ValueError, match="named placeholders"):
        to_athena("SELECT 1 FROM vpcflow WHERE a = ?", SETTINGS, {})


def test_a_hunt_reads_the_settings_flow_and_ioc_tables_with_values_only_as_parameters() -> None:
    hunt = load_catalog()["hunt"]
    bindings = FlowRequest(**{**REQUEST.model_dump(), "query": "hunt", "params": {}}).bindings()
    sql, parameters = to_athena(hunt.sql, SETTINGS, bindings)
    tree = sqlglot.parse_one(sql, read="trino")
    tables = [t for t in tree.find_all(exp.Table)]
    assert sorted(f'"{t.db}"."{t.name}"' for t in tables) == sorted(
        [REAL_TABLE[LOGICAL_TABLE], REAL_TABLE[IOC_TABLE]]
    )  # the flow table once (both directions from one read), the IOC table once
    assert "incident_iocs" not in sql and "vpcflow" not in sql
    for value in ("2026/11/18", "eu-west-3", "012345678901", str(REQUEST.window.from_ts)):
        assert value not in sql
    scope = [
        "'2026/11/18'", "'2026/11/20'", "'eu-west-3'", "'eu-west-3'", "'012345678901'", "'012345678901'",
        str(REQUEST.window.from_ts), str(REQUEST.window.to_ts), "''", "''",
    ]  # fmt: skip
    assert parameters == scope  # the one read prunes and bounds the window; every indicator is hunted
    narrowed = (
        bindings
        | FlowRequest(
            **{
                **REQUEST.model_dump(),
                "query": "hunt",
                "params": {},
                "indicators": ("203.0.113.7", "10.1.0.0/16"),
            }
        ).bindings()
    )
    narrowed_sql, narrowed_parameters = to_athena(hunt.sql, SETTINGS, narrowed)
    assert narrowed_sql == sql and "203.0.113.7" not in sql  # a retro-hunt's indicators: one bound value
    assert narrowed_parameters[-2:] == ["',203.0.113.7,10.1.0.0/16,'"] * 2
    assert sql.rstrip().endswith("LIMIT 4321")
    joins = [j for j in sqlglot.parse_one(sql, read="trino").find_all(exp.Join) if j.args.get("on")]
    assert len(joins) == 1
    condition = " ".join(joins[0].args["on"].sql("trino").split())
    assert condition.startswith("ioc.join_key = CASE probe.grain WHEN 'address' THEN flow.matched_hex")
    assert condition.endswith("AND TRY(CONTAINS(ioc.network, TRY_CAST(flow.matched_ip AS IPADDRESS)))")
