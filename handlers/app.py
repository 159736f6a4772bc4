"""The Bolt app: settings in, listeners registered, no global app object."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

from bot.permissions import Permissions
from bot.query.catalog import Catalog, load_catalog
from bot.queue.enqueue import FlowQueue
from bot.settings import MissingSettingError, Settings
from bot.slack.delivery import slack_client, web_client
from bot.slack.installations import oauth_settings
from handlers import buttons, flow, guard, guardduty, home, iocs, lookup, mention
from handlers.asking import Asker
from handlers.replying import on_unhandled_error

GROUP_THREADS = 2
"""Threads reading user groups' members from Slack, apart from the listeners (bot/permissions.py)."""
NOT_INSTALLED = (
    ":no_entry: Flowbot is not installed in this workspace yet; ask an admin to install it from Flowbot's "
    "install page."
)
"""What Bolt answers, in OAuth mode, a request from a workspace with no installation."""
log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    queue: FlowQueue,
    *,
    socket_mode: bool = False,
    catalog: Catalog | None = None,
    asker: Asker | None = None,
) -> App:
    """Build the Slack app; HTTP mode verifies every request's signature (Bolt's middleware).

    One bot token (FLOWBOT_SLACK_BOT_TOKEN) by default; with FLOWBOT_SLACK_CLIENT_ID, OAuth mode
    (bot/slack/installations.py): Bolt serves the install pages and finds each request's workspace token in
    the installation store, so `app.client` holds no token there."""
    if not socket_mode and settings.slack_signing_secret is None:
        raise MissingSettingError(
            "FLOWBOT_SLACK_SIGNING_SECRET is not set (needed to verify Slack's requests)"
        )
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    if settings.oauth_enabled:  # Bolt gives each request's listeners a client with its workspace's token
        if settings.slack_bot_token is not None:
            log.warning("FLOWBOT_SLACK_BOT_TOKEN is not used: FLOWBOT_SLACK_CLIENT_ID sets OAuth mode")
        app = App(
            client=web_client(settings, None, waits=False),  # a listener answers a 429 at once
            signing_secret=secret,
            request_verification_enabled=not socket_mode,
            oauth_settings=oauth_settings(settings),
            user_facing_authorize_error_message=NOT_INSTALLED,
        )
        app.enable_token_revocation_listeners()  # app_uninstalled / tokens_revoked delete the tokens
    else:
        app = App(
            client=slack_client(settings, waits=False),  # a listener answers a 429 at once, never sleeps
            signing_secret=secret,
            request_verification_enabled=not socket_mode,
        )
    guard.register(app, settings)  # first: every request's workspace and channel, before any listener
    catalog = catalog or load_catalog()
    permissions = Permissions(
        settings,
        app.client,
        queue.redis,
        refresher=ThreadPoolExecutor(GROUP_THREADS, thread_name_prefix="flowbot-groups"),
    )
    permissions.warm()
    asker = asker or Asker(settings, queue)
    on_ioc = iocs.register(app, settings, queue, permissions)
    flow.register(app, settings, catalog, asker, on_ioc)
    mention.register(app, settings, catalog, asker)
    lookup.register(app, settings, catalog, asker)
    guardduty.register(app, settings, asker)
    buttons.register(app, settings, catalog, asker)
    home.register(app, settings, queue.redis, catalog=catalog)
    app.error(on_unhandled_error)  # what no listener caught: logged, and one line to the person
    return app
