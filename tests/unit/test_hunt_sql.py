"""The hunt template and what makes it run locally: the template's shape, the IOC table in the catalog, the
CIDR test transpiled for DuckDB (macros checked against the oracle's reading of Trino's `contains`), and the
IOC files read as Athena's OpenCSVSerde reads them."""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from bot.flowlog_format import ALL_HEADERS, table_columns
from bot.query.catalog import IOC_TABLE, QueryTemplate, load_catalog
from bot.query.engines import local_ioc_dir
from bot.query.engines.dialect import MAPPED_LOW, install_macros, to_duckdb
from bot.query.engines.local import _duckdb_sql, opencsv_fields
from bot.query.sql_checks import check_template
from bot.settings import Settings
from tests.flowlog_oracle import HUNT_COLUMNS, chosen_indicator, trino_address, trino_contains

HUNT = load_catalog()["hunt"]
SCOPE = """date_partition BETWEEN :first_day AND :last_day AND starttime >= :from_ts AND starttime < :to_ts"""


# --------------------------------------------------------------------------------------------------
# The template


def test_the_hunt_template_is_the_playbooks_directional_view_plus_the_indicator() -> None:
    assert HUNT.command == ("hunt",) and HUNT.params == () and HUNT.default_limit == 10000
    assert HUNT.source == "AWS playbook Analyzing VPC Flow Logs: incident_vpc_flow_directional"
    assert [c.name for c in HUNT.columns] == list(HUNT_COLUMNS)
    types = {c.name: c.type for c in HUNT.columns}
    assert (types["starttime"], types["endtime"], types["sessiontime"]) == (
        "timestamp",
        "timestamp",
        "bigint",
    )
    assert (types["connecting_port"], types["numbytes"], types["indicator"]) == (
        "integer",
        "bigint",
        "varchar",
    )
    assert len(HUNT.summary_columns) <= 4 and HUNT.reads_iocs and HUNT.uses_limit


@pytest.mark.parametrize("dialect", ["trino", "athena"])
def test_the_hunt_sql_is_one_select_in_athenas_dialect(dialect: str) -> None:
    tree = sqlglot.parse_one(HUNT.sql, read=dialect)
    assert isinstance(tree, exp.Select)
    assert [s.alias_or_name for s in tree.selects] == list(HUNT_COLUMNS)
    assert {t.name for t in tree.find_all(exp.Table)} == {"vpcflow", IOC_TABLE}
    # One read of the flow table: it prunes on date, region and account, and bounds the window; the two
    # directions come from a CROSS JOIN UNNEST, not from a second arm reading the window again.
    [flow_table] = [t for t in tree.find_all(exp.Table) if t.name == "vpcflow"]
    scan = flow_table.find_ancestor(exp.Select)
    assert scan is not None and not list(tree.find_all(exp.Union))
    names = [p.name for p in scan.args["where"].find_all(exp.Placeholder)]
    assert sorted(set(names)) == ["account", "first_day", "from_ts", "last_day", "region", "to_ts"]
    # The indicators are joined by an equality on a key (a hash join), which contains() then confirms.
    [join] = [j for j in tree.find_all(exp.Join) if j.args.get("on") is not None]
    on = join.args["on"]
    assert isinstance(on, exp.And) and isinstance(on.this, exp.EQ)
    assert {c.name for c in on.this.find_all(exp.Column)} == {"join_key", "grain", "matched_hex"}
    # The CIDR test: contains(network, TRY_CAST(address AS IPADDRESS)), under TRY, on deduplicated indicators.
    test = next(tree.find_all(exp.ArrayContains))
    assert isinstance(test.parent, exp.Try) and isinstance(test.expression, exp.TryCast)
    assert test.expression.to.is_type(exp.DataType.Type.IPADDRESS)
    assert any(s.args.get("distinct") for s in tree.find_all(exp.Select))
    order = [o.this.name for o in tree.args["order"].expressions]
    assert order[:6] == ["starttime", "endtime", "sessiontime", "interfaceid", "connecting_ip", "direction"]
    assert sorted(order) == sorted(HUNT_COLUMNS)  # every column: the order is total


def test_locally_the_cidr_test_becomes_a_join_on_precomputed_keys() -> None:
    sql, names = _duckdb_sql(HUNT.sql)
    assert "IPADDRESS" not in sql.upper() and "ARRAY_CONTAINS" not in sql.upper()
    tree = sqlglot.parse_one(sql, read="duckdb")
    join = next(j for j in tree.find_all(exp.Join) if j.args.get("on") is not None)
    # The equality on the join key (a CASE over the probe's grain), then the range on keys computed once a
    # flow and once an indicator: plain columns compared.
    on = join.args["on"]
    assert isinstance(on, exp.And) and isinstance(on.this, exp.EQ)
    nodes = {type(node) for node in on.expression.walk()}
    assert nodes <= {exp.Paren, exp.And, exp.GTE, exp.LTE, exp.Column, exp.Identifier}
    assert sql.upper().count("FLOWBOT_IP_KEY(") == 1 and sql.upper().count("FLOWBOT_NET_LOW(") == 1
    assert sql.upper().count("FLOWBOT_IP_HEX(") == 2  # the flow's address and the indicator's base
    assert set(names) == {
        "first_day", "last_day", "region", "account", "from_ts", "to_ts", "limit", "indicators"
    }  # fmt: skip


def test_a_cidr_test_outside_a_join_is_rewritten_in_place() -> None:
    schema: dict[str, object] = {"t": {"a": "varchar", "n": "varchar"}}
    sql = to_duckdb("SELECT a FROM t WHERE contains(n, CAST(a AS IPADDRESS))", schema)
    assert "FLOWBOT_IP_KEY" in sql.upper() and "IPADDRESS" not in sql.upper()
    with pytest.raises(ValueError, match="IPADDRESS"):
        to_duckdb("SELECT CAST(a AS IPADDRESS) AS x FROM t", schema)


# --------------------------------------------------------------------------------------------------
# The catalog: the IOC table is allowed beside `vpcflow` only


def _template(sql: str, table: str = "vpcflow") -> QueryTemplate:
    made = QueryTemplate(
        name="t",
        table=table,  # type: ignore[arg-type]
        command=("t",),
        title="T",
        description="d",
        finding="{n}",
        example="t",
        source="s",
        columns=[{"name": "n", "type": "bigint"}],  # type: ignore[list-item]
        summary_columns=("n",),
        sql=sql,
    )
    check_template(made)  # the SQL, as every worker checks it at start-up
    return made


def test_a_vpcflow_template_may_join_the_ioc_table() -> None:
    sql = f"SELECT count(*) AS n FROM vpcflow JOIN incident_iocs ON sourceaddress = threat_ip WHERE {SCOPE}"
    assert _template(sql).reads_iocs
    assert not load_catalog()["ratio"].reads_iocs


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        (f"SELECT count(*) AS n FROM vpcflow JOIN other ON sourceaddress = x WHERE {SCOPE}", "vpcflow"),
        ("SELECT count(*) AS n FROM incident_iocs", "vpcflow"),  # the IOC table alone is no flow query
        (
            "SELECT count(*) AS n FROM vpc_flow_logs JOIN incident_iocs ON ip = threat_ip "
            "WHERE start_time >= :from_iso AND start_time < :to_iso",
            "vpc_flow_logs",
        ),
    ],
)
def test_other_tables_stay_refused(sql: str, table: str) -> None:
    with pytest.raises(ValueError, match="reads only the table"):
        _template(sql, table)


# --------------------------------------------------------------------------------------------------
# The DuckDB macros against the oracle's reading of Trino


@pytest.fixture(scope="module")
def con() -> Any:
    connection = duckdb.connect()
    install_macros(connection)
    yield connection
    connection.close()


def oracle_key(text: str) -> int | None:
    """The key the macros must give: the address's 16 bytes as Trino stores them (IPv4 as ::ffff:a.b.c.d),
    as one number."""
    return trino_address(text)


ADDRESSES = [
    "203.0.113.66", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.", "-", "",
    " 1.2.3.4", "::", "::1", "1::", "2600:1f18::1", "2600:1F18:4A3:6901::11", "::ffff:1.2.3.4",
    "::ffff:102:304", "::1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8::", ":::", "1:::2", "1::2::3", ":1", "1:", "1:2:3:4:5:6:7", "12345::", "fe80::1%eth0",
    "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:01.2.3.4", "1.2.3.4::", "::g",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::fffe:ffff:ffff", "::1:0:0:0", "1::2:3:4:5:6:7",
    "1::2:3:4:5:6:7:8", "0000:0000::", "00000::",
]  # fmt: skip
NETWORKS = [
    "1.2.3.0/24", "1.2.3.4/24", "1.2.3.4/32", "0.0.0.0/0", "1.0.0.0/0", "10.0.0.0/8", "1.2.3.4/33", "::/0",
    "::/96", "::/80", "::ffff:0:0/96", "::ffff:1.2.3.0/24", "::ffff:1.2.3.4/32", "::ffff:1.2.3.4/128",
    "2600:1f18::/32", "2600:1f18::1/128", "2600:1f18::1/64", "::1/128", "1::/16", "::fffe:ffff:ffff/128",
    "::1:0:0:0/80", "1.2.3.0/+24", "1.2.3.0/", "1.2.3.0/024", "x/1", "1.2.3.0/24/1", "::/129", "0.0.0.0/32",
    "255.255.255.255/32", "::2:0:0/95", "::ffff:0:0/95", "::/1", "::/16", "::ffff:a00:0/104",
    "::ffff:10.0.0.0/104", "0:0:0:0:0:ffff:aabb:ccdd/96", "::ffff:1.2.3.0/120", "::ffff:1.2.3.4/120",
    "::ffff:0.0.0.0/0", "0.0.0.0/-0", "::/-0", "1.2.3.4/-0", "1.2.3.0/-24", "1.2.3.0/99999999999",
    "1.2.3.0/+024", "::/+1",
]  # fmt: skip


def _hextets(value: int) -> list[str]:
    return [f"{(value >> (112 - 16 * i)) & 0xFFFF:x}" for i in range(8)]


@st.composite
def address_texts(draw: st.DrawFn) -> str:
    """Addresses in many spellings (compressed, exploded, upper case, dotted tails, IPv4-mapped) and near
    misses (a group too many, a stray colon, a leading zero)."""
    kind = draw(st.sampled_from(["v4", "v6", "mapped", "dotted tail", "mangled"]))
    if kind == "v4":
        return str(ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1))))
    if kind == "mapped":
        return f"::ffff:{ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1)))}"
    value = draw(st.integers(0, 2**128 - 1) | st.integers(MAPPED_LOW - 3, MAPPED_LOW + 2**32 + 3))
    address = ipaddress.IPv6Address(value)
    if kind == "dotted tail":
        head = ":".join(_hextets(value)[:6])
        return f"{head}:{ipaddress.IPv4Address(value & 0xFFFFFFFF)}"
    text = draw(st.sampled_from([str(address), address.exploded, str(address).upper()]))
    if kind == "mangled":
        spot = draw(st.integers(0, len(text)))
        text = text[:spot] + draw(st.sampled_from([":", "::", "0", "g", ".", "00000"])) + text[spot:]
    return text


def test_address_keys_match_the_oracle_on_chosen_spellings(con: Any) -> None:
    got = dict(con.execute("SELECT s, flowbot_ip_key(s) FROM unnest(?) AS t(s)", [ADDRESSES]).fetchall())
    assert {s: got[s] for s in ADDRESSES} == {s: oracle_key(s) for s in ADDRESSES}


@settings(max_examples=300, deadline=None)
@given(st.lists(address_texts(), min_size=1, max_size=40))
def test_address_keys_match_the_oracle(con: Any, texts: list[str]) -> None:
    got = con.execute("SELECT list_transform(?, lambda s: flowbot_ip_key(s))", [texts]).fetchone()[0]
    assert got == [oracle_key(t) for t in texts]


def _local_contains(con: Any, networks: list[str], addresses: list[str]) -> set[tuple[str, str]]:
    return set(
        con.execute(
            "SELECT n, a FROM unnest(?) AS x(n), unnest(?) AS y(a) "
            "WHERE flowbot_ip_key(a) >= flowbot_net_low(n) AND flowbot_ip_key(a) <= flowbot_net_high(n)",
            [networks, addresses],
        ).fetchall()
    )


def _oracle_contains(networks: list[str], addresses: list[str]) -> set[tuple[str, str]]:
    out = set()
    for network in networks:
        for text in addresses:
            address = trino_address(text)
            if address is not None and trino_contains(network, address):
                out.add((network, text))
    return out


def test_ranges_match_the_oracle_on_chosen_networks(con: Any) -> None:
    addresses = [
        *ADDRESSES, "1.2.3.255", "1.2.4.0", "::ffff:0.0.0.0", "::ffff:ffff:ffff", "::fffe:0:0", "10.0.0.0",
        "10.255.255.255", "11.0.0.0", "170.187.204.221", "::ffff:10.1.2.3",
    ]  # fmt: skip
    assert _local_contains(con, NETWORKS, addresses) == _oracle_contains(NETWORKS, addresses)


@st.composite
def mapped_networks(draw: st.DrawFn) -> str:
    """IPv6 ranges over the IPv4-mapped block: based on an IPv4-mapped address written as IPv6 (a dotted
    tail or hex groups), which Trino reads as an IPv6 range (its prefix counts from the first of the 128
    bits), and the wide ranges that hold the whole block or miss it just so."""
    kind = draw(st.sampled_from(["dotted tail", "hex", "wide"]))
    if kind == "wide":
        return draw(
            st.sampled_from(
                ["::/0", "::/1", "::/16", "::/80", "::/95", "::/96", "::ffff:0:0/95", "::ffff:0:0/96",
                 "0:0:0:0:0:ffff::/96", "::ffff:0.0.0.0/0", "::fffe:0:0/96", "::1:0:0/96"]
            )
        )  # fmt: skip
    v4 = ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1)))
    mapped = ipaddress.IPv6Address(MAPPED_LOW + int(v4))
    if kind == "dotted tail":
        base = draw(st.sampled_from([f"::ffff:{v4}", f"0:0:0:0:0:ffff:{v4}", f"::FFFF:{v4}"]))
    else:
        base = draw(st.sampled_from([str(mapped), mapped.exploded, f"::ffff:{_hextets(int(mapped))[6]}:0"]))
    return f"{base}/{draw(st.integers(0, 130))}"


@st.composite
def networks(draw: st.DrawFn) -> str:
    """Ranges around an address: any prefix (some too long), host bits set or not, IPv4 or IPv6 spellings,
    and IPv6 ranges over the IPv4-mapped block."""
    if draw(st.integers(0, 3)) == 0:
        return draw(mapped_networks())
    base = draw(address_texts())
    prefix = draw(st.integers(0, 130))
    return f"{base}/{prefix}"


def _range_ends(network: str) -> list[str]:
    """A range's first and last addresses (host bits dropped), each also in its other spelling when it is
    IPv4 (`::ffff:a.b.c.d`) or IPv4-mapped (`a.b.c.d`): what a range holds, whatever the family."""
    try:
        parsed = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return []
    out = []
    for address in (parsed.network_address, parsed.broadcast_address):
        out.append(str(address))
        if isinstance(address, ipaddress.IPv4Address):
            out.append(f"::ffff:{address}")
        elif address.ipv4_mapped is not None:
            out.append(str(address.ipv4_mapped))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(networks(), min_size=1, max_size=8), st.lists(address_texts(), min_size=1, max_size=20))
def test_ranges_match_the_oracle(con: Any, nets: list[str], texts: list[str]) -> None:
    # Addresses inside the ranges too, not only random ones: each range's first and last address.
    for network in nets:
        texts += _range_ends(network)
    assert _local_contains(con, nets, texts) == _oracle_contains(nets, texts)


def oracle_hex(text: str) -> str | None:
    """`to_hex(CAST(TRY_CAST(text AS IPADDRESS) AS VARBINARY))`: Trino's 16 bytes, IPv4 as ::ffff:a.b.c.d."""
    address = trino_address(text)
    return None if address is None else f"{address:032X}"


def test_address_hex_matches_the_oracle_on_chosen_spellings(con: Any) -> None:
    got = dict(con.execute("SELECT s, flowbot_ip_hex(s) FROM unnest(?) AS t(s)", [ADDRESSES]).fetchall())
    assert {s: got[s] for s in ADDRESSES} == {s: oracle_hex(s) for s in ADDRESSES}
    assert got["203.0.113.66"] == "00000000000000000000FFFFCB007142"


@settings(max_examples=200, deadline=None)
@given(st.lists(address_texts(), min_size=1, max_size=40))
def test_address_hex_matches_the_oracle(con: Any, texts: list[str]) -> None:
    got = con.execute("SELECT list_transform(?, lambda s: flowbot_ip_hex(s))", [texts]).fetchone()[0]
    assert got == [oracle_hex(t) for t in texts]


def _hunt_locally(flows: list[tuple[str, str]], indicators: list[str]) -> set[tuple[str, str, str]]:
    """The whole hunt template, transpiled, on an in-memory table of (source, destination) records."""
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        install_macros(connection)
        columns = dict(table_columns(ALL_HEADERS))
        connection.execute(
            "CREATE TABLE vpcflow ("
            + ", ".join(
                f"{name} {'VARCHAR' if kind == 'varchar' else 'BIGINT'}" for name, kind in columns.items()
            )
            + ")"
        )
        for source, destination in flows:
            connection.execute(
                "INSERT INTO vpcflow (sourceaddress, destinationaddress, sourceport, destinationport, "
                "starttime, endtime, date_partition) VALUES (?, ?, 1, 2, 100, 160, '2026/11/18')",
                [source, destination],
            )
        connection.execute("CREATE TABLE incident_iocs (threat_ip VARCHAR, threat_comment VARCHAR)")
        for indicator in indicators:
            connection.execute("INSERT INTO incident_iocs VALUES (?, 'x')", [indicator])
        sql, names = _duckdb_sql(HUNT.sql)
        bindings: dict[str, object] = {
            "first_day": "2026/11/18", "last_day": "2026/11/18", "region": "", "account": "",
            "from_ts": 0, "to_ts": 1000, "limit": 100_000, "indicators": "",
        }  # fmt: skip
        rows = connection.execute(sql, {n: bindings[n] for n in names}).fetchall()
    finally:
        connection.close()
    index = {c: i for i, c in enumerate(HUNT_COLUMNS)}
    return {(r[index["direction"]], r[index["connecting_ip"]], r[index["indicator"]]) for r in rows}


def _hunt_by_oracle(flows: list[tuple[str, str]], indicators: list[str]) -> set[tuple[str, str, str]]:
    out = set()
    for source, destination in flows:
        for direction, matched, peer in (("INBOUND", destination, source), ("OUTBOUND", source, destination)):
            chosen = chosen_indicator(matched, indicators)
            if chosen is not None:
                out.add((direction, peer, chosen))
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(address_texts(), address_texts()), min_size=1, max_size=12),
    st.lists(networks() | address_texts(), min_size=1, max_size=8),
)
def test_the_keyed_join_finds_every_match_the_oracle_finds(
    flows: list[tuple[str, str]], indicators: list[str]
) -> None:
    """The join on keys (address, block, '*') loses no pair contains() would accept, whatever the
    spellings, families and prefix lengths (IPv6 ranges holding IPv4 addresses among them): the hunt's
    rows equal the oracle's."""
    # Each range also without host bits (a random IPv4 base nearly always has some, which contains()
    # refuses), and each range's first and last address as flows, in both spellings where an address is
    # IPv4, so matches are common, not rare.
    for indicator in list(indicators):
        try:
            parsed = ipaddress.ip_network(indicator, strict=False)
        except ValueError:
            continue
        indicators.append(str(parsed))
        ends = _range_ends(indicator)
        flows += list(zip(ends, reversed(ends), strict=True))
    assert _hunt_locally(flows, indicators) == _hunt_by_oracle(flows, indicators)


# --------------------------------------------------------------------------------------------------
# Trino's own cases: the local emulation, the hunt's keyed join and the oracle all give Trino's answers

# (network, address, contains()): True/False as Trino answers, None where Trino raises (TRY: NULL).
TRINO_IPV4_MAPPED_CASES = [
    # trinodb/trino TestIpAddressFunctions.testIPv4MappedAddresses, Release 427 (added by PR 18997),
    # every assertion of it, in its order:
    ("0:0:0:0:0:ffff:aabb:ccdd/96", "170.187.204.221", True),
    ("0:0:0:0:0:ffff::/96", "170.187.204.221", True),
    ("::aabb:ccdd/96", "170.187.204.221", False),
    ("1:2:3:4:5:6:aabb:ccdd/96", "170.187.204.221", False),
    ("170.0.0.0/8", "0:0:0:0:0:ffff:aa01:0203", True),
    ("170.187.0.0/16", "0:0:0:0:0:ffff:aabb:0203", True),
    ("170.187.204.0/24", "0:0:0:0:0:ffff:aabb:cc03", True),
    ("170.187.204.0/24", "0:0:0:0:0:0:aabb:cc03", False),
    ("127.0.0.1/32", "127.0.0.0", False),
    ("127.0.0.1/32", "127.0.0.1", True),
    ("127.0.0.1/32", "127.0.0.2", False),
    ("::ffff:7f00:0001/128", "127.0.0.0", False),
    ("::ffff:7f00:0001/128", "127.0.0.1", True),
    ("::ffff:7f00:0001/128", "127.0.0.2", False),
    ("127.0.0.1/32", "::ffff:7f00:0000", False),
    ("127.0.0.1/32", "::ffff:7f00:0001", True),
    ("127.0.0.1/32", "::ffff:7f00:0002", False),
]
TRINO_CONTAINS_CASES = [
    # trinodb/trino TestIpAddressFunctions.testIpAddressContains, Release 427 (as PR 18997 left it): a
    # selection, the mixed-family and refused ones among them.
    ("0.0.0.0/0", "0.0.0.0", True),
    ("0.0.0.0/0", "255.255.255.255", True),
    ("0.0.0.255/32", "255.0.0.0", False),
    ("::ffff:0000:0000/0", "::ffff:0000:0000", True),
    ("::ffff:0000:0000/0", "::ffff:ffff:ffff", True),
    ("64:ff9b::10.0.0.0/64", "64:ff9a:f:f:f:f:f:f", False),
    ("64:ff9b::10.0.0.0/64", "64:ff9b:0:0:f:f:f:f", True),
    ("2001:0DB8:0000:CD30:0000:0000:0000:0000/60", "2001:0DB8::CD30:0:0:0:0", True),
    ("::/0", "2001::", True),
    ("::1/128", "::", False),
    ("2001:abcd:ef01:2345:6789:abcd:ef01:234/60", "2001:abcd:ef01:2340::", True),
    ("127.0.0.1/32", "64:ff9a:f:f:f:f:f:f", False),  # "conflicting IP address versions"
    ("2001:abcd:ef01:2345:6789:abcd:ef01:234/60", "127.0.0.0", False),
    ("0.0.0.0/-1", "0.0.0.0", None),  # "Invalid prefix length"
    ("64:ff9b::10.0.0.0/-1", "64:ff9b::10.0.0.0", None),
    ("0.0.0.1/0", "0.0.0.0", None),  # "Invalid CIDR": host bits
    ("255.1.1.1/8", "0.0.0.0", None),
    ("255.255.255.1/24", "0.0.0.0", None),
    ("10.0.0.1/33", "0.0.0.0", None),  # "Invalid CIDR": too long
    ("64:ff9b::10.0.0.0/129", "0.0.0.0", None),
    ("2620:109:c006:104::/250", "2620:109:c006:104::", None),
    ("x.x.x.x", "0.0.0.0", None),  # "Invalid CIDR": no `/`
    ("x.x.x.x/1", "0.0.0.0", None),  # "Invalid network IP address"
    ("2001:0DB8:0:CD3/60", "2001:0DB8::CD30:0:0:0:0", None),
]
DERIVED_CONTAINS_CASES = [
    # Not asserted in Trino's tests: read from IpAddressFunctions.contains as PR 18997 left it (a base
    # that is a dotted quad is IPv4: prefix + 96, host bits refused; any other is IPv6; prefix 0 is true).
    ("::/0", "1.2.3.4", True),  # an error ("IP address version should be the same") before the PR
    ("::/1", "1.2.3.4", True),
    ("0.0.0.0/0", "::1", False),  # an error before the PR
    ("::ffff:0:0/96", "1.2.3.4", True),
    ("::ffff:0:0/96", "::1.2.3.4", False),
    ("::/96", "1.2.3.4", False),
    ("::ffff:7f00:0001/32", "127.0.0.0", True),  # the old test file's `false`: an IPv6 /32 now
    ("::ffff:10.0.0.0/104", "10.20.30.40", True),  # a dotted tail does not make the range IPv4
    ("::ffff:10.0.0.0/104", "11.0.0.0", False),
    ("::ffff:10.1.2.3/104", "10.9.9.9", True),  # an IPv6 range: host bits ignored
    ("::ffff:1.2.3.4/32", "9.9.9.9", True),
    ("::ffff:1.2.3.4/128", "1.2.3.4", True),
    ("::ffff:1.2.3.4/129", "1.2.3.4", None),
    ("10.0.0.1/8", "10.0.0.1", None),  # host bits in an IPv4 range
    ("10.0.0.0/8", "::ffff:10.1.2.3", True),
    ("0.0.0.0/-0", "0.0.0.0", True),  # Integer.parseInt: -0 is 0, so 0.0.0.0/0
    ("1.2.3.0/+24", "1.2.3.9", True),
]
ALL_CONTAINS_CASES = TRINO_IPV4_MAPPED_CASES + TRINO_CONTAINS_CASES + DERIVED_CONTAINS_CASES


def test_the_local_emulation_gives_trinos_answers(con: Any) -> None:
    """`TRY(contains(network, CAST(address AS IPADDRESS)))` transpiled and run by DuckDB, and the oracle,
    answer each case as Trino does (NULL where Trino raises)."""
    sql = to_duckdb(
        "SELECT n, a, TRY(contains(n, CAST(a AS IPADDRESS))) AS hit FROM t",
        {"t": {"n": "varchar", "a": "varchar"}},
    )
    cases = [(n, a) for n, a, _ in ALL_CONTAINS_CASES]
    got = con.execute(
        sql.replace('FROM "t" AS "t"', 'FROM (SELECT unnest(?, recursive := true)) AS "t"'),
        [[{"n": n, "a": a} for n, a in cases]],
    ).fetchall()
    assert [(n, a) for n, a, _ in got] == cases
    assert [hit for _, _, hit in got] == [expected for _, _, expected in ALL_CONTAINS_CASES]


@pytest.mark.parametrize(("network", "address", "expected"), ALL_CONTAINS_CASES, ids=str)
def test_the_oracle_gives_trinos_answers(network: str, address: str, expected: bool | None) -> None:
    parsed = trino_address(address)
    assert parsed is not None
    assert trino_contains(network, parsed) is expected


def test_the_hunts_keyed_join_gives_trinos_answers() -> None:
    """Each case as a hunt (its network the one indicator, its address a flow's source): a row exactly
    where contains() is true, for the indicators the hunt lets reach contains() (`/` and up to three
    digits: not `0.0.0.0/-0`). The wide and IPv4-mapped IPv6 ranges must reach IPv4 flows past the keys."""
    for network, address, expected in ALL_CONTAINS_CASES:
        reaches = re.fullmatch(r"[0-9A-Fa-f:.]+(/[0-9]{1,3})?", network) is not None
        found = _hunt_locally([(address, "-")], [network])
        assert found == ({("OUTBOUND", "-", network)} if expected and reaches else set()), (network, address)


def test_the_narrowest_indicator_is_named_across_families() -> None:
    """An IPv4 /8 fixes 104 of the 128 bits, `::ffff:0:0/96` 96: the /8 is named, wherever written."""
    indicators = ["::/0", "::ffff:0:0/96", "10.0.0.0/8", "::ffff:10.0.0.0/112", "0:0:0:0:0:ffff:a00:1"]
    flows = [("10.0.0.1", "10.0.9.9"), ("10.9.9.9", "1.2.3.4"), ("::ffff:10.0.0.1", "2600:1f18::1")]
    expected = {
        ("OUTBOUND", "10.0.9.9", "0:0:0:0:0:ffff:a00:1"),
        ("INBOUND", "10.0.0.1", "::ffff:10.0.0.0/112"),
        ("OUTBOUND", "1.2.3.4", "10.0.0.0/8"),
        ("INBOUND", "10.9.9.9", "::ffff:0:0/96"),
        ("OUTBOUND", "2600:1f18::1", "0:0:0:0:0:ffff:a00:1"),
        ("INBOUND", "::ffff:10.0.0.1", "::/0"),
    }
    assert _hunt_locally(flows, indicators) == _hunt_by_oracle(flows, indicators) == expected


# --------------------------------------------------------------------------------------------------
# The IOC files: OpenCSVSerde's reading, and where the local engine looks


def _python_csv(*fields: str) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(fields)
    return out.getvalue()


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        (_python_csv("203.0.113.7", "seen, twice", "U1"), ["203.0.113.7", "seen, twice", "U1"]),
        (_python_csv("2600:1f18::/48", 'say "hi"'), ["2600:1f18::/48", 'say "hi"']),  # doubled quotes
        (_python_csv("10.1.0.0/16", ""), ["10.1.0.0/16", ""]),
        ('"a\\"b","c\\\\d"', ['a"b', "c\\d"]),  # the escape character before a quote or itself
        ('"C:\\temp"', ["C:temp"]),  # ...and dropped before anything else (OpenCSVSerde eats backslashes)
        ("203.0.113.7,plain,text", ["203.0.113.7", "plain", "text"]),
        ('"203.0.113.7"', ["203.0.113.7"]),  # fewer fields: the rest read NULL
        ("", None),  # an empty line: every column NULL
        ('"203.0.113.7","never closed', ["203.0.113.7"]),  # the unfinished field is lost
        ('"never closed', None),
        ('x,ab"cd"ef', ["x", 'ab"cd"ef']),  # a quote inside a field is kept...
        ('ab"cd"ef,g', ['abcd"ef', "g"]),  # ...except in the line's first three characters
    ],
)
def test_a_line_is_split_as_opencsv_does(line: str, fields: list[str] | None) -> None:
    assert opencsv_fields(line) == fields


@given(
    st.lists(
        st.text(alphabet=st.characters(exclude_characters="\r\n\\"), max_size=12), min_size=1, max_size=7
    )
)
def test_what_pythons_csv_writer_quotes_reads_back(fields: list[str]) -> None:
    """The store writes every field quoted with Python's csv module: without backslashes or line breaks in
    a field, OpenCSVSerde reads exactly the fields written."""
    assert opencsv_fields(_python_csv(*fields)) == fields


def test_the_local_engine_reads_the_store_folder_only_when_the_store_is_local(tmp_path: Path) -> None:
    assert local_ioc_dir(Settings(ioc_store="~/iocs")) == Path.home() / "iocs"
    assert local_ioc_dir(Settings(ioc_store=str(tmp_path))) == tmp_path
    assert local_ioc_dir(Settings(ioc_store="s3://bucket/prefix")) is None
