"""Run Athena (Trino) SQL on DuckDB with Athena's answers, type for type.

sqlglot transpiles the syntax; this module adds the semantics a plain transpile misses, which it
can only do once every column has a type (hence qualify + annotate against the table's schema):
- `sum` over integers is `bigint` in Trino but `HUGEINT` in DuckDB: cast it back;
- integer division truncates in Trino: sqlglot does this for typed division once types are known.
Timestamps are UTC because the local engine sets the DuckDB session time zone to UTC.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

Schema = dict[str, object]


def _trino_sum(node: exp.Expression) -> exp.Expression:
    """Trino: sum(integer types) → bigint. DuckDB would return HUGEINT."""
    if (
        isinstance(node, exp.Sum)
        and node.this.type is not None
        and node.this.type.is_type(*exp.DataType.INTEGER_TYPES)
    ):
        return exp.cast(node.copy(), exp.DataType.build("bigint"))
    return node


def to_duckdb(sql: str, schema: Schema) -> str:
    """Transpile one template from Athena's dialect to DuckDB, keeping named `$` placeholders."""
    tree = sqlglot.parse_one(sql, read="trino")
    tree = qualify(tree, schema=schema, dialect="trino")
    tree = annotate_types(tree, schema=schema, dialect="trino")
    tree = tree.transform(_trino_sum, copy=False)
    return tree.sql(dialect="duckdb")
