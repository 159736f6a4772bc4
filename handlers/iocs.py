"""Indicators from Slack: `/flow ioc …`, the "Add IOCs" form (from `/flow ioc` or a global shortcut),
and the message shortcut "Add IOCs from this message". Listeners check who may act and which ranges
need an admin, then enqueue; the worker changes the store and answers once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.cancel import short_id
from bot.delivery import ReplyTarget
from bot.iocs.commands import MAX_COMMENT, IocAdd, IocForm, IocRemove, IocRequest
from bot.iocs.indicators import Indicator, check_indicator, extract_indicators, parse_indicator
from bot.iocs.store import Source
from bot.permissions import Permissions
from bot.queue import FlowQueue, job_id_for
from bot.rendering.ioc_form import INDICATORS_BLOCK, form_values, ioc_form, notice
from bot.settings import Settings
from bot.slack_ids import ADD_IOCS_SHORTCUT, IOC_FORM, IOCS_FROM_MESSAGE_SHORTCUT

log = logging.getLogger(__name__)
IocCommandHandler = Callable[[Ack, IocRequest, dict[str, Any], WebClient], None]


def _refusals(indicators: list[Indicator], admin: bool) -> list[str]:
    return [f"`{i.value}`: {why}" for i in indicators if (why := check_indicator(i, admin=admin))]


def register(app: App, settings: Settings, queue: FlowQueue, permissions: Permissions) -> IocCommandHandler:
    """Attach the form and shortcut listeners; return the `/flow ioc …` handler for the /flow listener."""

    def enqueue(
        request: IocRequest, team: str, channel: str, user: str, request_id: str, source: Source
    ) -> str:
        target = ReplyTarget(
            team_id=team, channel_id=channel, user_id=user, job_id=job_id_for(team, request_id)
        )
        queue.submit_ioc(request, target, source)
        return short_id(target.job_id)

    def handle_ioc_command(ack: Ack, request: IocRequest, command: dict[str, Any], client: WebClient) -> None:
        """`/flow ioc …`: open the form, or check rights and ranges and enqueue."""
        user, channel = command["user_id"], command["channel_id"]
        if isinstance(request, IocForm):
            if reason := permissions.may_add(user, channel):
                ack(text=f":no_entry: {reason}.", response_type="ephemeral")
                return
            ack()
            client.views_open(
                trigger_id=command["trigger_id"], view=ioc_form(channel=channel, source="modal")
            )
            return
        refused: list[str] = []
        if isinstance(request, IocAdd | IocRemove):
            check = permissions.may_add if isinstance(request, IocAdd) else permissions.may_remove
            if reason := check(user, channel):
                ack(text=f":no_entry: {reason}.", response_type="ephemeral")
                return
        if isinstance(request, IocAdd):
            admin = permissions.is_admin(user)
            verdicts = [(v, check_indicator(parse_indicator(v), admin=admin)) for v in request.indicators]
            refused = [f"`{v}`: {why}" for v, why in verdicts if why]
            kept = tuple(v for v, why in verdicts if not why)
            if not kept:
                ack(text=":no_entry: Not added: " + "; ".join(refused), response_type="ephemeral")
                return
            request = IocAdd(indicators=kept, comment=request.comment)
        try:
            job = enqueue(
                request,
                command.get("team_id", ""),
                channel,
                user,
                command.get("trigger_id") or f"{channel}:{user}:{command.get('text')}",
                "command",
            )
        except RedisError:
            log.exception("could not enqueue an ioc request")
            ack(
                text=":warning: Flowbot's queue is unavailable right now; please try again.",
                response_type="ephemeral",
            )
            return
        note = f" Not added: {'; '.join(refused)}." if refused else ""
        ack(text=f":hourglass_flowing_sand: On it (job {job}).{note}", response_type="ephemeral")

    @app.shortcut(ADD_IOCS_SHORTCUT)
    def handle_open_ioc_form(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        """Global shortcut: the form, from anywhere in Slack."""
        ack()
        user = shortcut["user"]["id"]
        if reason := permissions.may_add(user, None):
            client.views_open(trigger_id=shortcut["trigger_id"], view=notice("Add IOCs", reason))
            return
        client.views_open(trigger_id=shortcut["trigger_id"], view=ioc_form(channel=None, source="modal"))

    @app.shortcut(IOCS_FROM_MESSAGE_SHORTCUT)
    def handle_add_iocs_from_message(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        """Message shortcut: every address in the message, to confirm in the form."""
        ack()
        user, channel = shortcut["user"]["id"], shortcut.get("channel", {}).get("id")
        if reason := permissions.may_add(user, channel):
            client.views_open(trigger_id=shortcut["trigger_id"], view=notice("Add IOCs", reason))
            return
        found = extract_indicators(shortcut.get("message", {}).get("text", ""))
        if not found:
            client.views_open(
                trigger_id=shortcut["trigger_id"],
                view=notice(
                    "Add IOCs", "That message holds no IP address or CIDR range (defanged ones count)."
                ),
            )
            return
        view = ioc_form(
            indicators="\n".join(i.value for i in found),
            channel=channel,
            source="message_shortcut",
            note=f"Found {len(found)} in the message. Check them, add a comment, then Add.",
        )
        client.views_open(trigger_id=shortcut["trigger_id"], view=view)

    @app.view(IOC_FORM)
    def handle_submit_ioc_form(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Form submitted: refuse in the form what cannot be added, else enqueue and close it."""
        text, comment, channel, source = form_values(view)
        user = body["user"]["id"]
        found = extract_indicators(text)
        if not found:
            ack(response_action="errors", errors={INDICATORS_BLOCK: "No IP address or CIDR range found."})
            return
        refused = _refusals(found, permissions.is_admin(user))
        if refused:
            ack(response_action="errors", errors={INDICATORS_BLOCK: ("; ".join(refused))[:150]})
            return
        request = IocAdd(indicators=tuple(i.value for i in found), comment=comment[:MAX_COMMENT])
        try:
            enqueue(
                request,
                body.get("team", {}).get("id", ""),
                channel or user,
                user,
                view["id"] + view.get("hash", ""),
                "message_shortcut" if source == "message_shortcut" else "modal",
            )
        except RedisError:
            log.exception("could not enqueue an ioc form")
            ack(
                response_action="errors",
                errors={INDICATORS_BLOCK: "Flowbot's queue is unavailable; try again."},
            )
            return
        ack()

    return handle_ioc_command
