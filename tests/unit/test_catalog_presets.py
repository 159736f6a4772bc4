"""Column presets: specs that list whole records name one list instead of copying it, and load as before."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from bot.query.catalog import PRESETS_FILE, TemplateError, load_catalog, read_catalog

RECORDED = Path(__file__).with_name("catalog_columns.json")
"""Every shipped template's columns as the catalog loaded them before presets existed (issue #17)."""

COUNT = """SELECT count(*) AS n FROM vpcflow
WHERE date_partition BETWEEN :first_day AND :last_day AND starttime >= :from_ts AND starttime < :to_ts"""
SPEC = """command = ["t"]\ntitle = "T"\ndescription = "d"\nfinding = "{n} records"\nexample = "t"
source = "s"\nsummary_columns = ["n"]\ncolumns = "%s"\n"""
PRESETS = """[[count]]\nname = "n"\ntype = "%s"\nkind = "count"\n"""


def folder(tmp_path: Path, preset: str, column_type: str = "bigint") -> Path:
    """A templates folder with one preset, `count`, and one spec, `t`, that names `preset`."""
    (tmp_path / PRESETS_FILE).write_text(PRESETS % column_type, encoding="utf-8")
    (tmp_path / "t.toml").write_text(SPEC % preset, encoding="utf-8")
    (tmp_path / "t.sql").write_text(COUNT, encoding="utf-8")
    return tmp_path


def test_every_shipped_template_has_the_columns_it_had_before_presets() -> None:
    loaded = {t.name: [c.model_dump(mode="json") for c in t.columns] for t in load_catalog()}
    assert loaded == json.loads(RECORDED.read_text(encoding="utf-8"))


def test_no_shipped_spec_spells_out_a_presets_columns() -> None:
    shipped = resources.files("query_templates")
    presets = tomllib.loads((shipped / PRESETS_FILE).read_text(encoding="utf-8"))
    for spec_file in shipped.iterdir():
        if spec_file.name.endswith(".toml") and spec_file.name != PRESETS_FILE:
            columns = tomllib.loads(spec_file.read_text(encoding="utf-8"))["columns"]
            named = [name for name, preset in presets.items() if preset == columns]
            assert not named, f'{spec_file.name}: write columns = "{named[0]}"'


def test_a_spec_that_names_a_preset_gets_its_columns(tmp_path: Path) -> None:
    (column,) = read_catalog(folder(tmp_path, "count"))["t"].columns
    assert (column.name, column.type, column.kind) == ("n", "bigint", "count")


def test_an_unknown_preset_stops_start_up_naming_the_spec_and_the_known_presets(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"query_templates/t: columns = 'counts' .*known presets: count$"):
        read_catalog(folder(tmp_path, "counts"))


def test_a_wrong_preset_stops_start_up_though_no_spec_names_it(tmp_path: Path) -> None:
    folder(tmp_path, "count", column_type="text")
    (tmp_path / "t.toml").write_text(
        (tmp_path / "t.toml").read_text(encoding="utf-8").replace('columns = "count"\n', "")
        + '\n[[columns]]\nname = "n"\ntype = "bigint"\n',
        encoding="utf-8",
    )
    with pytest.raises(
        TemplateError, match=rf"(?s)query_templates/{PRESETS_FILE}: .*column presets.*count\.0\.type"
    ):
        read_catalog(tmp_path)
