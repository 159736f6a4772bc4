"""`/flow context …`: show a channel's context to the asker; announce a change to everyone there.

A change is posted in the channel because it changes what every later query there returns: whoever
reads an answer should be able to see who scoped the channel, and to what.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import Ack

from bot.parse.channel_context import ChannelContext, ContextRequest, ContextStore
from bot.settings import Settings

log = logging.getLogger(__name__)
UNAVAILABLE = ":warning: Flowbot's context store is unavailable right now; please try again in a minute."


def handle_context(
    ack: Ack,
    request: ContextRequest,
    command: dict[str, Any],
    store: ContextStore,
    settings: Settings,
    now: datetime,
) -> None:
    """Show, set (replacing the whole context) or clear the channel's context, within Slack's 3 seconds."""
    team, channel = command.get("team_id", ""), command["channel_id"]
    try:
        text, response_type = _reply(request, team, channel, command["user_id"], store, settings, now)
    except RedisError:
        log.exception("could not %s the context of %s/%s", request.action, team, channel)
        ack(text=UNAVAILABLE, response_type="ephemeral")
        return
    ack(text=text, response_type=response_type)


def _reply(
    request: ContextRequest,
    team: str,
    channel: str,
    user: str,
    store: ContextStore,
    settings: Settings,
    now: datetime,
) -> tuple[str, str]:
    """Do what was asked; the reply's text, and `in_channel` when the channel's scope changed."""
    slash = settings.command
    uses_it = (
        f"Every `{slash}` query here uses it unless it says otherwise; `{slash} context clear` removes it."
    )
    if request.action == "show":
        current = store.get(team, channel)
        if current is None:
            return f"No context set; `{slash} context account … region … last 6h` sets one.", "ephemeral"
        return (
            f":pushpin: This channel's context: {current.describe()} (set by <@{current.set_by}>, "
            f"{current.set_at:%Y-%m-%d %H:%M} UTC). {uses_it}",
            "ephemeral",
        )
    if request.action == "clear":
        if store.clear(team, channel):
            return f"<@{user}> cleared this channel's context.", "in_channel"
        return "This channel has no context to clear.", "ephemeral"
    assert request.scope is not None  # parse_context gives every `set` its scope
    context = ChannelContext(**dict(request.scope), set_by=user, set_at=now)
    replaced = store.put(team, channel, context)
    text = f":pushpin: <@{user}> set this channel's context: {context.describe()}. {uses_it}"
    if replaced is not None:
        text += f" It replaces the whole previous context ({replaced.describe()})."
    return text, "in_channel"
