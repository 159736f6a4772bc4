"""`/flow`: acknowledge at once with help, one line of error, or nothing; the job's status message
then appears in the channel. Never run SQL here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.evidence.request import EvidenceRequest
from bot.parse.channel_context import ContextRequest
from bot.parse.command import CancelRequest, HelpRequest
from bot.parse.help import help_text
from bot.parse.in_channel import parse_in_channel
from bot.parse.slack_text import command_text
from bot.query.catalog import Catalog
from bot.queue.watch_book import WatchBook
from bot.request import FlowRequest, GuardDutyRequest
from bot.settings import Settings
from bot.watches import WatchCreate, WatchList, WatchStop
from bot.words import CommandError
from handlers import ingress
from handlers.asking import Asker, RateLimited
from handlers.cancel_job import cancel_job
from handlers.context import handle_context
from handlers.evidence import handle_evidence
from handlers.guardduty import handle_guardduty_command
from handlers.iocs import IocCommandHandler
from handlers.replying import QUEUE_DOWN, tell
from handlers.watch import handle_watch

log = logging.getLogger(__name__)


def register(
    app: App,
    settings: Settings,
    catalog: Catalog,
    asker: Asker,
    on_ioc: IocCommandHandler,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Attach the `/flow` listener to the app; `ioc …` words go to `on_ioc` (handlers/iocs.py)."""

    watches = WatchBook(asker.queue.redis, settings)

    def handle_flow_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        """Parse, enqueue, acknowledge within Slack's 3 seconds, then post the status message."""
        text = command.get("text", "")
        try:
            context = asker.context_of(command.get("team_id", ""), command["channel_id"])
        except RedisError:
            log.exception("could not read the context of %s", command.get("channel_id"))
            ack(text=QUEUE_DOWN, response_type="ephemeral")
            return
        try:
            parsed = parse_in_channel(command_text(text), catalog, settings, clock(), context)
        except CommandError as exc:
            ack(
                text=f":x: {exc}\nType `{settings.command} help` for every command.",
                response_type="ephemeral",
            )
            return
        if isinstance(parsed, HelpRequest):
            ack(text=help_text(catalog, settings, parsed.unknown), response_type="ephemeral")
            return
        if isinstance(parsed, ContextRequest):
            handle_context(ack, parsed, command, asker.contexts, settings, clock())
            return
        if isinstance(parsed, EvidenceRequest):
            handle_evidence(ack, parsed, command, asker.queue, settings)
            return
        if isinstance(parsed, GuardDutyRequest):
            handle_guardduty_command(ack, parsed, command, asker)
            return
        if isinstance(parsed, WatchCreate | WatchList | WatchStop):
            handle_watch(ack, parsed, command, watches, settings, clock())
            return
        if isinstance(parsed, CancelRequest):
            ack()
            reply = cancel_job(asker.queue, settings, client, parsed.job, command["user_id"])
            _respond(client, command, reply.text, reply.public)
            return
        if not isinstance(parsed, FlowRequest):
            on_ioc(ack, parsed, command, client)
            return
        target = ingress.from_command(command)
        try:
            fresh = asker.submit(parsed, target)
        except RateLimited as exc:
            ack(text=str(exc), response_type="ephemeral")
            return
        except RedisError:
            log.exception("could not enqueue %s", parsed.text)
            ack(text=QUEUE_DOWN, response_type="ephemeral")
            return
        ack()  # the status message is the visible acknowledgement
        if fresh:  # else Slack delivered the same command again: the first delivery is being answered
            asker.announce(client, parsed, target)

    app.command(settings.command)(handle_flow_command)


def _respond(client: WebClient, command: dict[str, Any], text: str, public: bool) -> None:
    """A reply after the ack: to everyone in the channel, or only to the person who typed the command."""
    tell(
        client,
        user=command["user_id"],
        text=text,
        url=command.get("response_url"),
        channel=command["channel_id"],
        public=public,
    )
