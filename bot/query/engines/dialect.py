"""Run Athena (Trino) SQL on DuckDB with Athena's answers, type for type.

sqlglot transpiles the syntax; this module adds the semantics a plain transpile misses, which it
can only do once every column has a type (hence qualify + annotate against the table's schema):
- `sum` over integers is `bigint` in Trino but `HUGEINT` in DuckDB: cast it back;
- integer division truncates in Trino: sqlglot does this for typed division once types are known;
- `contains(network, CAST(address AS IPADDRESS))`, Trino's CIDR test, has no DuckDB counterpart (sqlglot
  writes ARRAY_CONTAINS, and DuckDB's IP type needs the `inet` extension, which is not bundled): it becomes
  a comparison of integer keys, `flowbot_ip_key(address) >= flowbot_net_low(network) AND
  flowbot_ip_key(address) <= flowbot_net_high(network)`, with the SQL macros of `DUCKDB_MACROS` (see
  `install_macros`);
- `to_hex(CAST(CAST(address AS IPADDRESS) AS VARBINARY))`, the hunt's join key (Trino's 16 bytes of an
  address in hex), becomes `flowbot_ip_hex(address)`, the same digits from the same parse.
Timestamps are UTC because the local engine sets the DuckDB session time zone to UTC.

## Addresses as integer keys

The macros are plain SQL, so DuckDB runs them vectorised, with no Python call at all (DuckDB's Python
UDFs would also need numpy, which Flowbot does not install). When the test is a join's ON clause (a hunt:
flows JOIN indicators), the key becomes a column of the address's side and the bounds columns of the
network's side (`_cidr_joins`), so each flow's key is computed once and each indicator's range once, and
the join compares plain columns (a range join: IEJoin, or a merge join on one bound): N + M key
computations for N flows and M indicators, never N x M. Elsewhere the test is rewritten in place.

They follow Trino's `contains` (io.trino.operator.scalar.IpAddressFunctions) as changed in Release 427
(PR trinodb/trino#18997, "Handle IPv4 mapped addresses in IP contains function"), the code Athena engine
version 3 runs, and Trino's IPADDRESS cast (Guava's `InetAddresses.forString`):
- Every address is its 16 bytes as one 128-bit number, an IPv4 address as `::ffff:a.b.c.d`; so
  `1.2.3.4`, `::ffff:1.2.3.4` and `::ffff:102:304` are one address. That number is the key.
- A range is IPv4 only when the text before its `/` is a dotted quad: then its prefix is at most 32, it
  must have no host bits (`10.1.2.3/16` is refused, "Invalid CIDR"), and it holds the addresses whose
  first 96 + prefix bits are its own (the mapped block's: IPv4 addresses only, `0.0.0.0/0` holds no IPv6
  address). Any other range is IPv6, even one written `::ffff:1.2.3.0/120`: its prefix is 0 to 128, host
  bits are ignored, and it holds the addresses whose first `prefix` bits are its own, whatever their
  family (`::/0` holds every address, `::ffff:0:0/96` every IPv4 address). A range's low and high keys are
  the first and last numbers it holds.
- The prefix is read as Java's `Integer.parseInt` reads it (an optional sign, ASCII digits; `-0` is 0); a
  negative one is refused. Refused, or not an address, reads NULL here (no match), as
  `TRY(contains(...))` does on Athena. (Where Trino fails the whole query instead, a prefix that is no
  32-bit number or text with a second `/`, NULL is the nearest answer a row can give.)
- Text is an address only in the strict forms Guava and Python's `ipaddress` accept alike: dotted quads
  without leading zeros, IPv6 with at most one `::` and an optional trailing dotted quad. A zone (`%eth0`)
  reads NULL here (flow logs never carry one).
"""

from __future__ import annotations

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

Schema = dict[str, object]

MAPPED_LOW = 0xFFFF_0000_0000
"""`::ffff:0.0.0.0`, the first IPv4-mapped IPv6 address: an IPv4 address's key is its value plus this."""
_V4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_V4 = rf"{_V4_OCTET}(\.{_V4_OCTET}){{3}}"
_H = "[0-9A-Fa-f]{1,4}"
_V6 = "|".join(  # every spelling of 8 groups, `::` standing for at least one zero group (no dotted quad)
    (
        f"({_H}:){{7}}{_H}",
        f"({_H}:){{1,7}}:",
        *(f"({_H}:){{1,{7 - tail}}}(:{_H}){{1,{tail}}}" for tail in range(1, 6)),
        f"{_H}:(:{_H}){{1,6}}",
        f":((:{_H}){{1,7}}|:)",
    )
)
_U = "UHUGEINT"

DUCKDB_MACROS: tuple[str, ...] = (
    # A dotted quad as a BIGINT; NULL unless it is exactly four decimal octets without leading zeros.
    f"""CREATE MACRO flowbot_v4(s) AS CASE WHEN regexp_full_match(s, '{_V4}') THEN
        (CAST(split_part(s, '.', 1) AS BIGINT) << 24) + (CAST(split_part(s, '.', 2) AS BIGINT) << 16)
        + (CAST(split_part(s, '.', 3) AS BIGINT) << 8) + CAST(split_part(s, '.', 4) AS BIGINT) END""",
    # IPv6 text with its trailing dotted quad (if any) written as two hex groups; NULL if the quad is bad.
    # (`list_transform([x], lambda v: ...)[1]` computes x once and names it: a macro repeats its arguments.)
    f"""CREATE MACRO flowbot_v6_hex(s) AS CASE WHEN strpos(s, '.') = 0 THEN s ELSE
        list_transform([regexp_extract(s, '^([0-9A-Fa-f:]*:)({_V4})$', ['head', 'quad'])],
            lambda m: CASE WHEN m.head <> '' THEN m.head || list_transform([flowbot_v4(m.quad)],
                lambda q: printf('%x:%x', q >> 16, q & 65535))[1] END)[1] END""",
    # Hex groups as one number, each group 16 bits.
    f"""CREATE MACRO flowbot_hex_groups(g) AS
        list_reduce(list_transform(g, lambda x: CAST('0x' || x AS {_U})),
                    lambda a, b: (a << CAST(16 AS {_U})) | b, CAST(0 AS {_U}))""",
    """CREATE MACRO flowbot_group_count(x) AS
        CASE WHEN x = '' THEN 0 ELSE length(x) - length(replace(x, ':', '')) + 1 END""",
    # IPv6 text without a dotted quad as a 128-bit number: the groups before `::` shifted past the zeros
    # it stands for, OR the groups after it.
    f"""CREATE MACRO flowbot_v6_number(h) AS CASE WHEN regexp_full_match(h, '{_V6}') THEN
        CASE WHEN strpos(h, '::') = 0 THEN flowbot_hex_groups(string_split(h, ':'))
        ELSE (CASE WHEN split_part(h, '::', 1) = '' THEN CAST(0 AS {_U})
                   ELSE flowbot_hex_groups(string_split(split_part(h, '::', 1), ':'))
                        << CAST(16 * (8 - flowbot_group_count(split_part(h, '::', 1))) AS {_U}) END)
           | (CASE WHEN split_part(h, '::', 2) = '' THEN CAST(0 AS {_U})
                   ELSE flowbot_hex_groups(string_split(split_part(h, '::', 2), ':')) END) END END""",
    """CREATE MACRO flowbot_v6(s) AS
        list_transform([flowbot_v6_hex(s)], lambda h: flowbot_v6_number(h))[1]""",
    # An address's key: the 16 bytes Trino stores as one number (an IPv4 address as ::ffff:a.b.c.d).
    f"""CREATE MACRO flowbot_ip_key(s) AS CASE
        WHEN strpos(s, '%') > 0 THEN NULL
        WHEN strpos(s, ':') = 0 THEN CAST(flowbot_v4(s) + {MAPPED_LOW} AS {_U})
        ELSE flowbot_v6(s) END""",
    # The numbers whose first `bits` bits are v's, as {{lo, hi}} (bits 0: every number, as Trino's
    # `prefixLength == 0` answers true at once).
    f"""CREATE MACRO flowbot_bits_range(v, bits) AS CASE
        WHEN v IS NULL OR bits IS NULL THEN NULL
        WHEN bits = 0 THEN {{'lo': CAST(0 AS {_U}), 'hi': CAST('{2**128 - 1}' AS {_U})}}
        ELSE list_transform([CAST(128 - greatest(least(bits, 128), 1) AS {_U})], lambda shift:
            list_transform([(v >> shift) << shift], lambda first:
                {{'lo': first, 'hi': first + ((CAST(1 AS {_U}) << shift) - 1)}})[1])[1] END""",
    # `base/prefix` (exactly one `/`, the prefix an optionally signed decimal), as Trino's contains reads
    # it: a dotted-quad base is an IPv4 range (prefix at most 32, no host bits, its bits counted after the
    # 96 of the mapped block); any other base an IPv6 range (prefix at most 128, host bits ignored).
    f"""CREATE MACRO flowbot_net_range(n) AS CASE WHEN regexp_full_match(n, '[^/%]+/[+-]?[0-9]+') THEN
        list_transform([{{'b': split_part(n, '/', 1), 'p': TRY_CAST(split_part(n, '/', 2) AS INTEGER)}}],
            lambda x: CASE
            WHEN x.p IS NULL OR x.p < 0 THEN NULL
            WHEN strpos(x.b, ':') = 0 THEN list_transform([flowbot_v4(x.b)], lambda a:
                CASE WHEN x.p <= 32 AND a % (CAST(1 AS BIGINT) << greatest(32 - x.p, 0)) = 0
                THEN flowbot_bits_range(CAST(a + {MAPPED_LOW} AS {_U}), x.p + 96) END)[1]
            WHEN x.p <= 128 THEN flowbot_bits_range(flowbot_v6(x.b), x.p) END)[1] END""",
    # Trino's `to_hex(CAST(CAST(s AS IPADDRESS) AS VARBINARY))`: the 16 bytes Trino stores (an IPv4 address
    # as ::ffff:a.b.c.d) as 32 upper-case hex digits; NULL where the cast would fail.
    """CREATE MACRO flowbot_ip_hex(s) AS upper(lpad(hex(flowbot_ip_key(s)), 32, '0'))""",
    """CREATE MACRO flowbot_net_low(n) AS struct_extract(flowbot_net_range(n), 'lo')""",
    """CREATE MACRO flowbot_net_high(n) AS struct_extract(flowbot_net_range(n), 'hi')""",
)
"""Fixed SQL text (no input), created on every local connection by `install_macros`."""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the macros transpiled templates call (`flowbot_ip_key`, `flowbot_net_low/high`)."""
    for statement in DUCKDB_MACROS:
        con.execute(statement)


def _trino_sum(node: exp.Expression) -> exp.Expression:
    """Trino: sum(integer types) → bigint. DuckDB would return HUGEINT."""
    if (
        isinstance(node, exp.Sum)
        and node.this.type is not None
        and node.this.type.is_type(*exp.DataType.INTEGER_TYPES)
    ):
        return exp.cast(node.copy(), exp.DataType.build("bigint"))
    return node


def _is_ipaddress(node: exp.Expression) -> bool:
    return isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.IPADDRESS)


def _address_hex(node: exp.Expression) -> exp.Expr:
    """`to_hex(CAST([TRY_]CAST(x AS IPADDRESS) AS VARBINARY))` (an address's 16 bytes in hex, the hunt's
    join key) → `flowbot_ip_hex(x)`; any other node is kept."""
    if (
        isinstance(node, exp.Hex)
        and isinstance(node.this, exp.Cast)
        and node.this.to.is_type(exp.DataType.Type.VARBINARY)
        and _is_ipaddress(node.this.this)
    ):
        return exp.func("flowbot_ip_hex", node.this.this.this.copy())
    return node


def _cidr_test(node: exp.Expression) -> tuple[exp.Expression, exp.Expression] | None:
    """(network, address) of `[TRY(]contains(network, [TRY_]CAST(address AS IPADDRESS))[)]`, else None.

    sqlglot reads Trino's `contains` as ARRAY_CONTAINS; with an IPADDRESS second argument it is the CIDR
    test. TRY around it can go: the keys are NULL (no match) wherever Trino's contains would refuse.
    """
    inner = node.this if isinstance(node, exp.Try) else node
    if isinstance(inner, exp.ArrayContains) and _is_ipaddress(inner.expression):
        return inner.this, inner.expression.this
    return None


def _in_range(key: exp.Expr, low: exp.Expr, high: exp.Expr) -> exp.Expression:
    """`key >= low AND key <= high`: two comparisons, which DuckDB joins on (a BETWEEN it loops over)."""
    return exp.Paren(
        this=exp.and_(exp.GTE(this=key, expression=low), exp.LTE(this=key.copy(), expression=high))
    )


def _source_of(select: exp.Select, expression: exp.Expression) -> exp.Expression | None:
    """The one FROM or JOIN source (table or subquery) all of the expression's columns come from."""
    tables = {column.table for column in expression.find_all(exp.Column)}
    if len(tables) != 1 or "" in tables:
        return None
    from_ = select.args.get("from_") or select.args.get("from")
    sources = [from_.this] if from_ is not None else []
    sources += [join.this for join in select.args.get("joins") or []]
    found = [s for s in sources if s.alias_or_name == next(iter(tables))]
    return found[0] if len(found) == 1 else None


def _with_columns(source: exp.Expression, columns: dict[str, exp.Expr]) -> None:
    """Replace a FROM/JOIN source by `(SELECT *, <columns> FROM source) AS <its alias>`."""
    alias = source.alias_or_name
    inner = exp.select(exp.Star(), *(exp.alias_(e, name) for name, e in columns.items()))
    source.replace(
        exp.Subquery(this=inner.from_(source.copy()), alias=exp.TableAlias(this=exp.to_identifier(alias)))
    )


def _cidr_joins(tree: exp.Expression) -> None:
    """A join ON a CIDR test: the address's key computed in a column of its side, the network's bounds in
    columns of the other side, and the ON clause comparing those columns.

    So each flow's key is computed once and each indicator's range once, whatever join DuckDB picks (a
    merge join on one bound tests the other bound on many pairs: on plain columns that is cheap).
    """
    for number, join in enumerate(list(tree.find_all(exp.Join))):
        on = join.args.get("on")
        select = join.parent
        if on is None or not isinstance(select, exp.Select):
            continue
        for node in list(on.walk()):
            test = _cidr_test(node)
            if test is None or isinstance(node.parent, exp.Try):  # TRY(contains(...)): the TRY is the node
                continue
            network, address = test
            address_side, network_side = _source_of(select, address), _source_of(select, network)
            if address_side is None or network_side is None or address_side is network_side:
                continue  # left to _cidr_contains
            key, low, high = (f"flowbot_{what}_{number}" for what in ("key", "low", "high"))
            a_alias, n_alias = address_side.alias_or_name, network_side.alias_or_name
            node.replace(
                _in_range(exp.column(key, a_alias), exp.column(low, n_alias), exp.column(high, n_alias))
            )
            _with_columns(address_side, {key: exp.func("flowbot_ip_key", address.copy())})
            _with_columns(
                network_side,
                {
                    low: exp.func("flowbot_net_low", network.copy()),
                    high: exp.func("flowbot_net_high", network.copy()),
                },
            )


def _cidr_contains(node: exp.Expression) -> exp.Expression:
    """Any other CIDR test → the same range test on keys computed in place."""
    test = _cidr_test(node)
    if test is None:
        return node
    network, address = test
    return _in_range(
        exp.func("flowbot_ip_key", address.copy()),
        exp.func("flowbot_net_low", network.copy()),
        exp.func("flowbot_net_high", network.copy()),
    )


def to_duckdb(sql: str, schema: Schema) -> str:
    """Transpile one template from Athena's dialect to DuckDB, keeping named `$` placeholders."""
    tree = sqlglot.parse_one(sql, read="trino")
    tree = qualify(tree, schema=schema, dialect="trino")
    tree = annotate_types(tree, schema=schema, dialect="trino")
    tree = tree.transform(_trino_sum, copy=False)
    _cidr_joins(tree)
    tree = tree.transform(_cidr_contains, copy=False)
    tree = tree.transform(_address_hex, copy=False)
    if any(_is_ipaddress(node) for node in tree.find_all(exp.Cast)):
        raise ValueError(
            "the local engine runs IPADDRESS only inside contains(network, CAST(x AS IPADDRESS))"
        )
    return tree.sql(dialect="duckdb")
