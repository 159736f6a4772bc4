"""Posting answers to Slack: the summary and CSV in the status message's thread, failures, at most once.

A job may run twice (a worker died mid-way, RQ retried it); the final answer must not. Before the
final post the job claims `flowbot:answered:<job id>` in Redis with SET NX; if the post fails the
claim is released so a retry can answer.

The answer goes in the thread of the job's status message (bot/slack/status_board.py), whose last edit says
the finding in one sentence and where the answer went. Nothing is lost on the way:
- where Flowbot may not post (a private channel or DM it is not in), the answer and its CSV go to the
  asker's direct messages with Flowbot, and the response_url (checked) says so in the channel;
- in a public channel Flowbot is not in, the summary is posted (`chat:write.public`) but Slack refuses
  the file: the CSV goes to the asker's DM and the thread says how to invite Flowbot;
- whatever Slack refuses of the summary's blocks (or fails on, 5xx), a simpler form is sent.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler

from bot.redis_keys import ANSWERED_KEY, ANSWERED_TTL_SECONDS
from bot.rendering.summary import Summary
from bot.request import ReplyTarget
from bot.settings import MissingSettingError, Settings
from bot.slack import response_url
from bot.slack.pacing import ChannelPacer
from bot.slack.status_board import NOT_POSTABLE

log = logging.getLogger(__name__)
UPLOAD_TIMEOUT_SECONDS = 300
INVITE_HINT = "Add Flowbot with `/invite @Flowbot` (or the channel's Integrations → Add apps)."
NOT_IN_CHANNEL_NOTE = (
    "Only you can see this: Flowbot is not a member of this channel. Add it with `/invite @Flowbot` "
    "(or the channel's Integrations → Add apps) so answers and their CSV files are posted for everyone."
)
TABLE_LEFT_OUT = "_Slack would not show the table of this answer; the CSV has every row._"
BLOCKS_REFUSED = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "invalid_arguments",
        "internal_error",
        "fatal_error",
    }
)
"""Slack's answers when it will not take (or fails on) a message's blocks: chat.postMessage's Errors
(docs.slack.dev/reference/methods/chat.postMessage); `msg_blocks_too_long`, and server errors on table
cells, are reported in slackapi's trackers. Any 5xx counts too (`blocks_refused`)."""


def web_client(
    settings: Settings, token: str | None, *, team_id: str | None = None, waits: bool = True
) -> WebClient:
    """A Web API client holding `token`: FLOWBOT_SLACK_API_URL, retries on 429, 5xx and dropped
    connections. `team_id` goes with every call (an org-wide token needs it for some methods).

    `waits=False` is for the listeners: a 429 there is answered at once instead of slept out, since
    sleeping through Retry-After would outlast Slack's 3 s acknowledgement and a trigger_id's 3 s life
    (docs.slack.dev/interactivity/handling-user-interaction). Workers wait: nobody is waiting on them.
    """
    retries: list[RetryHandler] = [ConnectionErrorRetryHandler()]
    if waits:
        retries = [
            RateLimitErrorRetryHandler(max_retry_count=3),  # waits out Retry-After
            ServerErrorRetryHandler(max_retry_count=2),
            *retries,
        ]
    return WebClient(token=token, base_url=settings.slack_api_url, retry_handlers=retries, team_id=team_id)


def slack_client(settings: Settings, *, waits: bool = True) -> WebClient:
    """The client of the single-workspace bot token (FLOWBOT_SLACK_BOT_TOKEN)."""
    if settings.slack_bot_token is None:
        raise MissingSettingError("FLOWBOT_SLACK_BOT_TOKEN is not set")
    return web_client(settings, settings.slack_bot_token.get_secret_value(), waits=waits)


def is_answered(redis: Redis, target: ReplyTarget) -> bool:
    """Whether this job's final answer is already in Slack (a re-run then has nothing to do)."""
    return bool(redis.exists(ANSWERED_KEY.format(job_id=target.job_id)))


def claim_final(redis: Redis, job_id: str) -> bool:
    """Take the right to post this job's one final answer; False when someone already has."""
    return bool(redis.set(ANSWERED_KEY.format(job_id=job_id), "1", nx=True, ex=ANSWERED_TTL_SECONDS))


def deliver_once(redis: Redis, target: ReplyTarget, send: Callable[[], object]) -> bool:
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


@dataclass(frozen=True)
class Posted:
    """Where a message landed: the channel asked from, or the asker's direct messages with Flowbot."""

    channel: str
    ts: str
    direct: bool = False
    """True when the channel refused Flowbot and the message went to the asker's DM instead."""
    thread_ts: str | None = None
    """The thread it was posted in, if any."""

    @property
    def thread(self) -> str:
        """Where what belongs with it goes (a CSV, a note): its thread, or a thread under it."""
        return self.thread_ts or self.ts


@dataclass(frozen=True)
class Delivered:
    """Where a job's answer went, for its status message to say."""

    summary: Posted
    csv_direct: bool = False
    """The CSV went to the asker's DM because Slack keeps files out of channels Flowbot is not in."""
    csv_failed: bool = False
    csv_sha256: str | None = None
    """The SHA-256 (hex) of the CSV's bytes exactly as uploaded to Slack; None when no CSV went."""

    def where(self) -> str:
        """A few words for the status message; empty when everything is in the thread."""
        if self.summary.direct:
            return "answer and CSV sent to the asker by direct message"
        if self.csv_direct:
            return "CSV sent to the asker by direct message"
        if self.csv_failed:
            return "the CSV could not be uploaded"
        return ""


def error_of(exc: SlackApiError) -> str:
    """Slack's error code of a refused call ("" when the answer was not JSON, as a 5xx page is not)."""
    data = exc.response.data
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def blocks_refused(exc: SlackApiError) -> bool:
    """Whether to send the same words in a simpler form: Slack refused the blocks, or failed on them."""
    return exc.response.status_code >= 500 or error_of(exc) in BLOCKS_REFUSED


def post_answer(
    client: WebClient,
    target: ReplyTarget,
    summary: Summary,
    csv_path: Path | None,
    *,
    thread_ts: str | None = None,
    pacer: ChannelPacer | None = None,
    keep_csv: Callable[[str], object] | None = None,
) -> Delivered:
    """The summary (in `thread_ts`'s thread when given) and the full CSV in the same thread; a CSV
    Slack would not take is handed to `keep_csv` with the reason (the job keeps it undelivered).

    The summary is tried as a table block, then as monospace text, then as its finding alone: whatever
    Slack refuses of the blocks, the answer arrives and the query is never run again for it. Where
    Flowbot may not post, both go to the asker's direct messages (see `post_message`).
    """
    rich = summary.blocks(asked_by=target.user_id, rich_table=True)
    plain = summary.blocks(asked_by=target.user_id, rich_table=False)
    bare = f"{summary.fallback()}\n{summary.scope_line()}\n{TABLE_LEFT_OUT}"
    forms: list[tuple[str, list[dict[str, Any]] | None]] = [
        (summary.fallback(), rich),
        (summary.fallback(), plain),
        (bare, None),
    ]
    for number, (text, blocks) in enumerate(forms, start=1):
        try:
            posted = post_message(client, target, text=text, blocks=blocks, thread_ts=thread_ts, pacer=pacer)
            break
        except SlackApiError as exc:
            if number == len(forms) or not blocks_refused(exc):
                raise
            log.warning(
                "Slack refused form %d of job %s's summary (%s, HTTP %s); sending a simpler one",
                number,
                target.job_id,
                error_of(exc) or "no error code",
                exc.response.status_code,
            )
    if csv_path is None or not summary.stats.rows:
        return Delivered(posted)
    digests: list[str] = []
    try:
        direct = upload_csv(
            client,
            target,
            posted,
            csv_path,
            filename=f"flowbot-{summary.request.query}-{target.job_id[:8]}.csv",
            title=f"{summary.request.text} ({summary.stats.rows:,} rows)",
            about=f"`{summary.request.text}`",
            on_digest=digests.append,
        )
    except (SlackApiError, OSError) as exc:  # the upload URL's HTTPError is an OSError
        log.warning("CSV upload for job %s failed: %s", target.job_id, exc)
        kept = ""
        if keep_csv is not None:
            keep_csv(f"CSV upload failed: {exc}")
            kept = f" Flowbot kept it for its operators (job {target.job_id[:8]})."
        client.chat_postMessage(
            channel=posted.channel,
            thread_ts=posted.thread,
            text=f":warning: The summary above is complete, but Slack did not take its CSV.{kept} "
            "Ask again for the file.",
        )
        return Delivered(posted, csv_failed=True)
    return Delivered(posted, csv_direct=direct, csv_sha256=digests[-1] if digests else None)


def post_message(
    client: WebClient,
    target: ReplyTarget,
    *,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
    pacer: ChannelPacer | None = None,
) -> Posted:
    """chat.postMessage where the request was made; where Flowbot may not post, the asker's DM.

    With `chat:write.public` Slack lets Flowbot post in any public channel, so a refusal means a
    private channel or DM Flowbot is not in (`channel_not_found`), an archived channel, or a workspace
    rule. The answer then goes to the asker's direct messages with Flowbot (chat.postMessage with a
    user ID as `channel` posts in the app's Messages tab: docs.slack.dev/reference/methods/
    chat.postMessage, "Channels"), which keeps it and can carry its CSV; the request's response_url,
    when it still takes posts, tells the asker where it went and how to invite Flowbot.
    """
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
        if error_of(exc) not in NOT_POSTABLE:
            raise
        return _post_direct(client, target, text=text, blocks=blocks)
    return Posted(target.channel_id, str(posted["ts"]), thread_ts=thread_ts)


def _post_direct(
    client: WebClient, target: ReplyTarget, *, text: str, blocks: list[dict[str, Any]] | None
) -> Posted:
    """The message in the asker's DM with Flowbot, saying where it was asked; then a pointer to it."""
    where = f"You asked in <#{target.channel_id}>, where Flowbot is not a member, so the answer is here."
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{where} {INVITE_HINT}"}]}
    posted = client.chat_postMessage(
        channel=target.user_id,
        text=text,
        blocks=[*blocks, note] if blocks else [_section(text), note],
        unfurl_links=False,
        unfurl_media=False,
    )
    response_url.send(
        target.response_url,
        text=f":mailbox_with_mail: The answer (job {target.job_id[:8]}) is in your direct messages with "
        f"Flowbot: Flowbot is not a member of this channel. {INVITE_HINT}",
        response_type="ephemeral",
        replace_original=False,
    )
    return Posted(str(posted["channel"]), str(posted["ts"]), direct=True)


def upload_csv(
    client: WebClient,
    target: ReplyTarget,
    posted: Posted,
    path: Path,
    *,
    filename: str,
    title: str,
    about: str,
    on_digest: Callable[[str], object] | None = None,
) -> bool:
    """The file in the thread of `posted`; True when it had to go to the asker's DM instead. `on_digest`
    hears the SHA-256 of the bytes Slack took (bot/evidence/ keeps it).

    `chat:write.public` covers messages, not files: in a public channel Flowbot was not invited to,
    files.completeUploadExternal answers `not_in_channel` (docs.slack.dev/reference/methods/
    files.completeUploadExternal, Errors). The file then goes to the asker's DM and the thread says so.
    """
    try:
        digest = upload_file(
            client,
            channel_id=posted.channel,
            thread_ts=posted.thread,
            path=path,
            filename=filename,
            title=title,
        )
        if on_digest is not None:
            on_digest(digest)
        return False
    except SlackApiError as exc:
        if error_of(exc) not in NOT_POSTABLE or posted.direct:
            raise
    dm = client.chat_postMessage(
        channel=target.user_id,
        text=f":paperclip: The full result of {about}, asked in <#{target.channel_id}>. Slack keeps files "
        f"out of channels Flowbot is not a member of. {INVITE_HINT}",
    )
    digest = upload_file(
        client,
        channel_id=str(dm["channel"]),
        thread_ts=str(dm["ts"]),
        path=path,
        filename=filename,
        title=title,
    )
    if on_digest is not None:
        on_digest(digest)
    client.chat_postMessage(
        channel=posted.channel,
        thread_ts=posted.thread,
        text=f":paperclip: The CSV went to <@{target.user_id}>'s direct messages with Flowbot: Slack keeps "
        f"files out of channels Flowbot is not a member of. {INVITE_HINT}",
    )
    return True


def upload_file(
    client: WebClient, *, channel_id: str, thread_ts: str, path: Path, filename: str, title: str
) -> str:
    """files_upload_v2's three steps, streaming the file from disk instead of reading it whole; the
    SHA-256 (hex) of the bytes sent.

    slack_sdk's `files_upload_v2` reads the file into memory before sending it; a million-row CSV
    should not sit in a worker's memory, so the bytes are sent from the open file (urllib reads a
    file-like body in blocks when Content-Length is given). The two API calls stay slack_sdk's.
    """
    size = path.stat().st_size
    issued = client.files_getUploadURLExternal(filename=filename, length=size)
    with path.open("rb") as file:
        body = _Hashing(file)
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
    return body.sha256.hexdigest()


class _Hashing:
    """A file as urllib reads a request body (`read` in blocks), hashing every byte it hands out."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        block = self.file.read(size)
        self.sha256.update(block)
        return block


def post_ioc_reply(client: WebClient, target: ReplyTarget, text: str, csv_path: Path | None = None) -> Posted:
    """An indicator command's answer where it was asked (or in the asker's DM, where Flowbot may not
    post); an export (`csv_path`) comes as a CSV file in the answer's thread, or by DM where files may not
    go. It takes the words, not the indicator domain's reply: delivery knows Slack, not indicators."""
    posted = post_message(client, target, text=text, blocks=[_section(text)])
    if csv_path is not None:
        upload_csv(
            client,
            target,
            posted,
            csv_path,
            filename="flowbot-iocs.csv",
            title="Flowbot indicators",
            about="the indicator export",
        )
    return posted


def post_failure(client: WebClient, target: ReplyTarget, asked: str, reason: str) -> Posted:
    """One short message saying the question could not be answered, and why (for a job that has no
    status message to say it)."""
    return post_message(
        client,
        target,
        text=f":warning: `{asked}` could not be answered: {reason} (job {target.job_id[:8]})",
        thread_ts=target.thread_ts,
    )


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


def permalink(client: WebClient, channel: str, ts: str | None) -> str | None:
    """A link to a message, for the App Home; None when Slack will not give one."""
    if ts is None:
        return None
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except SlackApiError:
        return None
