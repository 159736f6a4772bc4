"""Every template on Athena in every flow-log layout: the logical `vpcflow` relation each layout puts in the
table's place (bot/query/sources.py), as `to_athena` writes it.

The physical tables' names and types are written out here from AWS's documentation, not computed by the code
under test: the Parquet columns of AWS's reference DDL (Amazon Athena User Guide, "Create tables for flow
logs in Apache Parquet format", https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-parquet.html) and
the partition columns Flowbot's DDL gives each layout (bot/aws/ddl.py; tests/unit/test_layout_ddl.py).
The last tests run the Athena SQL itself, transpiled to DuckDB, on physical tables of each layout holding
the same records, and compare its answers with the playbook's table's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from bot.flowlog_layouts import DEFAULT_LAYOUT, FLOW_LOG_LAYOUTS
from bot.query.catalog import LOGICAL_TABLE, QueryTemplate, load_catalog
from bot.query.engines.athena import to_athena
from bot.query.engines.dialect import install_macros, to_duckdb
from bot.query.sources import flow_relation
from bot.request import FlowRequest, Window
from bot.settings import Settings
from tests.athena_sql import filled_in

EVERY_FIELD = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
    "${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${type} ${tcp-flags} ${subnet-id} "
    "${sublocation-type} ${sublocation-id} ${region} ${pkt-srcaddr} ${pkt-dstaddr} ${instance-id} ${az-id} "
    "${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path} "
    "${resource-type} ${tgw-id} ${tgw-attachment-id} ${tgw-src-vpc-account-id} ${tgw-dst-vpc-account-id} "
    "${tgw-src-vpc-id} ${tgw-dst-vpc-id} ${tgw-src-subnet-id} ${tgw-dst-subnet-id} ${tgw-src-eni} "
    "${tgw-dst-eni} ${tgw-src-az-id} ${tgw-dst-az-id} ${tgw-pair-attachment-id} ${packets-lost-no-route} "
    "${packets-lost-blackhole} ${packets-lost-mtu-exceeded} ${packets-lost-ttl-expired}"
)
"""Every field, so that every template's columns exist in every layout's relation: the VPC fields, then
those of Transit Gateway flow logs (Amazon VPC Transit Gateways, "Transit Gateway Flow Log records")."""
V2 = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} " + (
    "${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
)

LOGICAL_TYPES = {
    "version": "INT", "account": "VARCHAR", "interfaceid": "VARCHAR", "sourceaddress": "VARCHAR",
    "destinationaddress": "VARCHAR", "sourceport": "INT", "destinationport": "INT", "protocol": "INT",
    "numpackets": "BIGINT", "numbytes": "BIGINT", "starttime": "BIGINT", "endtime": "BIGINT",
    "action": "VARCHAR", "logstatus": "VARCHAR", "vpcid": "VARCHAR", "type": "VARCHAR",
    "tcpflags": "SMALLINT",
    "subnetid": "VARCHAR", "sublocationtype": "VARCHAR", "sublocationid": "VARCHAR", "region": "VARCHAR",
    "pktsrcaddr": "VARCHAR", "pktdstaddr": "VARCHAR", "instanceid": "VARCHAR", "azid": "VARCHAR",
    "pktsrcawsservice": "VARCHAR", "pktdstawsservice": "VARCHAR", "flowdirection": "VARCHAR",
    "trafficpath": "INT",
    "resourcetype": "VARCHAR", "tgwid": "VARCHAR", "tgwattachmentid": "VARCHAR",
    "tgwsrcvpcaccountid": "VARCHAR", "tgwdstvpcaccountid": "VARCHAR", "tgwsrcvpcid": "VARCHAR",
    "tgwdstvpcid": "VARCHAR", "tgwsrcsubnetid": "VARCHAR", "tgwdstsubnetid": "VARCHAR",
    "tgwsrceni": "VARCHAR", "tgwdsteni": "VARCHAR", "tgwsrcazid": "VARCHAR", "tgwdstazid": "VARCHAR",
    "tgwpairattachmentid": "VARCHAR",
    "packetslostnoroute": "BIGINT", "packetslostblackhole": "BIGINT", "packetslostmtuexceeded": "BIGINT",
    "packetslostttlexpired": "BIGINT",
}  # fmt: skip
"""The logical table's columns, in EVERY_FIELD's order, with their types (sqlglot's names for Athena's
integer, bigint, smallint and varchar): the playbook's, packets, start and end widened to bigint."""
PARQUET_NAMES = {
    "version": "version", "account": "account_id", "interfaceid": "interface_id", "sourceaddress": "srcaddr",
    "destinationaddress": "dstaddr", "sourceport": "srcport", "destinationport": "dstport",
    "protocol": "protocol", "numpackets": "packets", "numbytes": "bytes", "starttime": "start",
    "endtime": "end", "action": "action", "logstatus": "log_status", "vpcid": "vpc_id", "type": "type",
    "tcpflags": "tcp_flags", "subnetid": "subnet_id", "sublocationtype": "sublocation_type",
    "sublocationid": "sublocation_id", "region": "region", "pktsrcaddr": "pkt_srcaddr",
    "pktdstaddr": "pkt_dstaddr", "instanceid": "instance_id", "azid": "az_id",
    "pktsrcawsservice": "pkt_src_aws_service", "pktdstawsservice": "pkt_dst_aws_service",
    "flowdirection": "flow_direction", "trafficpath": "traffic_path",
    "resourcetype": "resource_type", "tgwid": "tgw_id", "tgwattachmentid": "tgw_attachment_id",
    "tgwsrcvpcaccountid": "tgw_src_vpc_account_id", "tgwdstvpcaccountid": "tgw_dst_vpc_account_id",
    "tgwsrcvpcid": "tgw_src_vpc_id", "tgwdstvpcid": "tgw_dst_vpc_id", "tgwsrcsubnetid": "tgw_src_subnet_id",
    "tgwdstsubnetid": "tgw_dst_subnet_id", "tgwsrceni": "tgw_src_eni", "tgwdsteni": "tgw_dst_eni",
    "tgwsrcazid": "tgw_src_az_id", "tgwdstazid": "tgw_dst_az_id",
    "tgwpairattachmentid": "tgw_pair_attachment_id", "packetslostnoroute": "packets_lost_no_route",
    "packetslostblackhole": "packets_lost_blackhole", "packetslostmtuexceeded": "packets_lost_mtu_exceeded",
    "packetslostttlexpired": "packets_lost_ttl_expired",
}  # fmt: skip
"""Logical column → the Parquet column AWS's reference DDL names for the same field."""
PARQUET_TYPES = {
    "version": "int", "protocol": "bigint", "srcport": "int", "dstport": "int", "packets": "bigint",
    "bytes": "bigint", "start": "bigint", "end": "bigint", "tcp_flags": "int", "traffic_path": "int",
    "packets_lost_no_route": "bigint", "packets_lost_blackhole": "bigint",
    "packets_lost_mtu_exceeded": "bigint", "packets_lost_ttl_expired": "bigint",
}  # fmt: skip
"""AWS's reference DDL's non-string Parquet columns (`protocol bigint`, `tcp_flags int`, ...), and the Transit
Gateway loss counters, INT_64 in Parquet ("Transit Gateway Flow Log records", Available fields)."""
PARTITION_KEYS = {
    "text-daily": ("date_partition", "region_partition", "account_partition"),
    "text-hourly": ("date_partition", "hour_partition", "region_partition", "account_partition"),
    "text-hive-daily": ("account_partition", "region_partition", "year_partition", "month_partition",
                        "day_partition"),
    "text-hive-hourly": ("account_partition", "region_partition", "year_partition", "month_partition",
                         "day_partition", "hour_partition"),
}  # fmt: skip
PARTITION_KEYS |= {name.replace("text", "parquet"): keys for name, keys in PARTITION_KEYS.items()}
LOGICAL_PARTITIONS = ("date_partition", "region_partition", "account_partition")

SUBQUERY_LAYOUTS = [name for name in FLOW_LOG_LAYOUTS if name != DEFAULT_LAYOUT]
FLOW_TEMPLATES = [t for t in load_catalog() if t.table == LOGICAL_TABLE]
REAL = '"flow_db"."flow_v2"'
IOCS = '"flow_db"."iocs_v1"'


def settings(layout: str, log_format: str = EVERY_FIELD) -> Settings:
    return Settings(
        layout=layout,
        log_format=log_format,
        athena_database="flow_db",
        athena_table="flow_v2",
        athena_ioc_table="iocs_v1",
    )


def request(template: QueryTemplate, start: datetime, end: datetime, **scope: Any) -> FlowRequest:
    return FlowRequest(
        query=template.name,
        params={p.name: "10.0.0.5" for p in template.params},
        window=Window(start=start, end=end),
        limit=500,
        text=template.name,
        **scope,
    )


REQUEST_WINDOW = (datetime(2026, 11, 18, 6, tzinfo=UTC), datetime(2026, 11, 19, 6, tzinfo=UTC))


def physical_columns(layout: str, log_format: str = EVERY_FIELD) -> dict[str, str]:
    """The physical table's data columns and their Hive types, as AWS's DDL (Parquet) or the playbook's
    (text) declare them, for the fields of the format."""
    names = [c for c in LOGICAL_TYPES if f"${{{_header(c)}}}" in log_format]
    if layout.startswith("parquet"):
        return {PARQUET_NAMES[n]: PARQUET_TYPES.get(PARQUET_NAMES[n], "string") for n in names}
    hive = {"INT": "int", "BIGINT": "bigint", "SMALLINT": "smallint", "VARCHAR": "string"}
    return {n: hive[LOGICAL_TYPES[n]] for n in names}


def _header(column: str) -> str:
    """The header name of a logical column (the Parquet name with `-` for `_`)."""
    return PARQUET_NAMES[column].replace("_", "-")


def flow_scan(tree: exp.Expression) -> tuple[exp.Table, exp.Select]:
    """The one read of the physical flow table, and the SELECT that reads it."""
    reads = [t for t in tree.find_all(exp.Table) if f'"{t.db}"."{t.name}"' == REAL]
    assert len(reads) == 1, [t.sql("trino") for t in reads]
    select = reads[0].find_ancestor(exp.Select)
    assert select is not None
    return reads[0], select


def _clause_of(placeholder: exp.Expression) -> str:
    """The clause a `?` sits in, named by walking up the parsed tree."""
    node: exp.Expression | None = placeholder
    while node is not None:
        if isinstance(node, exp.Where):
            return "WHERE"
        if isinstance(node.parent, exp.Select | exp.Join) and node.arg_key != "this":
            return node.arg_key.upper()
        node = node.parent
    return "?"


def _literal(value: object) -> exp.Expression:
    return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(str(value))


def by_name(template: QueryTemplate, layout: Settings, bindings: dict[str, object]) -> str:
    """The template with the layout's relation in `vpcflow`'s place and every value written in by name."""
    tree = sqlglot.parse_one(template.sql, read="trino")
    for table in list(tree.find_all(exp.Table)):
        if table.name == LOGICAL_TABLE:
            inner = sqlglot.parse_one(flow_relation(layout), read="trino").unnest()
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(LOGICAL_TABLE))
            table.replace(exp.Subquery(this=inner, alias=alias))
        else:
            real = exp.to_table(IOCS, dialect="trino")
            table.set("this", real.this)
            table.set("db", real.args["db"])
    for placeholder in list(tree.find_all(exp.Placeholder)):
        placeholder.replace(_literal(bindings[placeholder.name]))
    return tree.sql(dialect="trino")


# --- every template, every layout: the structure of the SQL Athena receives -----------------------------


def test_in_the_default_layout_the_relation_is_the_playbooks_table_itself() -> None:
    assert flow_relation(settings(DEFAULT_LAYOUT)) == REAL
    assert flow_relation(Settings(athena_database="flow_db", athena_table="flow_v2")) == REAL
    for template in FLOW_TEMPLATES:
        bindings = request(template, *REQUEST_WINDOW).bindings()
        sql, parameters = to_athena(template.sql, settings(DEFAULT_LAYOUT), bindings)
        _, scan = flow_scan(sqlglot.parse_one(sql, read="trino"))
        assert "date_partition" not in scan.named_selects  # the template's own SELECT reads the table
        assert (sql, parameters) == to_athena(template.sql, settings(DEFAULT_LAYOUT, V2), bindings)


@pytest.mark.parametrize("layout", SUBQUERY_LAYOUTS)
@pytest.mark.parametrize("template", FLOW_TEMPLATES, ids=lambda t: t.name)
def test_every_template_reads_the_layouts_physical_table_through_a_pruning_subquery(
    template: QueryTemplate, layout: str
) -> None:
    bindings = request(template, *REQUEST_WINDOW, account="012345678901", region="eu-west-3").bindings()
    sql, parameters = to_athena(template.sql, settings(layout), bindings)
    tree = sqlglot.parse_one(sql, read="trino")  # parses in Athena's dialect

    placeholders = list(tree.find_all(exp.Placeholder))
    assert len(placeholders) == len(parameters) > 0 and all(not p.this for p in placeholders)
    assert [_clause_of(p) for p in placeholders] == ["WHERE"] * len(placeholders)
    for name in ("first_day", "first_hour", "last_hour", "account", "region"):
        assert str(bindings[name]) not in sql  # values travel as parameters only
    read = {f'"{t.db}"."{t.name}"' for t in tree.find_all(exp.Table)}
    assert read == ({REAL, IOCS} if template.reads_iocs else {REAL})
    assert "vpcflow" not in {t.name for t in tree.find_all(exp.Table)}

    # The physical table is read by one SELECT, which reads only physical columns: no logical-only name
    # (sourceaddress on Parquet, date_partition in a Hive layout) reaches the physical table.
    _, scan = flow_scan(tree)
    assert isinstance(scan.parent, exp.Subquery)
    allowed = set(physical_columns(layout)) | set(PARTITION_KEYS[layout])
    assert {c.name for c in scan.find_all(exp.Column)} <= allowed
    assert all(not c.table for c in scan.find_all(exp.Column))  # nothing from outside the subquery
    # ... and yields every logical column the template may read, with the logical partition columns.
    assert set(scan.named_selects) == set(LOGICAL_TYPES) | set(LOGICAL_PARTITIONS) | (
        {"hour_partition"} if layout.endswith("hourly") else set()
    )

    # The partition predicate inside is on physical partition columns only, and bounds what the layout
    # partitions by: the hour (hourly), the year (Hive), the day (Hive, daily).
    where = scan.args.get("where")
    if layout.startswith(("text-daily", "parquet-daily")):
        assert where is None  # the template's own date_partition predicate is on the physical column
    else:
        assert where is not None
        assert {c.name for c in where.find_all(exp.Column)} <= set(PARTITION_KEYS[layout])
        condition = " ".join(where.sql("trino").split())
        if layout.endswith("hourly"):
            assert "'/', \"hour_partition\") BETWEEN ? AND ?" in condition
        if "-hive-" in layout:
            assert '"year_partition" BETWEEN ? AND ?' in condition

    # Positional parameters mean exactly what the named ones did, the relation's own included.
    assert filled_in(sql, parameters) == by_name(template, settings(layout), bindings)


@pytest.mark.parametrize("layout", FLOW_LOG_LAYOUTS)
def test_the_relation_has_the_logical_types_whatever_the_physical_ones(layout: str) -> None:
    """Typed by sqlglot against the physical table as the DDL declares it: each logical column has the
    type the templates expect (the Parquet DDL's `protocol bigint` is read as integer, `tcp_flags int` as
    smallint)."""
    hive_to_sql = {"int": "INT", "bigint": "BIGINT", "smallint": "SMALLINT", "string": "VARCHAR"}
    columns = {name: hive_to_sql[kind] for name, kind in physical_columns(layout).items()}
    schema = {"flow_db": {"flow_v2": columns | dict.fromkeys(PARTITION_KEYS[layout], "VARCHAR")}}
    relation = flow_relation(settings(layout), window=False)
    select = relation if relation == REAL else relation[1:-1]
    tree = sqlglot.parse_one(f"SELECT * FROM {select}" if relation == REAL else select, read="trino")
    typed = annotate_types(qualify(tree, schema=schema, dialect="trino"), schema=schema, dialect="trino")
    assert isinstance(typed, exp.Select)
    got = {s.alias_or_name: s.type.sql("trino").upper() for s in typed.selects if s.type is not None}
    wanted = LOGICAL_TYPES | dict.fromkeys(LOGICAL_PARTITIONS, "VARCHAR")
    if layout.endswith("hourly"):
        wanted["hour_partition"] = "VARCHAR"
    assert got == {name: "INTEGER" if kind == "INT" else kind for name, kind in wanted.items()}


def test_parquet_hive_hourly_maps_aws_names_and_types_and_reads_the_day_from_the_path() -> None:
    relation = flow_relation(settings("parquet-hive-hourly", V2))
    lines = [line.strip().rstrip(",") for line in relation.splitlines()]
    assert lines == [
        '(SELECT "version"',
        '"account_id" AS account',
        '"interface_id" AS interfaceid',
        '"srcaddr" AS sourceaddress',
        '"dstaddr" AS destinationaddress',
        '"srcport" AS sourceport',
        '"dstport" AS destinationport',
        'CAST("protocol" AS integer) AS protocol',
        '"packets" AS numpackets',
        '"bytes" AS numbytes',
        '"start" AS starttime',
        '"end" AS endtime',
        '"action"',
        '"log_status" AS logstatus',
        'concat("year_partition", \'/\', "month_partition", \'/\', "day_partition") AS date_partition',
        '"region_partition"',
        '"account_partition"',
        '"hour_partition"',
        f"FROM {REAL}",
        'WHERE "year_partition" BETWEEN :first_year AND :last_year AND "month_partition" BETWEEN '
        ':first_month AND :last_month AND "day_partition" BETWEEN :first_mday AND :last_mday AND '
        '"hour_partition" BETWEEN :first_hh AND :last_hh AND concat("year_partition", \'/\', '
        '"month_partition", \'/\', "day_partition", \'/\', "hour_partition") BETWEEN :first_hour AND '
        ":last_hour)",
    ]
    every = flow_relation(settings("parquet-daily"))
    assert 'CAST("tcp_flags" AS smallint) AS tcpflags' in every
    assert '"traffic_path" AS trafficpath' in every and "WHERE" not in every
    assert flow_relation(settings("text-hive-daily", V2)).endswith(
        'WHERE "year_partition" BETWEEN :first_year AND :last_year AND "month_partition" BETWEEN '
        ':first_month AND :last_month AND "day_partition" BETWEEN :first_mday AND :last_mday AND '
        'concat("year_partition", \'/\', "month_partition", \'/\', "day_partition") BETWEEN :first_day AND '
        ":last_day)"
    )
    assert flow_relation(settings("text-hourly", V2)).endswith(
        'WHERE "hour_partition" BETWEEN :first_hh AND :last_hh AND concat("date_partition", \'/\', '
        '"hour_partition") BETWEEN :first_hour AND :last_hour)'
    )


def test_a_window_across_new_year_binds_both_years_and_the_hours_with_their_margin() -> None:
    ratio = load_catalog()["ratio"]
    window = (datetime(2026, 12, 31, 22, 30, tzinfo=UTC), datetime(2026, 12, 31, 23, 45, tzinfo=UTC))
    bindings = request(ratio, *window).bindings()
    _, parameters = to_athena(ratio.sql, settings("parquet-hive-hourly"), bindings)
    # year from the first partition day; the last day (with its one-day margin) is in the next year, so
    # month and day of month span their whole columns, and so do the hours (the margin crosses midnight)
    assert parameters[:10] == [
        *("'2026'", "'2027'", "'01'", "'12'", "'01'", "'31'", "'00'", "'23'"),
        *("'2026/12/31/22'", "'2027/01/01/00'"),
    ]
    assert parameters[10:14] == ["'10.0.0.5'", "'10.0.0.5'", "'2026/12/31'", "'2027/01/01'"]
    _, hourly = to_athena(ratio.sql, settings("text-hourly"), bindings)
    assert hourly[:4] == ["'00'", "'23'", "'2026/12/31/22'", "'2027/01/01/00'"]  # last hour + 1-hour margin
    one_day = request(ratio, datetime(2026, 11, 19, 10, tzinfo=UTC), datetime(2026, 11, 19, 11, tzinfo=UTC))
    _, narrow = to_athena(ratio.sql, settings("parquet-hive-hourly"), one_day.bindings())
    # within one month and one day, every column narrows: November 19-20 (the day's margin), hours 10-11
    assert narrow[:10] == [
        *("'2026'", "'2026'", "'11'", "'11'", "'19'", "'20'", "'10'", "'11'"),
        *("'2026/11/19/10'", "'2026/11/19/11'"),
    ]
    _, daily = to_athena(ratio.sql, settings("parquet-daily"), bindings)
    assert daily == to_athena(ratio.sql, settings(DEFAULT_LAYOUT), bindings)[1]  # no predicate of its own


# --- running the Athena SQL: every layout answers as the playbook's table does ----------------------------

TRAFFIC = [
    ("10.0.0.5", "198.51.100.7", 443, 6, "ACCEPT", 5_000),
    ("198.51.100.7", "10.0.0.5", 51000, 6, "ACCEPT", 90_000),
    ("10.0.0.5", "203.0.113.9", 22, 6, "REJECT", 120),
    ("203.0.113.9", "10.0.0.5", 3389, 6, "REJECT", 60),
    ("10.0.0.6", "10.0.0.5", 53, 17, "ACCEPT", 300),
    ("2001:db8::1", "10.0.0.5", 443, 6, "ACCEPT", 700),
    ("10.0.0.5", "192.0.2.44", 8443, 6, "ACCEPT", 12_345),
]
"""(source, destination, destination port, protocol, action, bytes) of each record."""
_BASE = int(datetime(2026, 11, 18, 6, tzinfo=UTC).timestamp())


def _record(i: int, src: str, dst: str, dport: int, proto: int, action: str, size: int) -> dict[str, Any]:
    """Record `i` of the window (logical column → value), starting 3 hours after the one before."""
    start = _BASE + i * 3 * 3600 + 17 * 60  # spread over the window's hours and two days
    return {
        "version": 5, "account": "012345678901", "interfaceid": f"eni-{i:04x}", "sourceaddress": src,
        "destinationaddress": dst, "sourceport": 40000 + i, "destinationport": dport, "protocol": proto,
        "numpackets": 3 + i, "numbytes": size, "starttime": start, "endtime": start + 50, "action": action,
        "logstatus": "OK", "vpcid": "vpc-1", "type": "IPv4", "tcpflags": 2 + i, "subnetid": f"subnet-{i % 2}",
        "sublocationtype": "-", "sublocationid": "-", "region": "eu-west-3", "pktsrcaddr": src,
        "pktdstaddr": dst, "instanceid": f"i-{i % 3}", "azid": "euw3-az1", "pktsrcawsservice": "-",
        "pktdstawsservice": "-", "flowdirection": "ingress", "trafficpath": 1,
        "resourcetype": "TransitGateway", "tgwid": "tgw-1", "tgwattachmentid": f"tgw-attach-{i % 3}",
        "tgwsrcvpcaccountid": "012345678901", "tgwdstvpcaccountid": "111122223333", "tgwsrcvpcid": "vpc-1",
        "tgwdstvpcid": f"vpc-{2 + i % 2}", "tgwsrcsubnetid": "subnet-0", "tgwdstsubnetid": "subnet-9",
        "tgwsrceni": "eni-a", "tgwdsteni": "eni-b", "tgwsrcazid": "euw3-az1", "tgwdstazid": "euw3-az2",
        "tgwpairattachmentid": f"tgw-attach-{(i + 1) % 3}", "packetslostnoroute": i % 2,
        "packetslostblackhole": 2 * (i % 3), "packetslostmtuexceeded": 0, "packetslostttlexpired": i // 5,
    }  # fmt: skip


RECORDS = [_record(i, *flow) for i, flow in enumerate(TRAFFIC)]
"""The records every physical table holds; each is foldered in its start's hour."""
IOC_ROWS = [("203.0.113.9", "scanner"), ("198.51.100.0/24", "c2 range")]


def _partition_values(layout: str, record: dict[str, Any]) -> dict[str, str]:
    """A record's physical partition values: its start hour's folder, as the layout names it."""
    when = datetime.fromtimestamp(record["starttime"], UTC)
    values = {"region_partition": "eu-west-3", "account_partition": "012345678901"}
    if "-hive-" in layout:
        values |= {
            "year_partition": f"{when:%Y}",
            "month_partition": f"{when:%m}",
            "day_partition": f"{when:%d}",
        }
    else:
        values["date_partition"] = f"{when:%Y/%m/%d}"
    if layout.endswith("hourly"):
        values["hour_partition"] = f"{when:%H}"
    return values


def _physical_row(layout: str, record: dict[str, Any]) -> dict[str, Any]:
    parquet = layout.startswith("parquet")
    row = {(PARQUET_NAMES[c] if parquet else c): v for c, v in record.items()}
    return row | _partition_values(layout, record)


_DUCK = {"int": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT", "string": "VARCHAR"}


def _database(layout: str) -> tuple[duckdb.DuckDBPyConnection, dict[str, object]]:
    """DuckDB holding the layout's physical flow table (the records) and the IOC table, and their schema."""
    columns = {n: _DUCK[k] for n, k in physical_columns(layout).items()}
    columns |= dict.fromkeys(PARTITION_KEYS[layout], "VARCHAR")
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    install_macros(con)
    con.execute("CREATE SCHEMA flow_db")
    ddl = ", ".join(f'"{n}" {t}' for n, t in columns.items())
    con.execute(f"CREATE TABLE flow_db.flow_v2 ({ddl})")
    names = list(columns)
    holes = ", ".join("?" for _ in names)
    rows = [[_physical_row(layout, r)[n] for n in names] for r in RECORDS]
    con.executemany(f"INSERT INTO flow_db.flow_v2 VALUES ({holes})", rows)
    con.execute("CREATE TABLE flow_db.iocs_v1 (threat_ip VARCHAR, threat_comment VARCHAR)")
    con.executemany("INSERT INTO flow_db.iocs_v1 VALUES (?, ?)", IOC_ROWS)
    schema = {
        "flow_db": {
            "flow_v2": {n: t.lower() for n, t in columns.items()},
            "iocs_v1": {"threat_ip": "varchar", "threat_comment": "varchar"},
        }
    }
    return con, schema


def _answer(layout: str, template: QueryTemplate, bindings: dict[str, object]) -> list[tuple[Any, ...]]:
    """What the Athena SQL of the template answers on the layout's physical table (run by DuckDB)."""
    sql, parameters = to_athena(template.sql, settings(layout), bindings)
    con, schema = _database(layout)
    try:
        return con.execute(to_duckdb(filled_in(sql, parameters), schema)).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("layout", SUBQUERY_LAYOUTS)
@pytest.mark.parametrize("template", FLOW_TEMPLATES, ids=lambda t: t.name)
def test_every_layout_answers_what_the_playbooks_table_answers(template: QueryTemplate, layout: str) -> None:
    bindings = request(template, *REQUEST_WINDOW).bindings()
    wanted = _answer(DEFAULT_LAYOUT, template, bindings)
    assert _answer(layout, template, bindings) == wanted
    if template.name in ("count", "hunt", "sample"):
        assert wanted and wanted != [(0,)]  # the records do reach these answers


@pytest.mark.parametrize("layout", ["text-hourly", "parquet-hive-hourly", "text-hive-daily"])
def test_the_inner_predicate_prunes_partitions_outside_the_window(layout: str) -> None:
    """A record whose folder lies outside the window's partitions is not read, whatever its start says
    (Athena opens only the partitions the predicate leaves; here the predicate itself is what is tested)."""
    count = load_catalog()["count"]
    narrow = (datetime(2026, 11, 18, 9, tzinfo=UTC), datetime(2026, 11, 18, 10, tzinfo=UTC))
    bindings = request(count, *narrow).bindings()  # hours 09 and 10 (the margin); days 18 and 19
    sql, parameters = to_athena(count.sql, settings(layout), bindings)
    record = next(r for r in RECORDS if datetime.fromtimestamp(r["starttime"], UTC).hour == 9)
    con, schema = _database(layout)
    try:
        query = to_duckdb(filled_in(sql, parameters), schema)
        assert con.execute(query).fetchall() == [(1,)]
        moved = _partition_values(layout, record | {"starttime": record["starttime"] + 24 * 3600 * 400})
        assignments = ", ".join(f"\"{k}\" = '{v}'" for k, v in moved.items() if re.fullmatch(r"[0-9/]+", v))
        con.execute(f"UPDATE flow_db.flow_v2 SET {assignments}")  # every record's folder, a year later
        assert con.execute(query).fetchall() == [(0,)]
    finally:
        con.close()
