"""Indicators from Slack: `/flow ioc …`, the "Add IOCs" form (from `/flow ioc` or a global shortcut),
and the message shortcut "Add IOCs from message". Listeners check who may act and which ranges
need an admin, then enqueue; the worker changes the store and answers once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.iocs.commands import MAX_COMMENT, IocAdd, IocForm, IocRemove, IocRequest
from bot.iocs.indicators import Indicator, check_indicator, extract_indicators, parse_indicator
from bot.iocs.store import Source
from bot.parse.slack_text import message_text
from bot.permissions import GroupUnreadable, NotYetKnown, Permissions
from bot.queue.cancel import short_id
from bot.queue.enqueue import FlowQueue
from bot.rendering.ioc_form import INDICATORS_BLOCK, form_values, ioc_form, notice
from bot.request import ReplyTarget
from bot.settings import Settings
from bot.slack_ids import ADD_IOCS_SHORTCUT, IOC_FORM, IOCS_FROM_MESSAGE_SHORTCUT
from handlers import ingress
from handlers.replying import QUEUE_DOWN, QUEUE_DOWN_WORDS, tell

log = logging.getLogger(__name__)
IocCommandHandler = Callable[[Ack, IocRequest, dict[str, Any], WebClient], None]


def _refusals(indicators: list[Indicator], admin: bool) -> list[str]:
    return [f"`{i.value}`: {why}" for i in indicators if (why := check_indicator(i, admin=admin))]


def register(app: App, settings: Settings, queue: FlowQueue, permissions: Permissions) -> IocCommandHandler:
    """Attach the form and shortcut listeners; return the `/flow ioc …` handler for the /flow listener."""

    def enqueue(request: IocRequest, target: ReplyTarget, source: Source) -> str:
        queue.submit_ioc(request, target, source)
        return short_id(target.job_id)

    def handle_ioc_command(ack: Ack, request: IocRequest, command: dict[str, Any], client: WebClient) -> None:
        """`/flow ioc …`: open the form, or check rights and ranges and enqueue."""
        user, channel = command["user_id"], command["channel_id"]
        url = command.get("response_url")
        acked = False

        def reply(text: str) -> None:
            """The line in the acknowledgement while it has not been sent, after it by the response_url."""
            if acked:
                tell(client, user=user, text=text, url=url, channel=channel)
            else:
                ack(text=text, response_type="ephemeral")

        def checked(check: Callable[[bool], str | None]) -> str | None:
            """A permission check on what is kept; a group never read is read after acknowledging."""
            nonlocal acked
            try:
                return check(False)
            except NotYetKnown:
                if not acked:
                    ack()
                    acked = True
            try:
                return check(True)
            except GroupUnreadable as exc:
                return str(exc)

        if isinstance(request, IocForm):
            if reason := checked(
                lambda fetch: permissions.may_add(user, channel, fetch=fetch, client=client)
            ):
                reply(f":no_entry: {reason}.")
                return
            if not acked:
                ack()
            view = ioc_form(channel=channel, source="modal", response_url=url, comment_limit=MAX_COMMENT)
            client.views_open(trigger_id=command["trigger_id"], view=view)
            return
        refused: list[str] = []
        if isinstance(request, IocAdd | IocRemove):
            check = permissions.may_add if isinstance(request, IocAdd) else permissions.may_remove
            if reason := checked(lambda fetch: check(user, channel, fetch=fetch, client=client)):
                reply(f":no_entry: {reason}.")
                return
        if isinstance(request, IocAdd):
            admin = checked(
                lambda fetch: "admin" if permissions.is_admin(user, fetch=fetch, client=client) else None
            )
            verdicts = [
                (v, check_indicator(parse_indicator(v), admin=admin == "admin")) for v in request.indicators
            ]
            refused = [f"`{v}`: {why}" for v, why in verdicts if why]
            kept = tuple(v for v, why in verdicts if not why)
            if not kept:
                reply(":no_entry: Not added: " + "; ".join(refused))
                return
            request = IocAdd(indicators=kept, comment=request.comment)
        target = ingress.from_command(command)
        try:
            job = enqueue(request, target, "command")
        except RedisError:
            log.exception("could not enqueue an ioc request")
            reply(QUEUE_DOWN)
            return
        note = f" Not added: {'; '.join(refused)}." if refused else ""
        reply(f":hourglass_flowing_sand: On it (job {job}).{note}")

    def open_form(
        client: WebClient, shortcut: dict[str, Any], channel: str | None, view: dict[str, Any]
    ) -> None:
        """The form (or why not), after the acknowledgement: a group never read is read first."""
        user = shortcut["user"]["id"]
        try:
            reason = permissions.may_add(user, channel, fetch=True, client=client)
        except GroupUnreadable as exc:
            reason = str(exc)
        if reason:
            view = notice("Add IOCs", reason)
        client.views_open(trigger_id=shortcut["trigger_id"], view=view)

    @app.shortcut(ADD_IOCS_SHORTCUT)
    def handle_open_ioc_form(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        """Global shortcut: the form, from anywhere in Slack."""
        ack()
        open_form(client, shortcut, None, ioc_form(channel=None, source="modal", comment_limit=MAX_COMMENT))

    @app.shortcut(IOCS_FROM_MESSAGE_SHORTCUT)
    def handle_add_iocs_from_message(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        """Message shortcut: every address in the message, to confirm in the form."""
        ack()
        channel = shortcut.get("channel", {}).get("id")
        read = message_text(shortcut.get("message") or {})
        found = extract_indicators(read.text)
        if read.refusal:
            view = notice("Add IOCs", f":warning: Not added: {read.refusal}.")
        elif not found:
            view = notice("Add IOCs", "That message holds no IP address or CIDR range (defanged ones count).")
        else:
            view = ioc_form(
                indicators="\n".join(i.value for i in found),
                channel=channel,
                source="message_shortcut",
                note=f"Found {len(found)} in the message. Check them, add a comment, then Add.",
                response_url=shortcut.get("response_url"),
                comment_limit=MAX_COMMENT,
            )
        open_form(client, shortcut, channel, view)

    @app.view(IOC_FORM)
    def handle_submit_ioc_form(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        """Form submitted: refuse in the form what cannot be added, else enqueue and close it."""
        form = form_values(view)
        user = body["user"]["id"]
        found = extract_indicators(form.text)
        if not found:
            ack(response_action="errors", errors={INDICATORS_BLOCK: "No IP address or CIDR range found."})
            return
        try:
            admin, unknown = permissions.is_admin(user, client=client), False
        except NotYetKnown:  # the admins' group was never read; the form must answer within 3 s
            admin, unknown = False, True
            permissions.warm()
        refused = _refusals(found, admin)
        if refused:
            why = "; ".join(refused)
            if unknown:
                why = (
                    "Flowbot is still reading who the admins are from Slack; submit again in a moment. " + why
                )
            ack(response_action="errors", errors={INDICATORS_BLOCK: why[:150]})
            return
        request = IocAdd(indicators=tuple(i.value for i in found), comment=form.comment[:MAX_COMMENT])
        target = ingress.from_view(body, channel=form.channel, response_url=form.response_url)
        source: Source = "message_shortcut" if form.source == "message_shortcut" else "modal"
        try:
            enqueue(request, target, source)
        except RedisError:
            log.exception("could not enqueue an ioc form")
            ack(
                response_action="errors",
                errors={INDICATORS_BLOCK: QUEUE_DOWN_WORDS},
            )
            return
        ack()

    return handle_ioc_command
