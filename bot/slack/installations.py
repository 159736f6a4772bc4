"""OAuth mode: one Flowbot serving several workspaces or an Enterprise Grid org, a bot token for each.

With FLOWBOT_SLACK_CLIENT_ID set, Bolt runs Slack's install flow (`/slack/install`, then Slack sends the
installer to `/slack/oauth_redirect`) and keeps each installation in slack_sdk's own installation store;
Bolt then hands every listener a client holding the token of the workspace the request came from. Workers,
which answer outside any request, take theirs from the same store with `bot_client`.

Stores (FLOWBOT_INSTALLATION_STORE), slack_sdk's classes in both cases:

* `s3://bucket/prefix`: `AmazonS3InstallationStore` keeps `prefix/installations/<client id>/<E…>-<T…>/…`
  and `AmazonS3OAuthStateStore` the install flow's state values at `prefix/states/<uuid>` (the library
  writes states at the bucket's top level; here they get the prefix, so a lifecycle rule can expire the
  ones never used). Every replica and every worker must reach the same bucket.
* a folder: `FileInstallationStore` under `folder/installations`, `FileOAuthStateStore` under
  `folder/states`; one host only (the install page and the redirect must reach the same disk).

Without FLOWBOT_SLACK_CLIENT_ID nothing changes: one bot token (FLOWBOT_SLACK_BOT_TOKEN) for one workspace
or an org-wide install made from the app's settings page.
"""

from __future__ import annotations

import re
from logging import Logger
from pathlib import Path
from typing import Any

from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot, FileInstallationStore, InstallationStore
from slack_sdk.oauth.installation_store.amazon_s3 import AmazonS3InstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore, OAuthStateStore
from slack_sdk.oauth.state_store.amazon_s3 import AmazonS3OAuthStateStore

from bot.settings import MissingSettingError, Settings
from bot.slack.delivery import slack_client, web_client

STATE_SECONDS = 600
"""How long an install page's state value stays good (Bolt's default): the installer's time on Slack's
consent screen."""
_ISSUED_STATE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""What both state stores issue (`str(uuid4())`)."""


class NotInstalledError(LookupError):
    """No bot token is stored for this workspace, nor for an org-wide install of its Enterprise Grid org."""

    def __init__(self, team_id: str | None, enterprise_id: str | None) -> None:
        self.team_id = team_id
        self.enterprise_id = enterprise_id
        where = f"workspace {team_id or 'unknown'}" + (f" (org {enterprise_id})" if enterprise_id else "")
        super().__init__(
            f"Flowbot is not installed in {where}: no bot token in FLOWBOT_INSTALLATION_STORE; install it "
            "from the install page (FLOWBOT_SLACK_INSTALL_PATH)"
        )


def check_oauth(settings: Settings) -> None:
    """OAuth mode's settings are complete; MissingSettingError naming every one that is not.

    The bot token is not needed (each installation brings its own); an allow-list of workspaces is."""
    missing = [
        name
        for name, value in (
            ("FLOWBOT_SLACK_CLIENT_SECRET", settings.slack_client_secret),
            ("FLOWBOT_INSTALLATION_STORE", settings.installation_store),
        )
        if not value
    ]
    if missing:
        raise MissingSettingError(
            f"FLOWBOT_SLACK_CLIENT_ID is set (OAuth mode: Slack's install flow, a bot token per workspace), "
            f"so {' and '.join(missing)} must be set too"
        )
    if not settings.allowed_teams:
        raise MissingSettingError(
            "OAuth mode needs FLOWBOT_ALLOWED_TEAMS (the workspace T… or org E… IDs Flowbot answers): any "
            "workspace that reaches the install page of a distributed app can install it, and would "
            "otherwise be answered from your flow logs"
        )
    if not settings.slack_scopes:
        raise MissingSettingError(
            "FLOWBOT_SLACK_SCOPES is empty and bot/manifest.yml declares no bot scopes: the install flow "
            "would ask for none"
        )
    if settings.slack_install_path == settings.slack_redirect_path:
        raise MissingSettingError("FLOWBOT_SLACK_INSTALL_PATH and FLOWBOT_SLACK_REDIRECT_PATH must differ")


def _client_id(settings: Settings) -> str:
    if settings.slack_client_id is None:
        raise MissingSettingError("FLOWBOT_SLACK_CLIENT_ID is not set (OAuth mode)")
    return settings.slack_client_id


def _store_location(settings: Settings) -> tuple[str, str] | Path:
    """(bucket, prefix with a trailing / or empty) for S3, else the folder."""
    check_oauth(settings)
    location = str(settings.installation_store)
    if location.startswith("s3://"):
        bucket, _, prefix = location[5:].partition("/")
        return bucket, f"{prefix}/" if prefix else ""
    return Path(location).expanduser()


def _s3(settings: Settings) -> Any:
    import boto3  # the `athena` extra: only an S3 store needs it

    return boto3.client("s3", region_name=settings.athena_region)


def installation_store(settings: Settings) -> InstallationStore:
    """slack_sdk's installation store at FLOWBOT_INSTALLATION_STORE (OAuth mode)."""
    client_id = _client_id(settings)
    where = _store_location(settings)
    if isinstance(where, Path):
        return FileInstallationStore(base_dir=str(where / "installations"), client_id=client_id)
    bucket, prefix = where
    # The store has no prefix argument; it keys everything under `<client_id>/`, so that folder is put
    # under the prefix (the client_id is used for nothing else there).
    return AmazonS3InstallationStore(
        s3_client=_s3(settings), bucket_name=bucket, client_id=f"{prefix}installations/{client_id}"
    )


class _KeysUnder:
    """The three calls AmazonS3OAuthStateStore makes (put, get, delete one object), with every key under
    a prefix: the library's store has no prefix of its own."""

    def __init__(self, s3: Any, prefix: str) -> None:
        self._s3 = s3
        self._prefix = prefix

    def put_object(self, *, Key: str, **kwargs: Any) -> Any:
        return self._s3.put_object(Key=self._prefix + Key, **kwargs)

    def get_object(self, *, Key: str, **kwargs: Any) -> Any:
        return self._s3.get_object(Key=self._prefix + Key, **kwargs)

    def delete_object(self, *, Key: str, **kwargs: Any) -> Any:
        return self._s3.delete_object(Key=self._prefix + Key, **kwargs)


class IssuedStatesOnly(OAuthStateStore):
    """A state store that refuses, before asking the library's store, a state it could not have issued.

    The state comes back in the redirect's query string, from the browser: the file store joins it onto a
    folder (`../…` would reach other files) and the S3 store onto a key. Issued states are UUIDs."""

    def __init__(self, store: OAuthStateStore) -> None:
        self.store = store

    @property
    def logger(self) -> Logger:
        return self.store.logger

    def issue(self, *args: Any, **kwargs: Any) -> str:
        return self.store.issue(*args, **kwargs)

    def consume(self, state: str) -> bool:
        if not isinstance(state, str) or not _ISSUED_STATE.fullmatch(state):
            self.logger.warning("refused an OAuth state that was never issued")
            return False
        return self.store.consume(state)


def state_store(settings: Settings) -> IssuedStatesOnly:
    """slack_sdk's OAuth state store next to the installations (OAuth mode); `.store` is the library's."""
    client_id = _client_id(settings)
    where = _store_location(settings)
    inner: OAuthStateStore
    if isinstance(where, Path):
        inner = FileOAuthStateStore(
            expiration_seconds=STATE_SECONDS, base_dir=str(where / "states"), client_id=client_id
        )
    else:
        bucket, prefix = where
        inner = AmazonS3OAuthStateStore(
            s3_client=_KeysUnder(_s3(settings), f"{prefix}states/"),
            bucket_name=bucket,
            expiration_seconds=STATE_SECONDS,
        )
    return IssuedStatesOnly(inner)


def oauth_settings(settings: Settings) -> OAuthSettings:
    """Bolt's OAuth settings: the install flow on FLOWBOT_SLACK_INSTALL_PATH / _REDIRECT_PATH asking for
    FLOWBOT_SLACK_SCOPES (the manifest's), installations in FLOWBOT_INSTALLATION_STORE. Bot tokens only:
    Flowbot asks for no user scopes."""
    check_oauth(settings)
    secret = settings.slack_client_secret
    if secret is None:  # check_oauth said so already; this tells the type checker
        raise MissingSettingError("FLOWBOT_SLACK_CLIENT_SECRET is not set (OAuth mode)")
    return OAuthSettings(
        client_id=_client_id(settings),
        client_secret=secret.get_secret_value(),
        scopes=list(settings.slack_scopes),
        user_scopes=[],
        install_path=settings.slack_install_path,
        redirect_uri_path=settings.slack_redirect_path,
        installation_store=installation_store(settings),
        installation_store_bot_only=True,
        state_store=state_store(settings),
        state_expiration_seconds=STATE_SECONDS,
    )


def find_bot(store: InstallationStore, *, team_id: str | None, enterprise_id: str | None) -> Bot:
    """The bot installed in this workspace, else the one of an org-wide install of its Enterprise Grid org
    (where the workspace itself has no installation); NotInstalledError when there is neither."""
    team_id, enterprise_id = team_id or None, enterprise_id or None
    bot = None
    if team_id is not None:
        bot = store.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=False)
    if (bot is None or not bot.bot_token) and enterprise_id is not None:
        bot = store.find_bot(enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True)
    if bot is None or not bot.bot_token:
        raise NotInstalledError(team_id, enterprise_id)
    return bot


def bot_client(
    settings: Settings,
    *,
    team_id: str,
    enterprise_id: str | None,
    store: InstallationStore | None = None,
) -> WebClient:
    """The Web API client for answering in this workspace, for workers.

    One-token mode: FLOWBOT_SLACK_BOT_TOKEN's client, whatever the workspace (MissingSettingError when
    unset), exactly `bot.slack.delivery.slack_client(settings)`. OAuth mode: the token stored for the
    workspace,
    or for an org-wide install of its org (NotInstalledError when neither is stored; an org's token is
    told which workspace each call is for); `store` saves building the store again for each job."""
    if not settings.oauth_enabled:
        return slack_client(settings)
    bot = find_bot(store or installation_store(settings), team_id=team_id, enterprise_id=enterprise_id)
    return web_client(settings, bot.bot_token, team_id=team_id if bot.is_enterprise_install else None)
