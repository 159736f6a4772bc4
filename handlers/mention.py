"""`@flowbot ratio 10.1.2.3` in a channel or a thread: slash commands do not work in threads, this does.

The answer goes in the thread the mention was made in (a mention outside a thread starts one).
Slack retries an event it thinks was lost; the job id comes from the event id, so a retry makes
no second job. Errors and help go to the asker alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.parse.command import CancelRequest, HelpRequest
from bot.parse.help import help_text
from bot.parse.in_channel import parse
from bot.parse.slack_text import command_text
from bot.query.catalog import Catalog
from bot.request import FlowRequest
from bot.settings import Settings
from bot.words import CommandError
from handlers import ingress
from handlers.asking import Asker, RateLimited
from handlers.cancel_job import cancel_job
from handlers.replying import QUEUE_DOWN

log = logging.getLogger(__name__)
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def mention_text(text: str, bot_user_id: str | None) -> str:
    """The words after Flowbot's name: its own mention removed (another user's mention is kept)."""
    if bot_user_id:
        return re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text).strip()
    return _MENTION.sub(" ", text, count=1).strip()


def register(
    app: App,
    settings: Settings,
    catalog: Catalog,
    asker: Asker,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Attach the app_mention listener."""

    @app.event("app_mention")
    def handle_mention(
        event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        """Parse the words after the mention, enqueue, and post the status message in the thread."""
        channel, user = event["channel"], event.get("user", "")
        thread = event.get("thread_ts") or event["ts"]

        def tell(text: str) -> None:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread, text=text)

        words = mention_text(event.get("text", ""), context.bot_user_id)
        team = body.get("team_id") or event.get("team", "")
        if words.lower().split()[:1] == ["context"]:
            tell(f"A channel's context is set with `{settings.command} context …` (outside a thread).")
            return
        try:
            channel_context = asker.context_of(team, channel)
            parsed = parse(command_text(words), catalog, settings, clock(), channel_context)
        except CommandError as exc:
            tell(f":x: {exc}\nMention me with a query, e.g. `@Flowbot ratio 10.0.1.25 --last 6h`.")
            return
        except RedisError:
            log.exception("could not read the context of %s", channel)
            tell(QUEUE_DOWN)
            return
        if isinstance(parsed, HelpRequest):
            tell(help_text(catalog, settings, parsed.unknown))
            return
        if isinstance(parsed, CancelRequest):
            reply = cancel_job(asker.queue, settings, client, parsed.job, user)
            tell(reply.text)
            return
        if not isinstance(parsed, FlowRequest):
            tell(f"Indicators are managed with `{settings.command} ioc …` or the *Add IOCs* shortcut.")
            return
        target = ingress.from_mention(body, event)
        try:
            fresh = asker.submit(parsed, target)
        except RateLimited as exc:
            tell(str(exc))
            return
        except RedisError:
            log.exception("could not enqueue %s", parsed.text)
            tell(QUEUE_DOWN)
            return
        if fresh:
            asker.announce(client, parsed, target)
