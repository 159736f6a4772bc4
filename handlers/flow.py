"""`/flow`: acknowledge at once with help, one line of error, or "queued"; never run SQL here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.cancel import CancelStatus, short_id
from bot.catalog import Catalog
from bot.commands import parse
from bot.delivery import ReplyTarget, claim_final
from bot.parsing import CancelRequest, CommandError, HelpRequest
from bot.queue import FlowQueue, job_id_for
from bot.rendering.help import help_text
from bot.request import FlowRequest
from bot.settings import Settings
from handlers.iocs import IocCommandHandler

log = logging.getLogger(__name__)


def register(
    app: App,
    settings: Settings,
    catalog: Catalog,
    queue: FlowQueue,
    on_ioc: IocCommandHandler,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Attach the `/flow` listener to the app; `ioc …` words go to `on_ioc` (handlers/iocs.py)."""

    def handle_flow_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        """Parse, enqueue, and acknowledge within Slack's 3 seconds."""
        text = command.get("text", "")
        try:
            parsed = parse(text, catalog, settings, clock())
        except CommandError as exc:
            ack(
                text=f":x: {exc}\nType `{settings.command} help` for every command.",
                response_type="ephemeral",
            )
            return
        if isinstance(parsed, HelpRequest):
            ack(text=help_text(catalog, settings, parsed.unknown), response_type="ephemeral")
            return
        if isinstance(parsed, CancelRequest):
            handle_cancel_command(ack, parsed, command["user_id"])
            return
        if not isinstance(parsed, FlowRequest):
            on_ioc(ack, parsed, command, client)
            return
        request_id = (
            command.get("trigger_id") or f"{command.get('channel_id')}:{command.get('user_id')}:{text}"
        )
        target = ReplyTarget(
            team_id=command.get("team_id", ""),
            channel_id=command["channel_id"],
            user_id=command["user_id"],
            job_id=job_id_for(command.get("team_id", ""), request_id),
            response_url=command.get("response_url"),
        )
        try:
            fresh = queue.submit(parsed, target)
        except RedisError:
            log.exception("could not enqueue %s", parsed.text)
            ack(
                text=":warning: Flowbot's queue is unavailable right now; please try again in a minute.",
                response_type="ephemeral",
            )
            return
        if not fresh:  # Slack delivered the same command again: the first delivery was answered
            ack()
            return
        job = short_id(target.job_id)
        ack(
            text=f":hourglass_flowing_sand: Queued `{parsed.text}` · {parsed.window.describe()} · job {job}. "
            f"The answer will be posted here (`{settings.command} cancel {job}` stops it).",
            response_type="ephemeral",
        )

    def handle_cancel_command(ack: Ack, request: CancelRequest, user_id: str) -> None:
        """Cancel a queued job at once, or flag a running one; the job's own answer follows."""
        try:
            outcome = queue.cancel(request.job)
        except RedisError:
            log.exception("could not cancel %s", request.job)
            ack(
                text=":warning: Flowbot's queue is unavailable right now; please try again.",
                response_type="ephemeral",
            )
            return
        job = request.job[:8]
        if outcome.status is CancelStatus.CANCELLED and outcome.job_id:
            claim_final(queue.redis, outcome.job_id)  # the cancellation is the job's one final answer
            ack(
                text=f":no_entry_sign: <@{user_id}> cancelled `{outcome.asked}` (job {job}) before it ran.",
                response_type="in_channel",
            )
        elif outcome.status is CancelStatus.STOPPING:
            ack(
                text=f"Stopping job {job} (`{outcome.asked}`); its answer here will say it was cancelled.",
                response_type="ephemeral",
            )
        elif outcome.status is CancelStatus.FINISHED:
            ack(text=f"Job {job} is no longer queued or running.", response_type="ephemeral")
        else:
            ack(text=f"No job {job} is queued or running.", response_type="ephemeral")

    app.command(settings.command)(handle_flow_command)
