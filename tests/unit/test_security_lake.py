"""Security Lake as a source: the Athena SQL Flowbot sends for its OCSF table, run on a table of that shape,
answers what the local engine answers on the same files; Flowbot checks Security Lake's table, never makes it.

The OCSF table is built here from the sample writer's Security Lake files (`flowbot sample-data --layout
security-lake`), with the partition keys Security Lake's tables have (`region`, `accountid`, `eventday`, as
its example queries use them: Security Lake User Guide, "Example Security Lake queries for Amazon VPC Flow
Logs"). The local engine's answers against the pure-Python oracle are in tests/integration/test_layouts.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from moto import mock_aws

from bot.aws.ddl import statements
from bot.aws.glue import converge, drift, security_lake_problems
from bot.flowlog_layouts import LAYOUTS
from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.athena import to_athena
from bot.query.engines.dialect import install_macros, to_duckdb
from bot.query.engines.local import LocalEngine
from bot.request import FlowRequest
from bot.samples.flow_logs import EXFIL_HOST, generate
from bot.settings import Settings
from bot.words import CommandError
from tests.athena_sql import filled_in

CATALOG = load_catalog()
END = datetime(2026, 11, 20, tzinfo=UTC)
SL_DB, SL_TABLE = (
    "amazon_security_lake_glue_db_us_east_1",
    "amazon_security_lake_table_us_east_1_vpc_flow_2_0",
)
SETTINGS = Settings(
    layout="security-lake",
    athena_flow_database=SL_DB,
    athena_table=SL_TABLE,
    athena_database="flowbot",
    max_limit=1_000_000,
)
TEXTS = ["count", f"ratio {EXFIL_HOST}", "top src", "top dst", f"timeline {EXFIL_HOST}", "rejected",
         "talkers", "ssh", "pairs", f"from {EXFIL_HOST}", "admin"]  # fmt: skip


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("security-lake")
    generate(root, end=END, days=2, seed=7, scale=0.05, layout="security-lake")
    return root


@pytest.fixture(scope="module")
def ocsf_table(lake: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, Any]]]:
    """DuckDB holding Security Lake's table shape: the OCSF columns and the partition keys from the keys."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    install_macros(con)
    con.execute(f"CREATE SCHEMA {SL_DB}")
    files = [str(p) for p in sorted(lake.rglob("*.parquet"))]
    con.execute(
        f"CREATE TABLE {SL_DB}.{SL_TABLE} AS SELECT * EXCLUDE (filename), "
        r"regexp_extract(filename, 'region=([^/]+)', 1) AS region, "
        r"regexp_extract(filename, 'accountId=(\d+)', 1) AS accountid, "
        r"regexp_extract(filename, 'eventDay=(\d+)', 1) AS eventday "
        "FROM read_parquet(?, filename = true, hive_partitioning = false)",
        [files],
    )
    con.execute("CREATE SCHEMA flowbot")
    con.execute("CREATE TABLE flowbot.incident_iocs (threat_ip VARCHAR, threat_comment VARCHAR)")
    described = con.execute(f"DESCRIBE {SL_DB}.{SL_TABLE}").fetchall()
    schema = {
        SL_DB: {SL_TABLE: {name: kind for name, kind, *_ in described}},
        "flowbot": {"incident_iocs": {"threat_ip": "VARCHAR", "threat_comment": "VARCHAR"}},
    }
    yield con, schema
    con.close()


def _request(text: str, start: datetime, end: datetime) -> FlowRequest:
    parsed = parse_command(
        f"{text} --from {start:%Y-%m-%dT%H:%M}Z --to {end:%Y-%m-%dT%H:%M}Z --limit 1000000",
        CATALOG,
        SETTINGS,
        END,
    )
    assert isinstance(parsed, FlowRequest)
    return parsed


@pytest.mark.parametrize("text", TEXTS)
def test_athena_sql_on_the_ocsf_table_answers_as_the_local_engine(
    lake: Path, ocsf_table: tuple[duckdb.DuckDBPyConnection, dict[str, Any]], text: str
) -> None:
    con, schema = ocsf_table
    req = _request(text, END - timedelta(hours=30), END - timedelta(hours=2))
    template = CATALOG[req.query]
    sql, parameters = to_athena(template.sql, SETTINGS, req.bindings())
    assert f'"{SL_DB}"."{SL_TABLE}"' in sql
    assert '"eventday" BETWEEN ? AND ?' in sql  # pruned on Security Lake's day partition
    athena = con.execute(to_duckdb(filled_in(sql, parameters), schema)).fetchall()
    result = LocalEngine(lake, layout=LAYOUTS["security-lake"], ioc_dir=lake).run(template, req)
    local = [row for batch in result.batches() for row in batch]
    assert athena == local
    assert local, "the window holds records"


def test_the_event_day_bounds_are_the_windows_days() -> None:
    req = _request(
        "count", datetime(2026, 11, 18, 23, 30, tzinfo=UTC), datetime(2026, 11, 19, 0, 30, tzinfo=UTC)
    )
    _, parameters = to_athena(CATALOG["count"].sql, SETTINGS, req.bindings())
    assert parameters[:2] == ["'20261118'", "'20261120'"]  # the last day plus the one-day margin


def test_fields_security_lake_lacks_are_refused_by_name() -> None:
    with pytest.raises(CommandError, match="pkt-dstaddr, pkt-srcaddr, which Security Lake's OCSF records"):
        _request("talkers packets", END - timedelta(hours=3), END)


def test_setup_never_makes_security_lakes_table() -> None:
    created = " ".join(s.creates for s in statements(SETTINGS))
    assert SL_TABLE not in created


def _glue_table(glue: Any, columns: list[dict[str, str]], keys: list[str]) -> None:
    glue.create_database(DatabaseInput={"Name": SL_DB})
    glue.create_table(
        DatabaseName=SL_DB,
        TableInput={
            "Name": SL_TABLE,
            "StorageDescriptor": {
                "Columns": columns,
                "Location": "s3://aws-security-data-lake/aws/VPC_FLOW/2.0/",
            },
            "PartitionKeys": [{"Name": k, "Type": "string"} for k in keys],
        },
    )


OCSF_COLUMNS = [
    {"Name": "metadata", "Type": "struct<product:struct<version:string,name:string>>"},
    {"Name": "cloud", "Type": "struct<account:struct<uid:string>,region:string,zone:string>"},
    *(
        {"Name": side, "Type": "struct<ip:string,port:int,interface_uid:string,vpc_uid:string,"
                               "subnet_uid:string,instance_uid:string,svc_name:string>"}
        for side in ("src_endpoint", "dst_endpoint")
    ),
    {"Name": "connection_info", "Type": "struct<protocol_num:int,tcp_flags:int,direction:string>"},
    {"Name": "traffic", "Type": "struct<packets:bigint,bytes:bigint>"},
    *({"Name": n, "Type": "bigint"} for n in ("start_time", "end_time")),
    {"Name": "action_id", "Type": "int"},
    {"Name": "status_code", "Type": "string"},
]  # fmt: skip
"""Security Lake's VPC flow table as far as Flowbot reads it (the OCSF names of bot/query/ocsf.py)."""


@mock_aws
def test_setup_checks_security_lakes_table_and_names_what_it_lacks() -> None:
    glue = boto3.client("glue", region_name="us-east-1")
    assert security_lake_problems(glue, SETTINGS)[0].endswith(
        "(amazon_security_lake_glue_db_<region>.amazon_security_lake_table_<region>_vpc_flow_2_0)"
    )
    _glue_table(glue, OCSF_COLUMNS, ["region", "accountid", "eventday"])
    assert security_lake_problems(glue, SETTINGS) == []
    report = converge(glue, SETTINGS, apply=False)
    assert report.drifted == 0 and any("has what Flowbot reads" in line for line in report.lines)
    assert drift(glue, SETTINGS) == []
    assert glue.get_tables(DatabaseName="flowbot")["TableList"] == []  # nothing of Flowbot's needed here


@mock_aws
def test_a_security_lake_table_without_what_flowbot_reads_is_reported_not_changed() -> None:
    glue = boto3.client("glue", region_name="us-east-1")
    lacking = [c for c in OCSF_COLUMNS if c["Name"] != "traffic"]
    lacking[0] = {"Name": "metadata", "Type": "struct<product:struct<name:string>>"}
    _glue_table(glue, lacking, ["region", "eventday"])
    problems = security_lake_problems(glue, SETTINGS)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "column metadata lacks version",
        "column traffic is missing",
        "partition keys lack accountid",
    ]
    report = converge(glue, SETTINGS, apply=True)
    assert report.drifted == 3 and not any("--apply" in line for line in report.lines)
    table = glue.get_table(DatabaseName=SL_DB, Name=SL_TABLE)["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == [c["Name"] for c in lacking]
