"""Posting answers to Slack: the summary and CSV in the status message's thread, failures, at most once.

A job may run twice (a worker died mid-way, RQ retried it); the final answer must not. Before the
final post the job claims `flowbot:answered:<job id>` in Redis with SET NX; if the post fails the
claim is released so a retry can answer.

The answer goes in the thread of the job's status message (bot/status.py), whose last edit says the
finding in one sentence. Where Flowbot may not post (a private channel it was not invited to, a
DM), the command's response_url carries the answer to the asker alone, with how to invite Flowbot.
If Slack refuses the summary's table block, the same summary goes again as monospace text.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.iocs.actions import IocReply
from bot.pacing import ChannelPacer
from bot.rendering.summary import Summary
from bot.settings import MissingSettingError, Settings
from bot.status import NOT_POSTABLE

log = logging.getLogger(__name__)
ANSWERED_KEY = "flowbot:answered:{job_id}"
ANSWERED_TTL_SECONDS = 7 * 86400
UPLOAD_TIMEOUT_SECONDS = 300
NOT_IN_CHANNEL_NOTE = (
    "Only you can see this: Flowbot is not a member of this channel. Add it with `/invite @Flowbot` "
    "(or the channel's Integrations → Add apps) so answers and their CSV files are posted for everyone."
)
TABLE_REFUSED = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long", "invalid_arguments"})
"""Slack's answers when it will not take a message's blocks: send the plain-text form instead."""


class ReplyTarget(BaseModel):
    """Where and for whom to answer: taken from the Slack request, carried through the queue."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    team_id: str
    channel_id: str
    user_id: str
    job_id: str
    response_url: str | None = None
    thread_ts: str | None = None
    """The thread the request was made in (an @mention or a message shortcut): answers go there."""


def slack_client(settings: Settings) -> WebClient:
    """The Web API client: bot token, configurable base URL, retries on 429 and dropped connections."""
    if settings.slack_bot_token is None:
        raise MissingSettingError("FLOWBOT_SLACK_BOT_TOKEN is not set")
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),  # waits out Retry-After
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(),
        ],
    )


def is_answered(redis: Redis, target: ReplyTarget) -> bool:
    """Whether this job's final answer is already in Slack (a re-run then has nothing to do)."""
    return bool(redis.exists(ANSWERED_KEY.format(job_id=target.job_id)))


def claim_final(redis: Redis, job_id: str) -> bool:
    """Take the right to post this job's one final answer; False when someone already has."""
    return bool(redis.set(ANSWERED_KEY.format(job_id=job_id), "1", nx=True, ex=ANSWERED_TTL_SECONDS))


def deliver_once(redis: Redis, target: ReplyTarget, send: Callable[[], None]) -> bool:
    """Run `send` unless this job's final answer was already posted; False when it was."""
    key = ANSWERED_KEY.format(job_id=target.job_id)
    if not claim_final(redis, target.job_id):
        log.info("job %s already answered; not posting again", target.job_id)
        return False
    try:
        send()
    except Exception:
        redis.delete(key)
        raise
    return True


def post_answer(
    client: WebClient,
    target: ReplyTarget,
    summary: Summary,
    csv_path: Path | None,
    *,
    thread_ts: str | None = None,
    pacer: ChannelPacer | None = None,
) -> str | None:
    """The summary (in `thread_ts`'s thread when given) and the full CSV in the same thread; the
    summary's ts, or None when it went through the response_url."""

    def send(rich_table: bool) -> str | None:
        blocks = summary.blocks(asked_by=target.user_id, rich_table=rich_table)
        return _post(
            client,
            target,
            text=summary.fallback(),
            blocks=blocks,
            note=NOT_IN_CHANNEL_NOTE,
            thread_ts=thread_ts,
            pacer=pacer,
        )

    try:
        ts = send(rich_table=True)
    except SlackApiError as exc:
        if exc.response.get("error") not in TABLE_REFUSED:
            raise
        log.warning(
            "Slack refused job %s's table (%s); sending monospace", target.job_id, exc.response["error"]
        )
        ts = send(rich_table=False)
    if ts is None or csv_path is None or not summary.stats.rows:
        return ts
    thread = thread_ts or ts
    try:
        upload_file(
            client,
            channel_id=target.channel_id,
            thread_ts=thread,
            path=csv_path,
            filename=f"flowbot-{summary.request.query}-{target.job_id[:8]}.csv",
            title=f"{summary.request.text} ({summary.stats.rows:,} rows)",
        )
    except (SlackApiError, OSError) as exc:  # the upload URL's HTTPError is an OSError, not a SlackApiError
        log.warning("CSV upload for job %s failed: %s", target.job_id, exc)
        refused = isinstance(exc, SlackApiError) and exc.response.get("error") in NOT_POSTABLE
        client.chat_postMessage(
            channel=target.channel_id,
            thread_ts=thread,
            text=":warning: The summary above is complete, but "
            + (
                "Slack keeps files out of channels Flowbot is not a member of: add it with "
                "`/invite @Flowbot` and ask again for the CSV."
                if refused
                else f"the CSV upload failed ({exc}). Ask again for the file."
            ),
        )
    return ts


def upload_file(
    client: WebClient, *, channel_id: str, thread_ts: str, path: Path, filename: str, title: str
) -> None:
    """files_upload_v2's three steps, streaming the file from disk instead of reading it whole.

    slack_sdk's `files_upload_v2` reads the file into memory before sending it; a million-row CSV
    should not sit in a worker's memory, so the bytes are sent from the open file (urllib reads a
    file-like body in blocks when Content-Length is given). The two API calls stay slack_sdk's.
    """
    size = path.stat().st_size
    issued = client.files_getUploadURLExternal(filename=filename, length=size)
    with path.open("rb") as body:
        request = urllib.request.Request(  # noqa: S310  # the URL Slack just issued
            str(issued["upload_url"]),
            data=body,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=UPLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()
    client.files_completeUploadExternal(
        files=[{"id": issued["file_id"], "title": title}], channel_id=channel_id, thread_ts=thread_ts
    )


def post_ioc_reply(client: WebClient, target: ReplyTarget, reply: IocReply) -> None:
    """An indicator command's answer where it was asked (or to the person, from a shortcut); an export
    comes as a CSV file in the answer's thread."""
    ts = _post(client, target, text=reply.text)
    if ts is not None and reply.csv_path is not None:
        upload_file(
            client,
            channel_id=target.channel_id,
            thread_ts=ts,
            path=reply.csv_path,
            filename="flowbot-iocs.csv",
            title="Flowbot indicators",
        )


def post_failure(client: WebClient, target: ReplyTarget, asked: str, reason: str) -> None:
    """One short message saying the question could not be answered, and why (for a job that has no
    status message to say it)."""
    _post(
        client,
        target,
        text=f":warning: `{asked}` could not be answered: {reason} (job {target.job_id[:8]})",
        thread_ts=target.thread_ts,
    )


def _post(
    client: WebClient,
    target: ReplyTarget,
    *,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    note: str = "",
    thread_ts: str | None = None,
    pacer: ChannelPacer | None = None,
) -> str | None:
    """chat.postMessage and its ts; where the bot may not post, the command's response_url (None then)."""
    try:
        if pacer is not None:
            pacer.wait(target.channel_id)
        posted = client.chat_postMessage(
            channel=target.channel_id,
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_POSTABLE or not target.response_url:
            raise
        extra = [{"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}] if note else []
        WebhookClient(target.response_url).send(
            text=f"{text}\n{note}".strip(),
            blocks=[*blocks, *extra] if blocks else None,
            response_type="ephemeral",
        )
        return None
    return str(posted["ts"])
