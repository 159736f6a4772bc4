"""The buttons on a job's status message: *Cancel*, *Rerun with a wider window*, *Show next rows*, and
*Run it* / *Don't run* on a query whose estimated scan asked first.

Every button is acknowledged at once; its work (a cancel, a new job, a page of rows posted in
the thread) follows, and what only the presser needs to know goes to them alone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from redis.exceptions import RedisError
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.parse.command import recheck
from bot.query.catalog import Catalog
from bot.queue.confirmations import PendingConfirmations
from bot.recent import note_query
from bot.rendering.status import JobState, StatusView
from bot.rendering.table import Grid, monospace, table_block
from bot.request import FlowRequest, ReplyTarget, Window
from bot.settings import Settings
from bot.slack.delivery import blocks_refused, claim_final
from bot.slack.pages import ResultPages
from bot.slack.status_board import status_board
from bot.slack_ids import (
    CANCEL_ACTION,
    CONFIRM_DROP_ACTION,
    CONFIRM_RUN_ACTION,
    NEXT_ROWS_ACTION,
    RERUN_WIDER_ACTION,
)
from bot.words import CommandError
from handlers.asking import Asker
from handlers.cancel_job import cancel_job
from handlers.replying import QUEUE_DOWN, tell_presser

log = logging.getLogger(__name__)


def wider(request: FlowRequest, settings: Settings) -> FlowRequest | None:
    """The same request over twice the window, ending where it ended, up to the longest allowed;
    None when it already is the longest."""
    window = request.window
    longest = timedelta(days=settings.max_window_days)
    start = max(window.start - (window.end - window.start), window.end - longest)
    if start >= window.start:
        return None
    words: list[str] = []
    skip = False
    for word in request.text.split():  # the canonical text: window options are `--name value`
        if skip or word in _WINDOW_OPTIONS:
            skip = not skip and word in _WINDOW_OPTIONS
            continue
        words.append(word)
    words += [f"--from {_iso(start)}", f"--to {_iso(window.end)}"]
    return request.model_copy(update={"window": Window(start=start, end=window.end), "text": " ".join(words)})


_WINDOW_OPTIONS = frozenset({"--last", "--from", "--to"})
_NOT_WAITING = (
    "That question is settled: someone already answered it, or it waited more than an hour. "
    "Ask again to get a fresh estimate."
)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ" if moment.second else "%Y-%m-%dT%H:%MZ")


def register(app: App, settings: Settings, catalog: Catalog, asker: Asker) -> None:
    """Attach the status message's button listeners."""
    pages = ResultPages(asker.queue.redis, settings.summary_rows)
    parked = PendingConfirmations(asker.queue.redis)

    @app.action(CANCEL_ACTION)
    def handle_cancel_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Cancel from the status message; its own edit tells the channel."""
        ack()
        reply = cancel_job(asker.queue, settings, client, body["actions"][0]["value"], body["user"]["id"])
        tell_presser(client, body, reply.text, public=reply.public)

    @app.action(CONFIRM_RUN_ACTION)
    def handle_confirm_run(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """*Run it*: the first click takes the parked query and queues it; later clicks are told."""
        ack()
        user, job_id = body["user"]["id"], body["actions"][0]["value"]
        taken = take_parked(client, body, parked)
        if taken is None:
            return
        request_data, target_data = taken
        try:
            asker.queue.submit_confirmed(request_data, target_data, user)
        except RedisError:
            log.exception("could not queue confirmed job %s", job_id)
            parked.park(job_id, request_data, target_data)  # not queued: the question stays open
            tell_presser(client, body, QUEUE_DOWN)
            return
        request, target = FlowRequest.model_validate(request_data), ReplyTarget.model_validate(target_data)
        queued = StatusView(JobState.QUEUED, request, target.job_id, target.user_id, confirmed_by=user)
        show_status(client, asker, settings, target, queued)

    @app.action(CONFIRM_DROP_ACTION)
    def handle_confirm_drop(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """*Don't run*: the parked query ends as cancelled, which is its one final answer."""
        ack()
        user, job_id = body["user"]["id"], body["actions"][0]["value"]
        taken = take_parked(client, body, parked)
        if taken is None:
            return
        try:
            claim_final(asker.queue.redis, job_id)
        except RedisError:  # the question is closed; the status message still says who dropped it
            log.exception("could not claim the final answer of dropped job %s", job_id)
        request, target = FlowRequest.model_validate(taken[0]), ReplyTarget.model_validate(taken[1])
        dropped = StatusView(JobState.CANCELLED, request, target.job_id, target.user_id, cancelled_by=user)
        show_status(client, asker, settings, target, dropped)
        note_query(asker.queue.redis, settings, target, request.text, "cancelled")

    @app.action(RERUN_WIDER_ACTION)
    def handle_rerun_wider(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Run the same query again over twice the window, as a new job next to the old one."""
        ack()
        try:
            old = recheck(FlowRequest.model_validate_json(body["actions"][0]["value"]), catalog, settings)
        except (ValidationError, CommandError):
            tell_presser(
                client, body, "That button is from an older or differently set up Flowbot; ask again."
            )
            return
        request = wider(old, settings)
        if request is None:
            tell_presser(
                client,
                body,
                f"`{old.text}` already covers the longest window allowed ({settings.max_window_days} days).",
            )
            return
        thread = (body.get("message") or {}).get("thread_ts")
        asker.ask_from_action(client, request, body, kind="rerun", thread_ts=thread)

    @app.action(NEXT_ROWS_ACTION)
    def handle_next_rows(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Post the answer's next rows in the status message's thread."""
        ack()
        job_id = body["actions"][0]["value"]
        message = body.get("message") or {}
        page = pages.next_page(job_id)
        if page is None:
            tell_presser(client, body, "No more rows are kept here; the CSV in the thread has every row.")
            _drop_button(client, body["channel"]["id"], message)
            return
        grid, first, more = page
        heading = f"Rows {first:,} to {first + len(grid.rows) - 1:,} (job {job_id[:8]})"
        if not more:
            heading += " · the rest is in the CSV"
        post_rows(client, body["channel"]["id"], message.get("thread_ts") or message.get("ts"), heading, grid)
        if not more:
            _drop_button(client, body["channel"]["id"], message)


def take_parked(
    client: WebClient, body: dict[str, Any], parked: PendingConfirmations
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The parked query a *Run it* / *Don't run* press answers, taken so no other press gets it; None when
    the presser was told why not (already settled or lapsed, or Redis down)."""
    job_id = body["actions"][0]["value"]
    try:
        taken = parked.take(job_id)
    except RedisError:
        log.exception("could not take parked job %s", job_id)
        tell_presser(client, body, QUEUE_DOWN)
        return None
    if taken is None:
        tell_presser(client, body, _NOT_WAITING)
    return taken


def show_status(
    client: WebClient, asker: Asker, settings: Settings, target: ReplyTarget, view: StatusView
) -> None:
    """Edit a parked query's status message (the one that asked *Run it?*) to `view`."""
    board = status_board(client, asker.queue.redis, target, settings, in_listener=True)
    if board.attach(wait_seconds=0) is not None:
        board.show(view, force=True)


def post_rows(client: WebClient, channel: str, thread_ts: str | None, heading: str, grid: Grid) -> None:
    """A page of rows in a thread: a table block, or monospace text where Slack refuses the table."""
    head = {"type": "section", "text": {"type": "mrkdwn", "text": heading}}
    table = table_block(grid)
    try:
        if table is not None:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=heading, blocks=[head, table])
            return
    except SlackApiError as exc:
        if not blocks_refused(exc):
            raise
    text = monospace(grid).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = {"type": "section", "text": {"type": "mrkdwn", "text": f"```\n{text[:2800]}\n```"}}
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=heading, blocks=[head, body])


def _drop_button(client: WebClient, channel: str, message: dict[str, Any]) -> None:
    """Take *Show next rows* off the status message once every kept row was shown."""
    blocks = message.get("blocks")
    if not blocks or not message.get("ts"):
        return
    for block in blocks:
        if block.get("type") == "actions":
            block["elements"] = [e for e in block["elements"] if e.get("action_id") != NEXT_ROWS_ACTION]
    blocks = [b for b in blocks if b.get("type") != "actions" or b["elements"]]
    try:
        client.chat_update(channel=channel, ts=message["ts"], text=message.get("text", ""), blocks=blocks)
    except SlackApiError as exc:
        log.warning("could not update the status message: %s", exc.response.get("error"))
