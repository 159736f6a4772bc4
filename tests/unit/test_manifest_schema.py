"""Every manifest `flowbot manifest` can print passes Slack's published manifest schemas (1.0.0 and 2.0.0,
vendored in tests/contracts/slack_manifest_schema), so a manifest Slack would refuse fails here instead of
at "Create New App → From a manifest"; and known-bad manifests fail, so the check cannot pass vacuously."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema.validators import extend, validator_for

from bot.cli import EXIT_OK, MANIFEST_FILE, app_manifest, main

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "tests" / "contracts" / "slack_manifest_schema"
VERSIONS = ("1.0.0", "2.0.0")
COMMANDS = ("/flow", "/flowbot", "/ir-flow", "/" + "a" * 31)
"""The default, other plausible names, and the longest name Slack (and bot.cli.SLASH_COMMAND) allows."""
URLS = (
    "https://flowbot.corp.example",
    "https://flowbot.corp.example/",
    "https://bots.corp.example:8443/flowbot/",
    "https://bots.corp.example/a/deep/prefix",
)
"""Bare host, trailing slash, port and prefix, deeper prefix: each changes the printed request URLs."""


def _regex(
    validator: Any, regex: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """Slack's schemas spell background_color's hex rule `regex`, a keyword JSON Schema does not define
    and a stock validator ignores; Slack documents the same 3- or 6-digit rule, so enforce it as `pattern`."""
    if validator.is_type(instance, "string") and not re.search(regex, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {regex!r}")


def load_schema(path: Path) -> dict[str, Any]:
    """A schema file, refused when it lost its content: an empty schema validates anything."""
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict) and loaded, f"{path} holds no schema"
    assert loaded.get("$schema") == "http://json-schema.org/draft-07/schema#", f"{path}: a new draft?"
    assert loaded.get("required") == ["display_information"], f"{path} requires no display_information"
    assert "shortcuts" in loaded["definitions"]["app-manifests.v1.features.schema"]["properties"]
    return loaded


@cache
def schema(version: str) -> dict[str, Any]:
    """One vendored schema."""
    return load_schema(SCHEMA_DIR / f"manifest.schema.{version}.json")


@cache
def validator(version: str) -> Any:
    """A validator of the draft the schema declares (draft 7), checked as a schema first."""
    found = schema(version)
    base = validator_for(found, default=None)
    assert base is not None, "the schema declares no $schema draft jsonschema knows"
    base.check_schema(found)
    return extend(base, {"regex": _regex})(found, format_checker=base.FORMAT_CHECKER)


def errors(manifest: dict[str, Any], version: str) -> list[str]:
    """Each way `manifest` breaks the schema, as `path: message` (empty when it passes)."""
    found = validator(version).iter_errors(manifest)
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found)


def assert_valid(manifest: dict[str, Any]) -> None:
    """Both schemas: the manifest declares major_version 2, and Slack also publishes 1.0.0."""
    for version in VERSIONS:
        assert errors(manifest, version) == [], f"Slack's {version} manifest schema refuses it"


@cache
def _file_manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def repository_manifest() -> dict[str, Any]:
    """bot/manifest.yml as is (a fresh copy: tests may break it)."""
    return copy.deepcopy(_file_manifest())


def _printed(argv: list[str]) -> dict[str, Any]:
    """What `flowbot <argv>` prints, parsed as YAML, after checking it succeeded."""
    out = io.StringIO()
    assert main(argv, stdout=out) == EXIT_OK
    loaded = yaml.safe_load(out.getvalue())
    assert isinstance(loaded, dict)
    return loaded


# ---------------------------------------------------------------------- every manifest Flowbot prints


def test_the_repository_manifest_passes_both_schemas() -> None:
    assert_valid(repository_manifest())


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("url", URLS)
def test_app_manifest_for_http_passes_both_schemas(command: str, url: str) -> None:
    made = app_manifest(repository_manifest(), command=command, url=url)
    assert made["features"]["slash_commands"][0]["command"] == command
    assert_valid(made)


@pytest.mark.parametrize("command", COMMANDS)
def test_app_manifest_for_socket_mode_passes_both_schemas(command: str) -> None:
    made = app_manifest(repository_manifest(), command=command, socket=True)
    assert made["settings"]["socket_mode_enabled"] is True
    assert_valid(made)


@pytest.mark.parametrize("command", [None, *COMMANDS])
@pytest.mark.parametrize("where", [["--socket"], *(["--url", u] for u in URLS)])
def test_what_flowbot_manifest_prints_passes_both_schemas(
    command: str | None, where: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """FLOWBOT_COMMAND (unset: the default /flow) and --url / --socket are what change the output."""
    if command is None:
        monkeypatch.delenv("FLOWBOT_COMMAND", raising=False)
    else:
        monkeypatch.setenv("FLOWBOT_COMMAND", command)
    made = _printed(["manifest", *where])
    assert made["features"]["slash_commands"][0]["command"] == (command or "/flow")
    assert_valid(made)


@pytest.mark.parametrize(
    "where",
    [
        ["--url", URLS[0], "--org"],
        ["--url", URLS[0], "--oauth"],
        ["--url", URLS[2], "--org", "--oauth"],
        ["--socket", "--org"],
    ],
)
def test_the_organisation_and_oauth_manifests_pass_both_schemas(
    where: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """OAuth mode (several workspaces, an Enterprise Grid org): org-wide install, the redirect URL."""
    monkeypatch.delenv("FLOWBOT_SLACK_CLIENT_ID", raising=False)
    made = _printed(["manifest", *where])
    assert made["settings"]["org_deploy_enabled"] is ("--org" in where)
    if "--oauth" in where:
        assert made["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")
    assert_valid(made)


@pytest.mark.parametrize("where", [["--socket"], ["--url", URLS[2]]])
def test_flowbot_manifest_from_another_file_passes_both_schemas(where: list[str], tmp_path: Path) -> None:
    """--file: a manifest with an options-load URL too, the one request URL bot/manifest.yml lacks."""
    start = repository_manifest()
    start["settings"]["interactivity"]["message_menu_options_url"] = "https://x.example/slack/options"
    path = tmp_path / "manifest.yml"
    path.write_text(yaml.safe_dump(start, sort_keys=False), encoding="utf-8")
    made = _printed(["manifest", *where, "--file", str(path)])
    assert ("message_menu_options_url" in made["settings"]["interactivity"]) == (where[0] == "--url")
    assert_valid(made)


def test_both_schemas_take_the_manifests_metadata() -> None:
    """major_version 2 picks 2.0.0 in Slack's top-level schema; 1.0.0 constrains no version number, so it
    takes this _metadata too. Both refuse a key _metadata does not define."""
    metadata = repository_manifest()["_metadata"]
    assert metadata == {"major_version": 2, "minor_version": 1}
    for version in VERSIONS:
        assert errors({"display_information": {"name": "Flowbot"}, "_metadata": metadata}, version) == []
        bad = {"display_information": {"name": "Flowbot"}, "_metadata": {**metadata, "major": 2}}
        assert errors(bad, version), f"{version} took an unknown _metadata key"


# ---------------------------------------------------------------------- the check can fail


def _break(change: str) -> dict[str, Any]:
    """The repository manifest with one thing wrong that Slack refuses."""
    m = repository_manifest()
    if change == "25-character shortcut name":
        m["features"]["shortcuts"][1]["name"] = "x" * 25
    elif change == "no display_information":
        del m["display_information"]
    elif change == "no app name":
        del m["display_information"]["name"]
    elif change == "no shortcut description":
        del m["features"]["shortcuts"][0]["description"]
    elif change == "no slash command description":
        del m["features"]["slash_commands"][0]["description"]
    elif change == "no interactivity is_enabled":
        del m["settings"]["interactivity"]["is_enabled"]
    elif change == "174-character long_description":
        m["display_information"]["long_description"] = "x" * 174
    elif change == "141-character description":
        m["display_information"]["description"] = "x" * 141
    elif change == "unknown shortcut type":
        m["features"]["shortcuts"][0]["type"] = "channel"
    elif change == "command without a slash":
        m["features"]["slash_commands"][0]["command"] = "flow"
    elif change == "background_color not hex":
        m["display_information"]["background_color"] = "blue"
    elif change == "misspelt top-level key":
        m["feature"] = m.pop("features")
    else:
        raise AssertionError(change)
    return m


BROKEN = {
    "25-character shortcut name": "features.shortcuts.1.name",
    "no display_information": "<root>",
    "no app name": "display_information",
    "no shortcut description": "features.shortcuts.0",
    "no slash command description": "features.slash_commands.0",
    "no interactivity is_enabled": "settings.interactivity",
    "174-character long_description": "display_information.long_description",
    "141-character description": "display_information.description",
    "unknown shortcut type": "features.shortcuts.0.type",
    "command without a slash": "features.slash_commands.0.command",
    "background_color not hex": "display_information.background_color",
    "misspelt top-level key": "<root>",
}
"""Each known-bad manifest -> where the schema must report it."""


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("change", sorted(BROKEN))
def test_a_broken_manifest_fails(change: str, version: str) -> None:
    found = errors(_break(change), version)
    assert len(found) == 1 and found[0].startswith(BROKEN[change] + ": "), found


@pytest.mark.parametrize("version", VERSIONS)
def test_the_limits_sit_where_slack_documents_them(version: str) -> None:
    """Exactly at each limit passes, one past fails: the vendored file holds Slack's numbers."""
    m = repository_manifest()
    m["features"]["shortcuts"][1]["name"] = "x" * 24
    m["display_information"]["long_description"] = "x" * 175
    m["display_information"]["description"] = "x" * 140
    m["display_information"]["name"] = "x" * 35
    m["features"]["slash_commands"][0]["command"] = "/" + "x" * 31
    assert errors(m, version) == []
    m["display_information"]["name"] = "x" * 36
    m["features"]["slash_commands"][0]["command"] = "/" + "x" * 32
    assert len(errors(m, version)) == 2


@pytest.mark.parametrize("content", ["", "{}", '{"$schema": "http://json-schema.org/draft-07/schema#"}'])
def test_an_emptied_schema_file_fails_loudly(content: str, tmp_path: Path) -> None:
    """An empty schema would pass the 25-character name; load_schema refuses such a file instead."""
    assert jsonschema.Draft7Validator({}).is_valid(_break("25-character shortcut name"))
    path = tmp_path / "manifest.schema.2.0.0.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises((AssertionError, json.JSONDecodeError)):
        load_schema(path)


def test_the_vendored_files_are_slacks_unchanged() -> None:
    """The README's git blob IDs: a hand edit (say, a raised limit) shows here."""
    readme = (SCHEMA_DIR / "README.md").read_text(encoding="utf-8")
    for name in ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json", "LICENSE"):
        data = (SCHEMA_DIR / name).read_bytes()
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
        [row] = [line for line in readme.splitlines() if line.startswith(f"| `{name}` |")]
        assert row.endswith(f"| `{blob}` |"), f"{name} differs from Slack's (or the README's blob ID)"
