"""The playbook's DDL, generated from settings."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from bot.aws.ddl import flow_table, ioc_view, statements
from bot.cli import main
from bot.settings import MissingSettingError, Settings

V4 = (
    "${version} ${vpc-id} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} "
    "${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${pkt-srcaddr} ${pkt-dstaddr} "
    "${region} ${az-id}"
)
EVERY_FIELD = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
    "${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${type} ${tcp-flags} ${subnet-id} "
    "${sublocation-type} ${sublocation-id} ${region} ${pkt-srcaddr} ${pkt-dstaddr} ${instance-id} ${az-id} "
    "${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}"
)
PLAYBOOK_TYPES = {
    "version": "int",
    "account": "string",
    "interfaceid": "string",
    "sourceaddress": "string",
    "destinationaddress": "string",
    "sourceport": "int",
    "destinationport": "int",
    "protocol": "int",
    "numpackets": "int",
    "numbytes": "bigint",
    "starttime": "int",
    "endtime": "int",
    "action": "string",
    "logstatus": "string",
    "vpcid": "string",
    "type": "string",
    "tcpflags": "smallint",
    "subnetid": "string",
    "sublocationtype": "string",
    "sublocationid": "string",
    "region": "string",
    "pktsrcaddr": "string",
    "pktdstaddr": "string",
    "instanceid": "string",
    "azid": "string",
    "pktsrcawsservice": "string",  # the playbook writes the v5 names with hyphens (`pkt-src-aws-service`)
    "pktdstawsservice": "string",
    "flowdirection": "string",
    "trafficpath": "int",
}
"""The columns of the playbook's `vpcflow` DDL and the types it declares, written out from its text."""
WIDENED_FROM_THE_PLAYBOOK = {"numpackets": "bigint", "starttime": "bigint", "endtime": "bigint"}
"""The deliberate differences from the playbook's DDL, and the only ones: packets, start and end are `bigint`,
as in AWS's reference DDL for flow logs in Athena, because the playbook's `int` overflows (Athena reads NULL)
for a record of more than 2^31-1 packets and for epoch seconds from 2038-01-19 03:14:08 UTC on."""


def settings(**extra: object) -> Settings:
    base: dict[str, object] = {
        "flow_logs_bucket": "central-logs",
        "flow_logs_prefix": "prod/vpc",
        "accounts": ("012345678901", "111122223333"),
        "regions": ("us-east-1", "eu-west-1"),
        "first_day": "2025-11-30",
        "athena_database": "ir",
        "ioc_store": "s3://bucket-analysis/iocs",
        "athena_json_location": "s3://central-logs/json/",
    }
    base.update(extra)
    return Settings(**base)  # type: ignore[arg-type]


def test_every_statement_parses_as_athena_ddl() -> None:
    made = statements(settings())
    assert [s.creates for s in made] == [
        "database ir",
        "table ir.vpcflow",
        "table ir.vpc_flow_logs",
        "table ir.incident_iocs",
        "view ir.incident_vpc_flow_directional",
    ]
    for statement in made:
        tree = sqlglot.parse_one(statement.sql, read="athena")
        assert isinstance(tree, exp.Create), statement.creates


def test_the_flow_table_follows_the_configured_format_and_projects_partitions() -> None:
    sql = flow_table(settings(log_format=V4)).sql
    columns = [line.split("`")[1] for line in sql.split("(\n", 1)[1].split("\n)", 1)[0].splitlines()]
    assert columns == [
        "version",
        "vpcid",
        "account",
        "interfaceid",
        "sourceaddress",
        "destinationaddress",
        "sourceport",
        "destinationport",
        "protocol",
        "numpackets",
        "numbytes",
        "starttime",
        "endtime",
        "action",
        "logstatus",
        "pktsrcaddr",
        "pktdstaddr",
        "region",
        "azid",
    ]
    assert "`numbytes` bigint" in sql and "`starttime` bigint" in sql
    assert "LOCATION 's3://central-logs/prod/vpc/AWSLogs/'" in sql
    assert "'projection.date_partition.range' = '2025/11/30,NOW'" in sql
    assert "'projection.account_partition.values' = '012345678901,111122223333'" in sql
    assert "'projection.region_partition.values' = 'us-east-1,eu-west-1'" in sql
    assert (
        "'storage.location.template' = 's3://central-logs/prod/vpc/AWSLogs/${account_partition}/vpcflowlogs/"
        "${region_partition}/${date_partition}'" in sql
    )


def column_types(sql: str) -> dict[str, str]:
    """The `name` type lines of a CREATE TABLE's column list."""
    lines = sql.split("(\n", 1)[1].split("\n)", 1)[0].splitlines()
    return {line.split("`")[1]: line.split("`")[2].strip(" ,") for line in lines}


@pytest.mark.parametrize("log_format", [V4, EVERY_FIELD])
def test_column_types_are_the_playbooks_but_for_three_widened_to_bigint(log_format: str) -> None:
    types = column_types(flow_table(settings(log_format=log_format)).sql)
    if log_format == EVERY_FIELD:
        assert types.keys() == PLAYBOOK_TYPES.keys()
    playbook = {name: PLAYBOOK_TYPES[name] for name in types}
    assert types == playbook | WIDENED_FROM_THE_PLAYBOOK
    assert {n: (playbook[n], t) for n, t in types.items() if playbook[n] != t} == {
        "numpackets": ("int", "bigint"),
        "starttime": ("int", "bigint"),
        "endtime": ("int", "bigint"),
    }


def test_the_view_keeps_partition_columns_so_queries_on_it_prune() -> None:
    tree = sqlglot.parse_one(ioc_view(settings()).sql, read="athena")
    for select in tree.find_all(exp.Select):
        if select.args.get("from_") is None and select.args.get("from") is None:
            continue
        names = select.named_selects
        if "direction" in names:
            assert {"date_partition", "region_partition", "account_partition", "connecting_ip"} <= set(names)


@pytest.mark.parametrize(
    ("missing", "says"),
    [
        ({"flow_logs_bucket": None}, "FLOWBOT_FLOW_LOGS_BUCKET"),
        ({"accounts": ()}, "FLOWBOT_ACCOUNTS"),
        ({"first_day": None}, "FLOWBOT_FIRST_DAY"),
    ],
)
def test_missing_settings_are_named(missing: dict[str, object], says: str) -> None:
    with pytest.raises(MissingSettingError, match=says):
        statements(settings(**missing))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("athena_table", "vpcflow; DROP TABLE x"),
        ("athena_database", "Prod-DB"),
        ("accounts", "12345"),
        ("regions", "us-east-1,moon"),
        ("flow_logs_prefix", "it's"),
        ("flow_logs_bucket", "Bad_Bucket"),
        ("log_format", "${version} ${nonsense}"),
        ("ioc_store", "s3://Bad_Bucket/x"),
    ],
)
def test_settings_refuse_what_could_break_the_ddl(field: str, value: str) -> None:
    with pytest.raises(ValueError):
        settings(**{field: value})


def test_ddl_prints_statements_and_names_missing_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLOWBOT_FLOW_LOGS_BUCKET", raising=False)
    assert main(["athena", "ddl"]) == 1
    assert "FLOWBOT_FLOW_LOGS_BUCKET" in capsys.readouterr().err
