"""Where a request came from and where its answer goes, read once from each kind of Slack payload.

The job id is what makes a retried delivery harmless: Slack delivers a request again when it saw no
acknowledgement in 3 s, and the same request must give the same id (bot/queue/enqueue.py enqueues an id
once). Each payload has its own stable identity, documented by Slack:
- a slash command: its `trigger_id` (docs.slack.dev/interactivity/implementing-slash-commands);
- a block action (button, menu): the action's `action_ts`, with its kind and the presser;
- an Events API event (an @mention): its `event_id`, the same on every retry (docs.slack.dev/apis/events-api);
- a view submission (a form): the view's `id` and `hash`, which change with every update of the view.
"""

from __future__ import annotations

from typing import Any

from bot.queue.enqueue import job_id_for
from bot.request import ReplyTarget


def from_command(command: dict[str, Any]) -> ReplyTarget:
    """A slash command (`/flow …`): the answer goes to its channel, the asker's line to its response_url."""
    team = command.get("team_id", "")
    request_id = command.get("trigger_id") or (
        f"{command.get('channel_id')}:{command.get('user_id')}:{command.get('text')}"
    )
    return ReplyTarget(
        team_id=team,
        channel_id=command["channel_id"],
        user_id=command["user_id"],
        job_id=job_id_for(team, request_id),
        response_url=command.get("response_url"),
        enterprise_id=command.get("enterprise_id") or None,
    )


def from_action(body: dict[str, Any], *, kind: str, thread_ts: str | None) -> ReplyTarget:
    """A button or menu (`kind` tells them apart) on a message in a channel."""
    action, user = body["actions"][0], body["user"]["id"]
    team = (body.get("team") or {}).get("id", "")
    return ReplyTarget(
        team_id=team,
        channel_id=body["channel"]["id"],
        user_id=user,
        job_id=job_id_for(team, f"{kind}:{action.get('action_ts')}:{user}"),
        response_url=body.get("response_url"),
        thread_ts=thread_ts,
        enterprise_id=(body.get("enterprise") or {}).get("id"),
    )


def from_mention(body: dict[str, Any], event: dict[str, Any]) -> ReplyTarget:
    """An @mention: the answer goes in the mention's thread (or starts one)."""
    team = body.get("team_id") or event.get("team", "")
    return ReplyTarget(
        team_id=team,
        channel_id=event["channel"],
        user_id=event.get("user", ""),
        job_id=job_id_for(team, f"event:{body.get('event_id') or event['ts']}"),
        thread_ts=event.get("thread_ts") or event["ts"],
        enterprise_id=body.get("enterprise_id") or None,
    )


def from_view(body: dict[str, Any], *, channel: str | None, response_url: str | None) -> ReplyTarget:
    """A submitted form: it answers in the channel it was opened from (kept in its private metadata), or
    to the submitter alone when it was opened outside one."""
    user, team = body["user"]["id"], (body.get("team") or {}).get("id", "")
    view = body["view"]
    return ReplyTarget(
        team_id=team,
        channel_id=channel or user,
        user_id=user,
        job_id=job_id_for(team, view["id"] + view.get("hash", "")),
        response_url=response_url,
        enterprise_id=(body.get("enterprise") or {}).get("id"),
    )


def from_message_shortcut(shortcut: dict[str, Any]) -> ReplyTarget:
    """A message shortcut: its `trigger_id` (one per use of the shortcut); the answer goes in the message's
    thread (or starts one under it)."""
    team, user = (shortcut.get("team") or {}).get("id", ""), shortcut["user"]["id"]
    message = shortcut.get("message") or {}
    request_id = shortcut.get("trigger_id") or f"{shortcut.get('action_ts')}:{user}"
    return ReplyTarget(
        team_id=team,
        channel_id=shortcut["channel"]["id"],
        user_id=user,
        job_id=job_id_for(team, f"shortcut:{request_id}"),
        response_url=shortcut.get("response_url"),
        thread_ts=message.get("thread_ts") or message.get("ts") or shortcut.get("message_ts"),
        enterprise_id=(shortcut.get("enterprise") or {}).get("id"),
    )
