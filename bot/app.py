"""The Bolt app: settings in, listeners registered, no global app object."""

from __future__ import annotations

from slack_bolt import App

from bot.catalog import Catalog, load_catalog
from bot.delivery import slack_client
from bot.permissions import Permissions
from bot.queue import FlowQueue
from bot.settings import MissingSettingError, Settings
from handlers import buttons, flow, guard, home, iocs, lookup, mention
from handlers.asking import Asker


def create_app(
    settings: Settings,
    queue: FlowQueue,
    *,
    socket_mode: bool = False,
    catalog: Catalog | None = None,
    asker: Asker | None = None,
) -> App:
    """Build the Slack app; HTTP mode verifies every request's signature (Bolt's middleware)."""
    if not socket_mode and settings.slack_signing_secret is None:
        raise MissingSettingError(
            "FLOWBOT_SLACK_SIGNING_SECRET is not set (needed to verify Slack's requests)"
        )
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = App(
        client=slack_client(settings),
        signing_secret=secret,
        request_verification_enabled=not socket_mode,
    )
    guard.register(app, settings)  # first: every request's workspace and channel, before any listener
    catalog = catalog or load_catalog()
    permissions = Permissions(settings, app.client, queue.redis)
    asker = asker or Asker(settings, queue)
    on_ioc = iocs.register(app, settings, queue, permissions)
    flow.register(app, settings, catalog, asker, on_ioc)
    mention.register(app, settings, catalog, asker)
    lookup.register(app, settings, catalog, asker)
    buttons.register(app, settings, catalog, asker)
    home.register(app, settings, queue.redis, catalog=catalog)
    return app
