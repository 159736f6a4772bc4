"""OAuth mode's pieces (bot/slack/installations.py): slack_sdk's installation and state stores on S3 (moto)
and on disk, the bot token a worker gets for each workspace, the settings it needs, the per-workspace channel
lists and the manifest for an org.

Installations are saved as Bolt's OAuth flow saves them (`OAuthFlow.run_installation` builds an
`Installation` from oauth.v2.access's answer, `store_installation` calls the store's `save`).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from pydantic import SecretStr
from slack_sdk.oauth.installation_store import FileInstallationStore, InstallationStore
from slack_sdk.oauth.installation_store.amazon_s3 import AmazonS3InstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.oauth.state_store.amazon_s3 import AmazonS3OAuthStateStore

from bot.access import Access
from bot.cli import EXIT_BAD_INPUT, EXIT_OK, app_manifest, main
from bot.manifest import load_manifest
from bot.settings import MissingSettingError, Settings
from bot.slack.installations import (
    NotInstalledError,
    bot_client,
    check_oauth,
    installation_store,
    oauth_settings,
    state_store,
)
from bot.words import CommandError

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # tests/unit has no __init__.py: make `tests.*` importable
    sys.path.insert(0, str(ROOT))

from tests.conftest import fake_aws_environment  # noqa: E402
from tests.slack_installations import installation  # noqa: E402

REGION = "us-east-1"
BUCKET = "flowbot-slack"
CLIENT_ID = "1111111111.2222222222"
SECRET = "client-secret-for-tests"  # a test value
T1, T2, T3, E1 = "T0AAA0001", "T0BBB0002", "T0CCC0003", "E0ORG0001"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FLOWBOT_ variable of the machine leaks in; moto's fake AWS credentials and region."""
    fake_aws_environment(monkeypatch, tmp_path, REGION, prefixes=("FLOWBOT_", "SLACK_"))


def oauth(store: str, **extra: Any) -> Settings:
    return Settings(
        slack_client_id=CLIENT_ID,
        slack_client_secret=SECRET,
        installation_store=store,
        allowed_teams=(T1, T2, T3, E1),
        **extra,
    )


@pytest.fixture(params=["folder", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """OAuth-mode settings on a folder, and on moto's S3 under a prefix."""
    if request.param == "folder":
        yield oauth(str(tmp_path / "slack"))
        return
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield oauth(f"s3://{BUCKET}/flowbot/prod")


def installed(
    store: InstallationStore,
    *,
    token: str,
    team_id: str | None,
    enterprise_id: str | None = None,
    org_wide: bool = False,
) -> None:
    """Save an installation exactly as Bolt's OAuth flow does after oauth.v2.access."""
    made = installation(team_id=None if org_wide else team_id, enterprise_id=enterprise_id, token=token)
    store.save(made)


# ---------------------------------------------------------------------- the stores


def test_the_stores_are_slack_sdks_own(settings: Settings) -> None:
    store, states = installation_store(settings), state_store(settings)
    if settings.installation_store and settings.installation_store.startswith("s3://"):
        assert isinstance(store, AmazonS3InstallationStore) and isinstance(
            states.store, AmazonS3OAuthStateStore
        )
    else:
        assert isinstance(store, FileInstallationStore) and isinstance(states.store, FileOAuthStateStore)


def test_each_workspace_gets_its_own_token(settings: Settings) -> None:
    store = installation_store(settings)
    installed(store, token="xoxb-first", team_id=T1)
    installed(store, token="xoxb-second", team_id=T2)
    assert bot_client(settings, team_id=T1, enterprise_id=None).token == "xoxb-first"
    assert bot_client(settings, team_id=T2, enterprise_id=None, store=store).token == "xoxb-second"
    installed(store, token="xoxb-renewed", team_id=T1)  # reinstalled: the newest token wins
    assert bot_client(settings, team_id=T1, enterprise_id=None).token == "xoxb-renewed"


def test_the_client_is_flowbots(settings: Settings) -> None:
    """Same base URL and retry handlers as bot.slack.delivery.slack_client's."""
    from bot.slack.delivery import slack_client

    installed(installation_store(settings), token="xoxb-first", team_id=T1)
    client = bot_client(settings, team_id=T1, enterprise_id=None)
    reference = slack_client(settings.model_copy(update={"slack_bot_token": SecretStr("xoxb-x")}))
    assert client.base_url == settings.slack_api_url
    assert [type(h) for h in client.retry_handlers] == [type(h) for h in reference.retry_handlers]


def test_an_org_wide_install_serves_every_workspace_of_the_org(settings: Settings) -> None:
    store = installation_store(settings)
    installed(store, token="xoxb-org", team_id=None, enterprise_id=E1, org_wide=True)
    assert bot_client(settings, team_id=T1, enterprise_id=E1).token == "xoxb-org"
    assert bot_client(settings, team_id=T3, enterprise_id=E1).token == "xoxb-org"
    # a workspace of the org installed on its own keeps its own token
    installed(store, token="xoxb-own", team_id=T2, enterprise_id=E1)
    assert bot_client(settings, team_id=T2, enterprise_id=E1).token == "xoxb-own"
    # another org's workspace is not served by it
    with pytest.raises(NotInstalledError):
        bot_client(settings, team_id=T1, enterprise_id="E0OTHER01")


def test_a_workspace_with_no_installation_is_a_clear_error(settings: Settings) -> None:
    installed(installation_store(settings), token="xoxb-first", team_id=T1)
    with pytest.raises(NotInstalledError) as raised:
        bot_client(settings, team_id=T3, enterprise_id=None)
    assert (raised.value.team_id, raised.value.enterprise_id) == (T3, None)
    assert f"not installed in workspace {T3}" in str(raised.value)
    assert "xoxb" not in str(raised.value)
    with pytest.raises(NotInstalledError, match=f"{T3} \\(org {E1}\\)"):
        bot_client(settings, team_id=T3, enterprise_id=E1)
    with pytest.raises(NotInstalledError):
        bot_client(settings, team_id="", enterprise_id=None)


def test_the_state_store_issues_once_and_refuses_states_it_never_issued(
    settings: Settings, tmp_path: Path
) -> None:
    states = state_store(settings)
    state = states.issue()
    assert states.consume(state) is True
    assert states.consume(state) is False  # used up
    victim = tmp_path / "victim"
    victim.write_text("1.0")  # holds a float: FileOAuthStateStore.consume("../../../victim") deletes it
    for forged in [f"../../../{victim.name}", str(victim), "", "x" * 36, state.upper()]:
        assert states.consume(forged) is False
    assert victim.exists()


def test_on_s3_everything_stays_under_the_prefix() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        settings = oauth(f"s3://{BUCKET}/flowbot/prod/")
        installed(installation_store(settings), token="xoxb-first", team_id=T1)
        installed(
            installation_store(settings), token="xoxb-org", team_id=None, enterprise_id=E1, org_wide=True
        )
        state = state_store(settings).issue()
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
        assert f"flowbot/prod/installations/{CLIENT_ID}/none-{T1}/bot-latest" in keys
        assert f"flowbot/prod/installations/{CLIENT_ID}/{E1}-none/bot-latest" in keys
        assert f"flowbot/prod/states/{state}" in keys
        assert all(k.startswith("flowbot/prod/") for k in keys), keys
        # a store that is a whole bucket: the same layout from the top
        whole = oauth(f"s3://{BUCKET}")
        state = state_store(whole).issue()
        assert s3.get_object(Bucket=BUCKET, Key=f"states/{state}")["Body"].read()
        assert state_store(whole).consume(state) is True


def test_the_folder_store_layout(tmp_path: Path) -> None:
    settings = oauth(str(tmp_path / "slack"))
    installed(installation_store(settings), token="xoxb-first", team_id=T1)
    state = state_store(settings).issue()
    assert (tmp_path / "slack" / "installations" / CLIENT_ID / f"none-{T1}" / "bot-latest").is_file()
    assert (tmp_path / "slack" / "states" / CLIENT_ID / state).is_file()


# ---------------------------------------------------------------------- one-token mode and settings


def test_one_token_mode_is_unchanged() -> None:
    settings = Settings(slack_bot_token="xoxb-the-one")
    assert not settings.oauth_enabled and settings.slack_scopes == ()
    assert bot_client(settings, team_id=T1, enterprise_id=None).token == "xoxb-the-one"
    assert bot_client(settings, team_id=T2, enterprise_id=E1).token == "xoxb-the-one"
    with pytest.raises(MissingSettingError, match="FLOWBOT_SLACK_BOT_TOKEN"):
        bot_client(Settings(), team_id=T1, enterprise_id=None)


def test_oauth_mode_needs_its_secret_and_store_but_no_bot_token(tmp_path: Path) -> None:
    with pytest.raises(MissingSettingError) as raised:
        check_oauth(Settings(slack_client_id=CLIENT_ID))
    assert "FLOWBOT_SLACK_CLIENT_SECRET and FLOWBOT_INSTALLATION_STORE" in str(raised.value)
    with pytest.raises(MissingSettingError, match="FLOWBOT_INSTALLATION_STORE must"):
        bot_client(
            Settings(slack_client_id=CLIENT_ID, slack_client_secret=SECRET), team_id=T1, enterprise_id=None
        )
    with pytest.raises(
        MissingSettingError, match=r"^FLOWBOT_SLACK_CLIENT_ID is set .* FLOWBOT_SLACK_CLIENT_SECRET must"
    ):
        check_oauth(Settings(slack_client_id=CLIENT_ID, installation_store=str(tmp_path)))
    with pytest.raises(MissingSettingError, match="FLOWBOT_ALLOWED_TEAMS"):
        check_oauth(oauth(str(tmp_path)).model_copy(update={"allowed_teams": ()}))
    settings = oauth(str(tmp_path))
    assert settings.slack_bot_token is None
    check_oauth(settings)
    built = oauth_settings(settings)
    assert (built.client_id, built.client_secret) == (CLIENT_ID, SECRET)
    assert (built.install_path, built.redirect_uri_path) == ("/slack/install", "/slack/oauth_redirect")
    assert built.installation_store_bot_only is True and built.user_scopes == []
    assert SECRET not in repr(settings)


def test_the_install_flow_asks_for_the_manifests_scopes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = load_manifest()["oauth_config"]["scopes"]["bot"]
    assert list(oauth(str(tmp_path)).slack_scopes) == declared
    assert list(oauth_settings(oauth(str(tmp_path))).scopes or []) == declared
    monkeypatch.setenv("FLOWBOT_SLACK_SCOPES", "commands, chat:write")
    assert oauth(str(tmp_path)).slack_scopes == ("commands", "chat:write")


@pytest.mark.parametrize(
    "values",
    [
        {"slack_client_id": "not-an-id"},
        {"slack_scopes": "chat write"},
        {"slack_install_path": "/slack/events"},
        {"slack_redirect_path": "slack/oauth_redirect"},
        {"slack_redirect_path": "/readyz"},
        {"installation_store": "s3://Bad_Bucket/x"},
        {"allowed_channels": "T0AAA0001:"},
        {"allowed_channels": "X0AAA0001:C0INC"},
        {"allowed_channels": "T0AAA0001:C0INC:C0TWO"},
    ],
)
def test_bad_oauth_settings_are_refused(values: dict[str, str]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- channels per workspace


def test_plain_channel_entries_behave_as_before() -> None:
    access = Access(Settings(allowed_channels="C0INC"))
    assert access.check(T1, "C0INC") is None and access.check(T2, "C0INC") is None
    assert access.check(T1, "C0OTHER") is not None
    assert Access(Settings()).check(T1, "C0ANY") is None


def test_a_workspace_entry_counts_for_that_workspace_or_org_only() -> None:
    access = Access(Settings(allowed_channels=f"C0ALL,{T1}:C0ONE,{E1}:C0ORG"))
    assert access.check(T1, "C0ONE") is None
    assert access.check(T1, "C0ALL") is None
    assert access.check(T2, "C0ONE") is not None  # T1's channel, asked from T2
    assert access.check(T2, "C0ALL") is None
    assert access.check(T3, "C0ORG", enterprise_id=E1) is None  # any workspace of the org
    assert access.check(T3, "C0ORG") is not None
    refusal = access.check(T2, "C0ONE")
    assert refusal is not None and "C0ONE" in refusal and "C0ALL" not in refusal and T1 not in refusal
    # a list naming only another workspace's channels leaves this one nowhere (the list is the truth)
    only_t1 = Access(Settings(allowed_channels=f"{T1}:C0ONE"))
    assert only_t1.check(T1, "C0ONE") is None and only_t1.check(T2, "C0ONE") is not None
    assert only_t1.check(T2, None) is None  # App Home: workspace only


# ---------------------------------------------------------------------- the manifest for an org


def _printed(argv: list[str]) -> tuple[int, dict[str, Any] | None]:
    out = io.StringIO()
    try:
        code = main(argv, stdout=out)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, yaml.safe_load(out.getvalue()) if code == EXIT_OK else None


def test_manifest_for_an_org_with_oauth() -> None:
    base = load_manifest()
    made = app_manifest(base, command="/flow", url="https://flowbot.example.com/x/", org=True, oauth=True)
    assert made["settings"]["org_deploy_enabled"] is True
    assert made["oauth_config"]["redirect_urls"] == ["https://flowbot.example.com/x/slack/oauth_redirect"]
    assert made["oauth_config"]["scopes"] == base["oauth_config"]["scopes"]
    events = made["settings"]["event_subscriptions"]["bot_events"]
    assert (
        events[: len(base["settings"]["event_subscriptions"]["bot_events"])]
        == (base["settings"]["event_subscriptions"]["bot_events"])
    )
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)
    assert base["settings"]["org_deploy_enabled"] is False and "redirect_urls" not in base["oauth_config"]
    org_only = app_manifest(base, command="/flow", socket=True, org=True)  # an org-wide token, app config
    assert (
        org_only["settings"]["org_deploy_enabled"] is True and "redirect_urls" not in org_only["oauth_config"]
    )
    with pytest.raises(CommandError, match="needs --url"):
        app_manifest(base, command="/flow", socket=True, oauth=True)


def test_cli_manifest_org_and_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    code, made = _printed(["manifest", "--url", "https://flowbot.example.com", "--org"])
    assert code == EXIT_OK and made is not None
    assert made["settings"]["org_deploy_enabled"] is True and "redirect_urls" not in made["oauth_config"]
    code, made = _printed(["manifest", "--url", "https://flowbot.example.com", "--org", "--oauth"])
    assert made is not None and made["oauth_config"]["redirect_urls"] == [
        "https://flowbot.example.com/slack/oauth_redirect"
    ]
    monkeypatch.setenv("FLOWBOT_SLACK_CLIENT_ID", CLIENT_ID)  # OAuth mode configured: implied
    monkeypatch.setenv("FLOWBOT_SLACK_REDIRECT_PATH", "/installed")
    code, made = _printed(["manifest", "--url", "https://flowbot.example.com"])
    assert made is not None and made["oauth_config"]["redirect_urls"] == [
        "https://flowbot.example.com/installed"
    ]
    assert made["settings"]["org_deploy_enabled"] is False
    assert _printed(["manifest", "--socket"])[0] == EXIT_BAD_INPUT
