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

They follow Trino's `contains` (io.trino.operator.scalar.IpAddressFunctions) and IPADDRESS cast
(Guava's `InetAddresses.forString`):
- Trino stores every address in 16 bytes, an IPv4 address as `::ffff:a.b.c.d`, and `contains` compares
  families as Java sees them: an IPv4-mapped address (even written `::ffff:1.2.3.4`) is IPv4. A range of
  one family never holds an address of the other, even `::/0`.
- An IPv4 range whose address has host bits set (`10.1.2.3/16`) is refused ("Invalid CIDR"); an IPv6 one
  is masked. A prefix longer than the family's width is refused. Refused, or not an address, reads NULL
  here (no match), as `TRY(contains(...))` does on Athena.
- Text is an address only in the strict forms Guava and Python's `ipaddress` accept alike: dotted quads
  without leading zeros, IPv6 with at most one `::` and an optional trailing dotted quad. A zone (`%eth0`)
  reads NULL here (flow logs never carry one).
Keys: IPv4 addresses take 0 .. 2^32-1; IPv6 addresses (IPv4-mapped ones excluded) take 2^32 .. 2^128-1,
their 128-bit value moved up by 2^32 below the mapped block and kept as is above it, so that the order is
kept and no IPv6 range (not even `::/0`) reaches an IPv4 key. A range's low and high keys are the first and
last keys of its family inside it.
"""

from __future__ import annotations

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

Schema = dict[str, object]

MAPPED_LOW = 0xFFFF_0000_0000
"""`::ffff:0.0.0.0`, the first IPv4-mapped IPv6 address; the block is 2^32 addresses long."""
MAPPED_END = MAPPED_LOW + 2**32
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
    # An address's key: IPv4 (dotted, or IPv4-mapped IPv6) 0 .. 2^32-1, other IPv6 above (module docstring).
    f"""CREATE MACRO flowbot_v6_key(v) AS CASE WHEN v < {MAPPED_LOW} THEN v + {2**32}
        WHEN v < {MAPPED_END} THEN v - {MAPPED_LOW} ELSE v END""",
    f"""CREATE MACRO flowbot_ip_key(s) AS CASE
        WHEN strpos(s, '%') > 0 THEN NULL
        WHEN strpos(s, ':') = 0 THEN CAST(flowbot_v4(s) AS {_U})
        ELSE list_transform([flowbot_v6(s)], lambda v: flowbot_v6_key(v))[1] END""",
    # A range's first and last keys as {{lo, hi}}. IPv4: the prefix at most 32, no host bits.
    f"""CREATE MACRO flowbot_v4_range(a, p) AS
        list_transform([CAST(1 AS BIGINT) << greatest(least(32 - p, 32), 0)], lambda size:
            CASE WHEN p <= 32 AND a % size = 0
            THEN {{'lo': CAST(a AS {_U}), 'hi': CAST(a + size - 1 AS {_U})}} END)[1]""",
    # IPv6: the prefix at most 128, host bits masked; the mapped block (no IPv6 key) is left out.
    f"""CREATE MACRO flowbot_v6_range(v, p) AS
        list_transform([CAST(greatest(least(128 - p, 127), 0) AS {_U})], lambda shift: CASE
        WHEN v IS NULL THEN NULL
        WHEN p = 0 THEN {{'lo': CAST({2**32} AS {_U}), 'hi': CAST('{2**128 - 1}' AS {_U})}}
        WHEN p <= 128 THEN list_transform([(v >> shift) << shift], lambda first:
            list_transform([first + ((CAST(1 AS {_U}) << shift) - 1)], lambda last: {{
                'lo': CASE WHEN first >= {MAPPED_LOW} AND first < {MAPPED_END}
                           THEN CAST({MAPPED_END} AS {_U}) ELSE flowbot_v6_key(first) END,
                'hi': CASE WHEN last >= {MAPPED_LOW} AND last < {MAPPED_END}
                           THEN CAST({MAPPED_END - 1} AS {_U}) ELSE flowbot_v6_key(last) END}}
            )[1])[1] END)[1]""",
    # `address/prefix` (exactly one `/`, decimal digits after it): its base is IPv4 when dotted or
    # IPv4-mapped (as Java reads it), IPv6 otherwise.
    f"""CREATE MACRO flowbot_net_range(n) AS CASE WHEN regexp_full_match(n, '[^/%]+/[0-9]{{1,9}}') THEN
        list_transform([{{'b': split_part(n, '/', 1), 'p': CAST(split_part(n, '/', 2) AS INTEGER)}}],
            lambda x: CASE WHEN strpos(x.b, ':') = 0 THEN flowbot_v4_range(flowbot_v4(x.b), x.p)
            ELSE list_transform([flowbot_v6(x.b)], lambda v: CASE WHEN v >= {MAPPED_LOW} AND v < {MAPPED_END}
                THEN flowbot_v4_range(CAST(v - {MAPPED_LOW} AS BIGINT), x.p)
                ELSE flowbot_v6_range(v, x.p) END)[1] END)[1] END""",
    # Trino's `to_hex(CAST(CAST(s AS IPADDRESS) AS VARBINARY))`: the 16 bytes Trino stores (an IPv4 address
    # as ::ffff:a.b.c.d) as 32 upper-case hex digits; NULL where the cast would fail.
    f"""CREATE MACRO flowbot_ip_hex(s) AS upper(lpad(hex(CASE
        WHEN strpos(s, '%') > 0 THEN NULL
        WHEN strpos(s, ':') = 0 THEN CAST(flowbot_v4(s) + {MAPPED_LOW} AS {_U})
        ELSE flowbot_v6(s) END), 32, '0'))""",
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
