"""manifest.yml agrees with the code: the command, shortcuts and events Flowbot listens for, and exactly
the bot scopes its Web API calls and events need (least privilege); `flowbot manifest` rewrites it."""

from __future__ import annotations

import ast
import inspect
import io
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot import slack_ids
from bot.cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, MANIFEST_FILE, app_manifest, main
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # tests/unit has no __init__.py: make `tests.*` importable
    sys.path.insert(0, str(ROOT))

from tests import mock_slack  # noqa: E402

PLACEHOLDER = "https://flowbot.example.com/slack/events"
SHORTCUTS = {  # callback id: (type, name)
    slack_ids.ADD_IOCS_SHORTCUT: ("global", "Add IOCs"),
    slack_ids.IOCS_FROM_MESSAGE_SHORTCUT: ("message", "Add IOCs from message"),
    slack_ids.LOOKUP_IPS_SHORTCUT: ("message", "Look up IPs in message"),
    slack_ids.GUARDDUTY_SHORTCUT: ("message", "Pivot on GuardDuty"),
}

# Web API method -> the bot scopes it needs (empty: none). From each method's page on docs.slack.dev.
# A method the code starts calling that is missing here fails the drift test: add it with its scopes.
SCOPES_OF_METHOD: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "chat.delete": frozenset({"chat:write"}),
    "chat.getPermalink": frozenset(),
    "files.getUploadURLExternal": frozenset({"files:write"}),
    "files.completeUploadExternal": frozenset({"files:write"}),
    "files.info": frozenset({"files:read"}),
    "views.open": frozenset(),
    "views.push": frozenset(),
    "views.update": frozenset(),
    "views.publish": frozenset(),
    "usergroups.users.list": frozenset({"usergroups:read"}),
    "usergroups.list": frozenset({"usergroups:read"}),
    # Incident channels are public or private: each type has its own scope.
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "conversations.members": frozenset({"channels:read", "groups:read"}),
    "conversations.history": frozenset({"channels:history", "groups:history"}),
    "conversations.replies": frozenset({"channels:history", "groups:history"}),
    "conversations.open": frozenset({"im:write"}),
    "users.info": frozenset({"users:read"}),
    "reactions.add": frozenset({"reactions:write"}),
    "reactions.remove": frozenset({"reactions:write"}),
    "response_url": frozenset(),  # WebhookClient / Bolt's respond(): the URL is the credential
}
# Events -> the bot scope that subscribing to them needs.
SCOPES_OF_EVENT: dict[str, frozenset[str]] = {
    "app_mention": frozenset({"app_mentions:read"}),
    "app_home_opened": frozenset(),
}
# Scopes that come from no Web API call:
#   commands           the slash command and the shortcuts (features.slash_commands / shortcuts)
#   chat:write.public  lets chat.postMessage post in public channels Flowbot was not invited to
#   app_mentions:read  the app_mention event (SCOPES_OF_EVENT)
# Bolt's say() posts with chat.postMessage; respond() posts to the response_url.
BOLT_HELPERS = {"say": "chat.postMessage", "respond": "response_url"}


@cache
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _web_client_methods() -> set[str]:
    return {n for n, v in vars(WebClient).items() if callable(v) and not n.startswith("_")}


@cache
def api_methods_of(name: str) -> frozenset[str]:
    """The Web API methods one WebClient method calls (files_upload_v2 calls two others)."""
    source = inspect.getsource(getattr(WebClient, name))
    found = set(re.findall(r'api_call\(\s*"([^"]+)"', source))
    for inner in re.findall(r"self\.(\w+)\(", source):
        if inner != name and inner in _web_client_methods():
            found |= api_methods_of(inner)
    assert found, f"cannot tell which Web API method WebClient.{name} calls"
    return frozenset(found)


def _python_files() -> Iterator[Path]:
    for folder in ("bot", "handlers"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def called_api_methods() -> dict[str, set[str]]:
    """Every Web API method bot/ and handlers/ call -> where: `x.chat_postMessage(...)`,
    `x.api_call("method")`, `WebhookClient(...)` and Bolt's say() / respond()."""
    client_methods = _web_client_methods()
    found: dict[str, set[str]] = {}
    for path in _python_files():
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            methods: set[str] = set()
            if name == "api_call" and node.args and isinstance(node.args[0], ast.Constant):
                methods = {str(node.args[0].value)}
            elif name == "WebhookClient":
                methods = {"response_url"}
            elif isinstance(func, ast.Name) and name in BOLT_HELPERS:
                methods = {BOLT_HELPERS[name]}
            elif isinstance(func, ast.Attribute) and name in client_methods and name != "api_call":
                methods = set(api_methods_of(name))
            for method in methods:
                found.setdefault(method, set()).add(f"{where}:{node.lineno}")
    return found


def _request_urls(node: Any) -> Iterator[tuple[str, str]]:
    """(key, value) of every request URL anywhere in a manifest."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("url", "request_url", "message_menu_options_url"):
                yield key, value
            else:
                yield from _request_urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _request_urls(item)


# ---------------------------------------------------------------------- what the manifest declares


def test_manifest_declares_the_command_shortcuts_and_events_of_the_code() -> None:
    features, settings = manifest()["features"], manifest()["settings"]
    [command] = features["slash_commands"]
    assert command["command"] == Settings.model_fields["command"].default == "/flow"
    assert command["description"] and command["usage_hint"]
    declared = {s["callback_id"]: (s["type"], s["name"]) for s in features["shortcuts"]}
    assert declared == SHORTCUTS
    in_code = {v for k, v in vars(slack_ids).items() if k.endswith("_SHORTCUT")}
    assert set(declared) == in_code, "bot/slack_ids.py and manifest.yml disagree on the shortcuts"
    assert all(s["description"] and len(s["description"]) <= 150 for s in features["shortcuts"])
    assert sorted(settings["event_subscriptions"]["bot_events"]) == sorted(slack_ids.EVENTS)
    assert set(slack_ids.EVENTS) <= set(SCOPES_OF_EVENT), "add the new event's scope to SCOPES_OF_EVENT"


def test_manifest_settings_and_request_urls() -> None:
    m = manifest()
    assert m["_metadata"]["major_version"] == 2
    info = m["display_information"]
    assert len(info["name"]) <= 35 and len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000  # Slack refuses a manifest outside these
    assert m["features"]["bot_user"]["display_name"]
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["features"]["app_home"]["messages_tab_enabled"] is True  # the IOC form's answers arrive there
    assert m["features"]["app_home"]["messages_tab_read_only_enabled"] is True
    settings = m["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert (
        settings["org_deploy_enabled"],
        settings["socket_mode_enabled"],
        settings["token_rotation_enabled"],
    ) == (
        False,
        False,
        False,
    )
    # Bolt serves commands, shortcuts, interactivity and events on one path (handlers/server.py).
    assert "/slack/events" in (ROOT / "handlers" / "server.py").read_text(encoding="utf-8")
    urls = dict(_request_urls(m))
    assert sorted(urls) == ["request_url", "url"]
    assert [u for _, u in _request_urls(m)] == [PLACEHOLDER] * 3


# ---------------------------------------------------------------------- scopes: least privilege


def test_the_code_scan_finds_the_calls_we_know_of() -> None:
    found = called_api_methods()
    known = {
        "chat.postMessage",
        "chat.update",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "usergroups.users.list",
        "views.open",
        "response_url",
    }
    assert known <= set(found), f"the scan missed {known - set(found)}"


def test_bot_scopes_are_exactly_what_the_code_needs() -> None:
    found = called_api_methods()
    unknown = {m: sorted(w) for m, w in found.items() if m not in SCOPES_OF_METHOD}
    assert not unknown, f"add these Web API methods and their scopes to SCOPES_OF_METHOD: {unknown}"
    needed: dict[str, str] = {}
    for method, where in found.items():
        for scope in SCOPES_OF_METHOD[method]:
            needed.setdefault(scope, f"{method} ({sorted(where)[0]})")
    for event in manifest()["settings"]["event_subscriptions"]["bot_events"]:
        for scope in SCOPES_OF_EVENT[event]:
            needed.setdefault(scope, f"the {event} event")
    features = manifest()["features"]
    if features.get("slash_commands") or features.get("shortcuts"):
        needed["commands"] = "the slash command and shortcuts"
    if "chat.postMessage" in found:
        needed["chat:write.public"] = "posting answers in public channels Flowbot was not invited to"
    declared = set(manifest()["oauth_config"]["scopes"]["bot"])
    missing = {s: why for s, why in needed.items() if s not in declared}
    assert not missing, f"manifest.yml lacks bot scopes the code needs: {missing}"
    unused = declared - set(needed)
    assert not unused, f"manifest.yml asks for bot scopes nothing uses (least privilege): {sorted(unused)}"
    assert "user" not in manifest()["oauth_config"]["scopes"], "Flowbot acts as its bot user only"


def test_the_mock_reports_the_manifest_scopes() -> None:
    assert set(mock_slack.SCOPES.split(",")) == set(manifest()["oauth_config"]["scopes"]["bot"])


# ---------------------------------------------------------------------- flowbot manifest


def _run(argv: list[str]) -> tuple[int, str]:
    """Exit status (argparse's usage errors included) and what was printed."""
    out = io.StringIO()
    try:
        code = main(argv, stdout=out)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue()


def test_cli_manifest_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBOT_COMMAND", "/hunt")
    code, text = _run(["manifest", "--url", "https://bots.corp.example:8443/flowbot/"])
    assert code == EXIT_OK
    assert text.startswith("# ")
    made = yaml.safe_load(text)
    assert [u for _, u in _request_urls(made)] == ["https://bots.corp.example:8443/flowbot/slack/events"] * 3
    assert made["features"]["slash_commands"][0]["command"] == "/hunt"
    assert made["settings"]["socket_mode_enabled"] is False
    assert made["oauth_config"] == manifest()["oauth_config"]
    assert made["features"]["shortcuts"] == manifest()["features"]["shortcuts"]
    code, text = _run(["manifest", "--url", "https://flowbot.corp.example"])
    assert {u for _, u in _request_urls(yaml.safe_load(text))} == {
        "https://flowbot.corp.example/slack/events"
    }


def test_cli_manifest_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWBOT_COMMAND", raising=False)
    code, text = _run(["manifest", "--socket"])
    assert code == EXIT_OK
    made = yaml.safe_load(text)
    assert list(_request_urls(made)) == []
    assert made["settings"]["socket_mode_enabled"] is True
    assert made["settings"]["interactivity"] == {"is_enabled": True}
    assert (
        made["settings"]["event_subscriptions"]["bot_events"]
        == manifest()["settings"]["event_subscriptions"]["bot_events"]
    )
    assert made["features"]["slash_commands"][0]["command"] == "/flow"
    assert manifest()["settings"]["socket_mode_enabled"] is False  # the file itself is untouched


@pytest.mark.parametrize(
    "argv",
    [
        ["manifest"],
        ["manifest", "--socket", "--url", "https://x.example"],
        ["manifest", "--url", "http://flowbot.corp.example"],
        ["manifest", "--url", "https://flowbot.corp.example/?a=1"],
        ["manifest", "--url", "flowbot.corp.example"],
    ],
)
def test_cli_manifest_bad_input(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(argv) == (EXIT_BAD_INPUT, "")
    assert capsys.readouterr().err.count("\n") == 1


def test_cli_manifest_bad_command_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBOT_COMMAND", "/Flow Bot")
    assert _run(["manifest", "--socket"])[0] == EXIT_BAD_INPUT
    with pytest.raises(ValueError, match="not a Slack command name"):
        app_manifest(manifest(), command="flow", socket=True)


def test_cli_manifest_missing_or_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["manifest", "--socket", "--file", str(tmp_path / "none.yml")])[0] == EXIT_FAILURE
    assert "no manifest at" in capsys.readouterr().err
    empty = tmp_path / "manifest.yml"
    empty.write_text("")  # what `flowbot manifest ... > manifest.yml` leaves in the repository
    assert _run(["manifest", "--socket", "--file", str(empty)])[0] == EXIT_FAILURE
    assert "redirected" in capsys.readouterr().err


def test_readme_install_section_names_every_scope_and_token() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Install in Slack", 1)[1].split("\n## ", 1)[0]
    for scope in manifest()["oauth_config"]["scopes"]["bot"]:
        assert f"`{scope}`" in section, f"the README's Install in Slack section does not explain {scope}"
    for name in ("slack_bot_token", "slack_signing_secret", "slack_app_token"):
        assert f"`FLOWBOT_{name.upper()}`" in section
    assert "flowbot manifest --url" in section and "flowbot manifest --socket" in section
