"""Many accounts: an `injected` account projection (FLOWBOT_ACCOUNT_PROJECTION=injected) takes each query's
accounts from the query, as Athena requires of such a key ("the WHERE clause must contain only static equality
conditions, and at least one such condition must be present": Athena User Guide, "Use dynamic ID
partitioning"), and answers what the enumerated table answers."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from bot.aws.ddl import flow_table, flow_table_properties
from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.athena import to_athena
from bot.query.engines.dialect import install_macros, to_duckdb
from bot.request import FlowRequest
from bot.settings import Settings
from bot.words import CommandError
from tests.athena_sql import filled_in

CATALOG = load_catalog()
NOW = datetime(2026, 11, 20, tzinfo=UTC)
ACCOUNTS = ("111122223333", "444455556666", "777788889999")
BASE = {
    "engine": "athena",
    "flow_logs_bucket": "org-flow-logs",
    "regions": ("us-east-1",),
    "first_day": "2026-01-01",
    "athena_database": "flow_db",
    "athena_table": "flows",
    "max_limit": 1000,
}
INJECTED = Settings(**BASE, account_projection="injected", accounts=ACCOUNTS)  # type: ignore[arg-type]
ENUM = Settings(**BASE, accounts=ACCOUNTS)  # type: ignore[arg-type]


def _request(text: str, settings: Settings) -> FlowRequest:
    parsed = parse_command(f"{text} --from 2026-11-19T10:00Z --to 2026-11-19T12:00Z", CATALOG, settings, NOW)
    assert isinstance(parsed, FlowRequest)
    return parsed


def test_the_table_projects_accounts_as_injected_and_needs_no_list() -> None:
    properties = flow_table_properties(INJECTED)
    assert properties["projection.account_partition.type"] == "injected"
    assert "projection.account_partition.values" not in properties
    no_list = Settings(**BASE, account_projection="injected")  # type: ignore[arg-type]
    assert "'projection.account_partition.type' = 'injected'" in flow_table(no_list).sql
    assert flow_table_properties(ENUM)["projection.account_partition.values"] == ",".join(ACCOUNTS)


def _in_list(sql: str) -> exp.In:
    """The one IN on account_partition, inside the subquery that reads the table."""
    tree = sqlglot.parse_one(sql, read="trino")
    found = [i for i in tree.find_all(exp.In) if i.this.name == "account_partition"]
    assert len(found) == 1
    return found[0]


def test_a_query_names_its_account_or_every_configured_one() -> None:
    one = _request("count --account 444455556666", INJECTED)
    sql, parameters = to_athena(CATALOG["count"].sql, INJECTED, one.bindings())
    assert len(_in_list(sql).expressions) == 1 and "'444455556666'" in parameters
    every = _request("count", INJECTED)
    sql, parameters = to_athena(CATALOG["count"].sql, INJECTED, every.bindings())
    assert len(_in_list(sql).expressions) == 3
    assert [p for p in parameters if p.strip("'") in ACCOUNTS] == [f"'{a}'" for a in ACCOUNTS]


def test_with_no_account_anywhere_the_command_is_refused_with_the_form() -> None:
    bare = Settings(**BASE, account_projection="injected")  # type: ignore[arg-type]
    with pytest.raises(CommandError, match=r"name one, `count --last 1h --account 123456789012`") as refused:
        _request("count", bare)
    assert "context account" in str(refused.value)
    assert isinstance(_request("count --account 111122223333", bare), FlowRequest)


@pytest.mark.parametrize("text", ["count", "count --account 777788889999", "ratio 10.0.0.5", "top src"])
def test_injected_answers_what_the_enumerated_table_answers(text: str) -> None:
    con = duckdb.connect(":memory:")
    install_macros(con)
    con.execute("CREATE SCHEMA flow_db")
    con.execute(
        "CREATE TABLE flow_db.flows (version INTEGER, account VARCHAR, interfaceid VARCHAR,"
        " sourceaddress VARCHAR, destinationaddress VARCHAR, sourceport INTEGER, destinationport INTEGER,"
        " protocol INTEGER,"
        " numpackets BIGINT, numbytes BIGINT, starttime BIGINT, endtime BIGINT, action VARCHAR,"
        " logstatus VARCHAR, date_partition VARCHAR, region_partition VARCHAR, account_partition VARCHAR)"
    )
    start = int(datetime(2026, 11, 19, 10, 30, tzinfo=UTC).timestamp())
    rows = []
    for i in range(12):
        account = ACCOUNTS[i % 3]
        when = start + i * 300
        source = f"10.0.0.{5 + i % 3}"
        rows.append((2, account, f"eni-{i}", source, "198.51.100.7", 40000 + i, 443, 6, 10, 1000 * i,
                     when, when + 60, "ACCEPT", "OK", "2026/11/19", "us-east-1", account))  # fmt: skip
    con.executemany(f"INSERT INTO flow_db.flows VALUES ({', '.join('?' * 17)})", rows)
    described = con.execute("DESCRIBE flow_db.flows").fetchall()
    schema = {"flow_db": {"flows": {name: kind for name, kind, *_ in described}}}
    answers = []
    for settings in (ENUM, INJECTED):
        req = _request(text, settings)
        sql, parameters = to_athena(CATALOG[req.query].sql, settings, req.bindings())
        answers.append(con.execute(to_duckdb(filled_in(sql, parameters), schema)).fetchall())
    enumerated, injected = answers
    assert injected == enumerated and enumerated
