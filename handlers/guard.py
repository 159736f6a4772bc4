"""Every request from Slack passes here before any listener: one from a workspace or channel Flowbot does
not serve is answered with one line and goes no further (no listener runs, nothing is enqueued).

One global Bolt middleware, so no entry point (slash command, @mention, shortcut, button, menu, form) can
forget the check. It reads the workspace and channel Bolt extracted into its context. The App Home is a
person's own tab, not a channel: only the workspace is checked there. A refusal is acknowledged within
Slack's 3 seconds; the line is in the acknowledgement where Slack shows it (slash command, form), else
posted to the asker alone right after, off the request's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.access import Access
from bot.rendering.ioc_form import notice
from bot.settings import Settings
from handlers.replying import tell_presser

log = logging.getLogger(__name__)
NOTICE_THREADS = 4
"""Threads that post refusal lines after the acknowledgement (refusals are rare and quick)."""


def register(app: App, settings: Settings) -> None:
    """Attach the access check as a global middleware: register it first, before any listener."""
    access = Access(settings)
    notices = ThreadPoolExecutor(max_workers=NOTICE_THREADS, thread_name_prefix="flowbot-guard")

    def check_access(
        body: dict[str, Any],
        context: BoltContext,
        request: BoltRequest,
        ack: Ack,
        client: WebClient,
        next_: Callable[[], None],
    ) -> BoltResponse | None:
        """Let an allowed request on to its listener; answer any other with the line, and stop it."""
        event = body.get("event") if body.get("type") == "event_callback" else None
        home = isinstance(event, dict) and event.get("type") == "app_home_opened"
        channel = None if home else context.channel_id
        refusal = access.check(context.team_id, channel, context.enterprise_id)
        if refusal is None:
            next_()
            return None
        kind = str(body.get("type") or ("command" if "command" in body else "unknown"))
        log.info(
            "refused a %s from team %s, channel %s, user %s",
            kind,
            context.team_id,
            context.channel_id,
            context.user_id,
        )
        if "command" in body:
            return ack(text=refusal, response_type="ephemeral")
        if kind == "view_submission":
            return ack(response_action="update", view=notice("Flowbot", refusal))
        response = ack()
        if isinstance(event, dict):
            first_delivery = not request.headers.get("x-slack-retry-num")
            if event.get("type") == "app_mention" and first_delivery:  # a retry was told already
                notices.submit(_tell_mention, client, event, refusal)
        elif kind in {"block_actions", "message_action", "shortcut"}:
            notices.submit(_tell_interaction, client, body, refusal)
        return response

    app.use(check_access)


def _tell_mention(client: WebClient, event: dict[str, Any], text: str) -> None:
    """The line to the person who mentioned Flowbot, in the thread they mentioned it in."""
    try:
        client.chat_postEphemeral(
            channel=event["channel"],
            user=event.get("user", ""),
            thread_ts=event.get("thread_ts") or event.get("ts"),
            text=text,
        )
    except Exception:  # telling is a courtesy: the request is refused either way
        log.exception("could not tell %s why a mention was refused", event.get("user"))


def _tell_interaction(client: WebClient, body: dict[str, Any], text: str) -> None:
    """The line to the person who pressed, chose or used a shortcut: a global shortcut has no channel
    and no response_url, so a modal; anything else by the first way Slack takes (handlers/replying.py)."""
    if body.get("type") == "shortcut" and body.get("trigger_id"):
        try:
            client.views_open(trigger_id=body["trigger_id"], view=notice("Flowbot", text))
        except Exception:  # telling is a courtesy: the request is refused either way
            log.exception("could not tell %s why a shortcut was refused", (body.get("user") or {}).get("id"))
        return
    tell_presser(client, body, text)
