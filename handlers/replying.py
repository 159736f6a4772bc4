"""Saying something to one person after the acknowledgement, by the first way Slack takes.

A line for the asker alone (a refusal, a button's answer, "queued" where Flowbot may not post) goes:
1. through the request's response_url, which works where Flowbot is not a member, and is checked
   (bot/slack/response_url.py): it takes 5 posts in 30 minutes, then Slack refuses it;
2. else as an ephemeral message in the channel (`chat.postEphemeral`, which needs Flowbot in the
   channel: `chat:write.public` does not cover it);
3. else in the asker's direct messages with Flowbot (chat.postMessage with the user's ID).
Nothing here raises: the line is a courtesy, the request itself was handled either way.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import response_url
from bot.words import CommandError

log = logging.getLogger(__name__)
QUEUE_DOWN_WORDS = "Flowbot's queue is unavailable right now; please try again in a minute."
"""What every listener says when Redis (the queue, or what is kept beside it) does not answer: one wording."""
QUEUE_DOWN = f":warning: {QUEUE_DOWN_WORDS}"
INTERNAL_ERROR = (
    ":warning: Flowbot hit an internal error on that; it is logged. Please try again in a minute."
)
"""What a person reads when a listener failed in a way nobody foresaw: no traceback, no detail."""


def error_reply(error: Exception) -> str:
    """The one mapping from what went wrong to the line a person reads, for what no listener caught."""
    if isinstance(error, RedisError):
        return QUEUE_DOWN
    if isinstance(error, CommandError):
        return f":x: {error}"
    return INTERNAL_ERROR


def on_unhandled_error(error: Exception, body: dict[str, Any]) -> None:
    """Bolt's global error handler (`app.error`): log what a listener did not catch, and tell the person
    through the request's response_url where it has one (commands, buttons, message shortcuts). Events
    and form submissions carry none: they are only logged."""
    log.error("a listener failed: %s: %s", type(error).__name__, error, exc_info=error)
    urls = [body.get("response_url"), *(u.get("response_url") for u in body.get("response_urls") or [])]
    url = next((u for u in urls if u), None)
    response_url.send(url, text=error_reply(error), response_type="ephemeral", replace_original=False)


def tell(
    client: WebClient,
    *,
    user: str,
    text: str,
    url: str | None = None,
    channel: str | None = None,
    thread_ts: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    public: bool = False,
    in_thread_first: bool = False,
) -> str:
    """Show `text` to `user` (to the channel when `public`); which way it went: "response_url",
    "channel", "direct" or "" when none did. `in_thread_first` tries the channel (and `thread_ts`)
    before the response_url, whose posts land outside the thread."""
    kind = "in_channel" if public else "ephemeral"
    if not in_thread_first and response_url.send(
        url, text=text, blocks=blocks, response_type=kind, replace_original=False
    ):
        return "response_url"
    if channel:
        try:
            if public:
                client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
            else:
                client.chat_postEphemeral(
                    channel=channel, user=user, thread_ts=thread_ts, text=text, blocks=blocks
                )
            return "channel"
        except (SlackApiError, OSError) as exc:  # refused, or Slack unreachable after the retries
            log.info("could not answer %s in %s (%s); trying their DM", user, channel, exc)
    if in_thread_first and response_url.send(
        url, text=text, blocks=blocks, response_type=kind, replace_original=False
    ):
        return "response_url"
    try:
        client.chat_postMessage(channel=user, text=text, blocks=blocks)
        return "direct"
    except (SlackApiError, OSError) as exc:
        log.warning("could not tell %s anything: %s", user, exc)
        return ""


def tell_presser(client: WebClient, body: dict[str, Any], text: str, *, public: bool = False) -> str:
    """`tell` the person behind an interaction payload (button, menu, shortcut)."""
    return tell(
        client,
        user=(body.get("user") or {}).get("id", ""),
        text=text,
        url=body.get("response_url"),
        channel=(body.get("channel") or {}).get("id"),
        thread_ts=((body.get("message") or {}).get("thread_ts")),
        public=public,
    )
