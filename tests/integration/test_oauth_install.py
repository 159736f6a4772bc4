"""OAuth mode end to end, in-process: Slack's install flow through `flowbot serve`'s WSGI app, then slash
commands from the installed workspaces, each answered with its own token.

The WSGI application is handlers/server.py's (`wsgi_app` around Bolt's SlackRequestHandler) over the app
handlers/app.py builds; requests are handed to it directly (no socket), Slack's Web API is MockSlackOAuth
(tests/mock_slack_oauth.py), the installation store a folder, the queue the test Redis.

The flow, as a browser and Slack run it:
1. GET /slack/install: Bolt issues a state, sets it in a cookie and links to Slack's authorize URL with it.
2. The admin approves on Slack (here `MockSlackOAuth.grant`); Slack sends the browser to
   /slack/oauth_redirect?code=…&state=…, cookie included.
3. Bolt checks the state against the cookie and its state store, trades the code with oauth.v2.access,
   asks auth.test for the bot id, and saves the installation.
"""

from __future__ import annotations

import html
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from wsgiref.util import setup_testing_defaults

import pytest
from redis import Redis
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.health import ReadinessProbe
from bot.manifest import load_manifest
from bot.queue.enqueue import FlowQueue
from bot.settings import Settings
from bot.slack.installations import bot_client, installation_store
from handlers.app import NOT_INSTALLED, create_app
from handlers.asking import Asker
from handlers.server import WsgiApp, wsgi_app
from tests.conftest import fake_aws_environment
from tests.mock_slack_oauth import MockSlackOAuth
from tests.slack_signing import signed_headers, slash_command_body

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "client-secret-for-tests"  # a test value
SIGNING_SECRET = "oauth-signing-secret"  # a test value
COOKIE = "slack-app-oauth-state"
T2, T3, E1 = "T0BBB0002", "T0CCC0003", "E0ORG0001"


class Response:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = int(status.split()[0])
        self.headers = headers
        self.text = body.decode("utf-8", "replace")
        self.redirect: tuple[str, dict[str, str]] | None = None
        """For an install's last step: the redirect request (path, headers), to replay."""

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def request(
    app: WsgiApp, method: str, path: str, *, body: str = "", headers: dict[str, str] | None = None
) -> Response:
    """One request through the WSGI app, as waitress would hand it over."""
    path, _, query = path.partition("?")
    raw = body.encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    started: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started.update(status=status, headers=response_headers)

    out = b"".join(app(environ, start_response))
    return Response(started["status"], started["headers"], out)


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[MockSlackOAuth]:
    fake_aws_environment(monkeypatch, tmp_path, "us-east-1", prefixes=("FLOWBOT_", "SLACK_"))
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)  # slack_sdk would send 127.0.0.1 through them
    with MockSlackOAuth(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as mock:
        yield mock


@pytest.fixture
def settings(slack: MockSlackOAuth, redis_url: str, tmp_path: Path, sample_root: Path) -> Settings:
    """OAuth mode, and no bot token at all."""
    return Settings(
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        installation_store=str(tmp_path / "slack"),
        allowed_teams=(T2, T3, E1),
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
        redis_url=redis_url,
        local_data_dir=sample_root,
        ioc_store=str(tmp_path / "iocs"),
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[WsgiApp]:
    """`flowbot serve`'s WSGI application (serve_http builds the same)."""
    queue = FlowQueue(Redis.from_url(settings.redis_url), settings)
    asker = Asker(settings, queue)
    bolt = create_app(settings, queue, asker=asker)
    yield wsgi_app(SlackRequestHandler(bolt), ReadinessProbe(settings))
    asker.stop_announcing()


def install(app: WsgiApp, slack: MockSlackOAuth, **grant: Any) -> Response:
    """The whole install flow for one workspace or org; the redirect's response."""
    page = request(app, "GET", "/slack/install")
    assert page.status == 200, page.text
    [cookie] = page.header("Set-Cookie")
    state = re.match(rf"{COOKIE}=([^;]+)", cookie)
    assert state is not None, cookie
    link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page.text)
    assert link is not None, page.text
    asked = parse_qs(urlsplit(html.unescape(link.group(1))).query)
    assert asked["state"] == [state.group(1)] and asked["client_id"] == [CLIENT_ID]
    assert asked["scope"][0].split(",") == load_manifest()["oauth_config"]["scopes"]["bot"]
    assert not asked.get("user_scope", [""])[0]  # Flowbot acts as its bot only

    code = slack.grant(**grant)  # the admin approves on Slack, which redirects the browser back
    query = urlencode({"code": code, "state": state.group(1)})
    redirect = f"/slack/oauth_redirect?{query}"
    done = request(app, "GET", redirect, headers={"Cookie": f"{COOKIE}={state.group(1)}"})
    done.redirect = (redirect, {"Cookie": f"{COOKIE}={state.group(1)}"})
    return done


def slash(app: WsgiApp, text: str, **fields: str) -> Response:
    body = slash_command_body(text, **fields)
    return request(app, "POST", "/slack/events", body=body, headers=signed_headers(SIGNING_SECRET, body))


def posted_with(slack: MockSlackOAuth, token: str, timeout: float = 10.0) -> list[Any]:
    """The chat.postMessage calls made with `token`, waiting for the first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in slack.calls("chat.postMessage") if c.token == token]
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no chat.postMessage with that token; calls: {slack.calls()}")


def test_a_workspace_installs_then_its_commands_use_its_own_token(
    app: WsgiApp, slack: MockSlackOAuth, settings: Settings
) -> None:
    done = install(app, slack, team_id=T2, team_name="Second")
    assert done.status == 200 and "Thank you!" in done.text, done.text
    token = slack.token_of(T2)
    [trade] = slack.calls("oauth.v2.access")
    assert trade.ok and trade.params["code"].endswith(T2)
    bot = installation_store(settings).find_bot(enterprise_id=None, team_id=T2)
    assert bot is not None and bot.bot_token == token and bot.bot_id
    assert bot_client(settings, team_id=T2, enterprise_id=None).token == token  # what a worker gets

    acked = slash(app, "count --last 1h", team_id=T2, channel_id="C0SECOND")
    assert acked.status == 200, acked.text
    [status] = posted_with(slack, token)
    assert status.params["channel"] == "C0SECOND"
    assert {c.token for c in slack.calls("auth.test")} == {token}  # Bolt's authorization, per request
    assert all(c.token == token for c in slack.calls() if c.token)


def test_an_org_wide_install_answers_every_workspace_of_the_org(
    app: WsgiApp, slack: MockSlackOAuth, settings: Settings
) -> None:
    install(app, slack, team_id=T2)
    done = install(app, slack, enterprise_id=E1, enterprise_name="Starship", org_wide=True)
    assert done.status == 200, done.text
    org_token = slack.token_of(E1)
    assert bot_client(settings, team_id=T3, enterprise_id=E1).token == org_token

    body = slash_command_body("count --last 1h", team_id=T3, channel_id="C0ORGCHAN")
    body = body.replace("is_enterprise_install=false", "is_enterprise_install=true")
    body += "&" + urlencode({"enterprise_id": E1, "enterprise_name": "Starship"})
    acked = request(app, "POST", "/slack/events", body=body, headers=signed_headers(SIGNING_SECRET, body))
    assert acked.status == 200, acked.text
    [status] = posted_with(slack, org_token)
    assert status.params["channel"] == "C0ORGCHAN"
    assert slack.token_of(T2) != org_token


def test_a_workspace_that_never_installed_is_told_so(app: WsgiApp, slack: MockSlackOAuth) -> None:
    install(app, slack, team_id=T2)
    refused = slash(app, "count --last 1h", team_id=T3, response_url=slack.response_url("t3"))
    assert refused.status == 200  # Bolt acknowledges, then tells the asker on the response_url
    [told] = slack.wait_for("response_url")
    assert told.params["text"] == NOT_INSTALLED
    assert not slack.calls("chat.postMessage")


def test_a_forged_or_replayed_redirect_installs_nothing(
    app: WsgiApp, slack: MockSlackOAuth, settings: Settings
) -> None:
    forged = request(
        app,
        "GET",
        "/slack/oauth_redirect?" + urlencode({"code": slack.grant(team_id=T3), "state": "../../x"}),
        headers={"Cookie": f"{COOKIE}=../../x"},
    )
    assert forged.status in (400, 401)
    no_cookie = request(app, "GET", "/slack/oauth_redirect?code=x&state=y")
    assert no_cookie.status == 400
    assert not slack.calls("oauth.v2.access")
    assert installation_store(settings).find_bot(enterprise_id=None, team_id=T3) is None

    done = install(app, slack, team_id=T2)
    assert done.status == 200 and done.redirect is not None
    path, headers = done.redirect
    replayed = request(app, "GET", path, headers=headers)  # the state was used up
    assert replayed.status == 401
    assert len(slack.calls("oauth.v2.access")) == 1


def test_the_other_paths_still_answer(app: WsgiApp) -> None:
    assert request(app, "GET", "/healthz").status == 200
    assert request(app, "GET", "/slack/events").status == 404
    assert request(app, "GET", "/slack/nothing").status == 404


def test_an_uninstall_deletes_the_workspaces_token(
    app: WsgiApp, slack: MockSlackOAuth, settings: Settings
) -> None:
    install(app, slack, team_id=T2)
    store = installation_store(settings)
    assert store.find_bot(enterprise_id=None, team_id=T2) is not None
    event = {  # https://docs.slack.dev/reference/events/app_uninstalled
        "token": "unused",
        "team_id": T2,
        "api_app_id": "A0FLOWBOT",
        "event": {"type": "app_uninstalled"},
        "type": "event_callback",
        "event_id": "Ev0UNINSTALL",
        "event_time": 1700000000,
    }
    body = json.dumps(event)
    headers = signed_headers(SIGNING_SECRET, body, content_type="application/json")
    assert request(app, "POST", "/slack/events", body=body, headers=headers).status == 200
    deadline = time.monotonic() + 10
    while store.find_bot(enterprise_id=None, team_id=T2) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.find_bot(enterprise_id=None, team_id=T2) is None
