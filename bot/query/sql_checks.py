"""Every template's SQL read by a SQL parser (sqlglot, Athena's Trino dialect) before any of it runs.

`flowbot worker` and `flowbot ask` check the catalogue at start-up, and the tests check it, so that a bad
template stops start-up instead of a responder's query. The SQL parses in Athena's dialect, is a single SELECT
over the one logical table its spec names (`vpcflow`, or the JSON table `vpc_flow_logs`; a `vpcflow` template
may also read the IOC table `incident_iocs`), binds exactly the parameters its spec declares plus the scope
parameters (only in WHERE clauses, as Athena requires), is bounded by the window (and, on `vpcflow`, prunes on
`date_partition`), and names exactly the output columns its spec lists. And what the catalogue reads of
the SQL from its words, for the Slack app, which loads no parser (`QueryTemplate.placeholders`,
`.reads_iocs`, `.fields_used`), is what the parser reads.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from bot.query.catalog import (
    EXTRA_TABLES,
    FLOW_COLUMNS,
    IOC_TABLE,
    LIMIT_PARAM,
    LITERAL_PARAMS,
    REQUIRED_SCOPE,
    SCOPE_PARAMS,
    Catalog,
    QueryTemplate,
    TemplateError,
)


def check_catalog(catalog: Catalog) -> Catalog:
    """The catalogue, once every template's SQL passed `check_template`; the first that did not stops it."""
    for template in catalog:
        try:
            check_template(template)
        except ValueError as exc:
            raise TemplateError(f"query_templates/{template.name}: {exc}") from exc
    return catalog


def check_template(template: QueryTemplate) -> None:
    """Raise ValueError saying what is wrong with a template's SQL; return when nothing is."""
    try:
        tree = sqlglot.parse_one(template.sql, read="trino")
    except sqlglot.errors.ParseError as exc:
        raise ValueError(f"SQL does not parse in Athena's dialect: {exc}") from exc
    if not isinstance(tree, exp.Select | exp.Union):
        raise ValueError("a template must be a single SELECT")
    tables = {t.name for t in tree.find_all(exp.Table)}
    extra = EXTRA_TABLES[template.table]
    if template.table not in tables or tables - {template.table} - extra:
        also = "".join(f" (and {name!r})" for name in sorted(extra))
        raise ValueError(f"a template reads only the table {template.table!r}{also}, not {sorted(tables)}")
    placeholders = list(tree.find_all(exp.Placeholder))
    used = {p.name for p in placeholders}
    declared = {p.name for p in template.params}
    allowed = declared | SCOPE_PARAMS | {LIMIT_PARAM}
    if used - allowed:
        raise ValueError(f"SQL binds undeclared parameters: {sorted(used - allowed)}")
    if declared - used:
        raise ValueError(f"declared parameters unused by the SQL: {sorted(declared - used)}")
    outside = sorted({p.name for p in placeholders if not in_where(p)} - LITERAL_PARAMS)
    if outside:
        raise ValueError(f"SQL binds {outside} outside a WHERE clause; Athena takes parameters only there")
    required = REQUIRED_SCOPE[template.table]
    if required - used:
        raise ValueError(f"SQL must bound the window and prune partitions with {sorted(required)}")
    names = [c.name for c in template.columns]
    if tree.selects and [s.alias_or_name for s in tree.selects] != names:
        raise ValueError(f"SQL output columns {tree.named_selects} differ from the spec's {names}")
    read = frozenset(c.name for c in tree.find_all(exp.Column) if c.name in FLOW_COLUMNS)
    by_words = (sorted(template.placeholders), template.reads_iocs, sorted(template.fields_used))
    by_parser = (sorted(used), IOC_TABLE in tables, sorted(read))
    if by_words != by_parser:
        raise ValueError(
            f"from the SQL's words the catalogue reads (parameters, IOC table, fields) {by_words}, where the "
            f"parser reads {by_parser}; write the SQL plainly (no parameter or field name inside an alias or "
            "a quoted identifier)"
        )


def in_where(node: exp.Expression) -> bool:
    """Whether a node sits inside a WHERE clause (of any SELECT of the query), where Athena takes `?`.

    "Currently, ? parameters can be placed only in the WHERE clause" (Athena, "Use parameterized
    queries", Considerations and limitations); a join's ON condition is not a WHERE clause, so no `?` there.
    """
    return node.find_ancestor(exp.Where) is not None
