"""Templates are data checked at load: a wrong one stops start-up, not a responder's query."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlglot
from pydantic import ValidationError
from sqlglot import exp

from bot.parse.help import help_text
from bot.query.catalog import QueryTemplate, TemplateError, load_catalog, read_catalog
from bot.query.sql_checks import check_catalog, check_template
from bot.settings import Settings
from tests.flowlog_oracle import RATIO_COLUMNS

SCOPE = """date_partition BETWEEN :first_day AND :last_day
  AND starttime >= :from_ts AND starttime < :to_ts"""
COUNT = f"SELECT count(*) AS n FROM vpcflow WHERE {SCOPE}"


def template(sql: str, **spec: Any) -> QueryTemplate:
    fields: dict[str, Any] = {
        "name": "t",
        "command": ["t"],
        "title": "T",
        "description": "d",
        "finding": "{n} records",
        "example": "t",
        "source": "s",
        "columns": [{"name": "n", "type": "bigint"}],
        "summary_columns": ["n"],
        "sql": sql,
    }
    fields.update(spec)
    made = QueryTemplate(**fields)
    check_template(made)  # the SQL, as every worker checks it at start-up
    return made


def test_a_valid_template_loads() -> None:
    assert template(f"SELECT count(*) AS n FROM vpcflow WHERE {SCOPE}").uses_limit is False


@pytest.mark.parametrize(
    ("sql", "spec", "says"),
    [
        ("SELECT count(*) AS n FROM vpcflow", {}, "must bound the window"),
        (f"SELECT count(*) AS n FROM vpcflow WHERE {SCOPE} AND x = :who", {}, "undeclared parameters"),
        (
            f"SELECT count(*) AS n FROM vpcflow WHERE {SCOPE}",
            {"params": [{"name": "ip", "type": "ip", "help": "h"}]},
            "unused by the SQL",
        ),
        (f"SELECT count(*) AS n FROM other WHERE {SCOPE}", {}, "reads only the table"),
        (f"SELECT count(*) AS total FROM vpcflow WHERE {SCOPE}", {}, "differ from the spec"),
        ("DROP TABLE vpcflow", {}, "single SELECT"),
        ("SELECT FROM WHERE (", {}, "does not parse"),
        (f"SELECT count(*) AS n FROM vpcflow WHERE {SCOPE}", {"summary_columns": ["zz"]}, "summary_columns"),
        (COUNT, {"finding": "{total} records"}, r"\['total'\]"),
        (COUNT, {"finding": "{n:,} records"}, "not {n:,}"),
        (COUNT, {"finding": "{n!r} records"}, "bare names"),
        (COUNT, {"finding": "{} records"}, "bare names"),
        (COUNT, {"finding": "{n records"}, "not a format string"),
        (COUNT, {"finding": ""}, "at least 1 character"),
    ],
)
def test_a_wrong_template_is_refused(sql: str, spec: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):  # the spec's ValidationError, or the SQL check's
        template(sql, **spec)


def test_a_finding_names_columns_parameters_and_rows() -> None:
    sql = f"SELECT count(*) AS n FROM vpcflow WHERE sourceaddress = :ip AND {SCOPE}"
    ip = [{"name": "ip", "type": "ip", "help": "h"}]
    assert template(sql, params=ip, finding="{ip} sent {n} of {rows} {{braces}}").finding
    with pytest.raises(ValidationError, match="neither columns, parameters nor `rows`"):
        template(sql, params=ip, finding="{ip} sent {n} to {peer}")


def test_a_template_whose_finding_names_an_unknown_field_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "bad.sql").write_text(COUNT, encoding="utf-8")
    (tmp_path / "bad.toml").write_text(
        'command = ["bad"]\ntitle = "Bad"\ndescription = "d"\nfinding = "{n} records to {peer}"\n'
        'example = "bad"\nsource = "s"\nsummary_columns = ["n"]\n\n'
        '[[columns]]\nname = "n"\ntype = "bigint"\nkind = "count"\n',
        encoding="utf-8",
    )
    with pytest.raises(TemplateError, match=r"(?s)query_templates/bad: .*finding names \['peer'\]"):
        read_catalog(tmp_path)
    (tmp_path / "bad.toml").write_text(
        (tmp_path / "bad.toml").read_text(encoding="utf-8").replace(" to {peer}", ""), encoding="utf-8"
    )
    assert read_catalog(tmp_path)["bad"].finding == "{n} records"


@pytest.mark.parametrize(("kind", "table"), [("vpcflow", "vpcflow"), ("json", "vpc_flow_logs")])
def test_every_shipped_template_is_in_help_with_its_example(kind: str, table: str) -> None:
    text = help_text(load_catalog(), Settings(table_kind=kind))  # type: ignore[arg-type]
    templates = load_catalog().for_table(table)  # type: ignore[arg-type]
    assert templates
    for t in templates:
        assert f"`{t.usage}`" in text
        assert f"`/flow {t.example}`" in text


def test_issue_commands_exist() -> None:
    names = {t.name for t in load_catalog()}
    assert {"count", "sample", "top_src", "top_dst", "timeline", "ratio"} <= names


def test_ratio_is_the_playbooks_query() -> None:
    ratio = load_catalog()["ratio"]
    assert [c.name for c in ratio.columns] == list(RATIO_COLUMNS)
    assert "SUM(numbytes) / count(*) AS data_ratio" in ratio.sql
    assert "'%Y/%m/%d %H:%i:%s'" in ratio.sql


def test_every_shipped_template_parses_in_athenas_dialect() -> None:
    for t in load_catalog():
        assert isinstance(sqlglot.parse_one(t.sql, read="athena"), exp.Select | exp.Union), t.name


def test_every_shipped_template_passes_the_sql_check_as_workers_run_it() -> None:
    check_catalog(load_catalog())


@pytest.mark.parametrize(
    ("sql", "placeholders", "fields"),
    [
        (COUNT, {"first_day", "last_day", "from_ts", "to_ts"}, {"starttime"}),
        (  # a string holding a parameter's and a field's name, a comment, an alias named like a field
            f"SELECT count(*) AS protocol FROM vpcflow WHERE {SCOPE} AND action = ':region -- srcport'\n"
            "-- reads numbytes? no",
            {"first_day", "last_day", "from_ts", "to_ts"},
            {"starttime", "action"},
        ),
    ],
)
def test_the_catalog_reads_parameters_and_fields_from_the_sql_words(
    sql: str, placeholders: set[str], fields: set[str]
) -> None:
    made = template(
        sql,
        columns=[{"name": "protocol" if "protocol" in sql else "n", "type": "bigint"}],
        summary_columns=["protocol" if "protocol" in sql else "n"],
        finding="{rows} rows",
    )
    assert (made.placeholders, made.fields_used) == (placeholders, fields)


def test_sql_whose_words_mislead_the_catalog_is_refused_at_start_up() -> None:
    # `version` is a flow-log field; here it is a function, which the parser tells apart and words do not
    with pytest.raises(ValueError, match="from the SQL's words"):
        template(f"SELECT count(*) AS n FROM vpcflow WHERE {SCOPE} AND version() <> ''")
