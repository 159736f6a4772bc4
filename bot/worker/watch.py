"""One interval of a standing watch: query the interval's window, post only what the watch has not posted.

A finding is what a row names (its addresses, ports, ids, directions, actions: the columns of kind ip, port
and text), not its counts or times: a host that goes on talking to an indicator is posted once, a new host
or a new peer is posted when it appears. Each interval's window follows the last (bot/watches.py), so
every delivered record is read by exactly one interval.

Once per interval, whatever re-runs it: the next interval is scheduled first (one RQ job per interval id),
the answer is posted once (`deliver_once`, keyed by the interval's id), and an interval marked done is not
queried again. A run that finds nothing new posts nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from redis import Redis
from rq.job import Job
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.enrich.lookup import start_names
from bot.evidence.recorder import EvidenceRecorder
from bot.query.catalog import QueryTemplate, load_catalog
from bot.query.engines import EngineError, make_engine
from bot.query.engines.base import RunControl
from bot.query.results import Row
from bot.queue.watch_book import WatchBook, interval_job_id
from bot.rendering.watch import ended_text, failed_text, findings_label
from bot.request import ReplyTarget
from bot.settings import Settings
from bot.slack.delivery import deliver_once, post_answer, post_message
from bot.slack.installations import NotInstalledError, bot_client
from bot.slack.pacing import ChannelPacer
from bot.watches import Watch
from bot.worker.answer import answer
from bot.worker.budget import ChannelBudget
from bot.worker.preflight import Cleared, OverBudget, preflight
from bot.worker.started import current_job

log = logging.getLogger(__name__)
FINDING_KINDS = frozenset({"ip", "port", "text"})
"""The column kinds that say what a row is about; counts, bytes and times say how much and when."""


def finding_digest(row: Row, positions: list[int]) -> str:
    """A short, stable digest of what a row names (the values at `positions`)."""
    named = json.dumps([None if row[i] is None else str(row[i]) for i in positions])
    return hashlib.sha256(named.encode()).hexdigest()[:32]


def finding_positions(template: QueryTemplate) -> list[int]:
    """Where a template's rows name their finding: its ip, port and text columns."""
    return [i for i, column in enumerate(template.columns) if column.kind in FINDING_KINDS]


class NewFindings:
    """The filter a watch's answer streams through: rows whose finding the watch has not posted, once each."""

    def __init__(self, book: WatchBook, watch: Watch, template: QueryTemplate) -> None:
        self.book = book
        self.watch = watch
        self.positions = finding_positions(template)
        self.digests: list[str] = []
        """The new findings' digests, in order: remembered once they are posted."""

    def __call__(self, batch: list[Row]) -> list[Row]:
        digests = [finding_digest(row, self.positions) for row in batch]
        unseen = self.book.unseen(self.watch, digests)
        fresh: list[Row] = []
        taken = set(self.digests)
        for row, digest, new in zip(batch, digests, unseen, strict=True):
            if new and digest not in taken:
                fresh.append(row)
                taken.add(digest)
                self.digests.append(digest)
        return fresh


def _interval_target(watch: Watch, interval: int) -> ReplyTarget:
    return watch.target.model_copy(update={"job_id": interval_job_id(watch.id, interval)})


def run_watch_interval(watch_id: str, interval: int) -> dict[str, Any]:
    """RQ's job for one interval of one watch (scheduled by bot/queue/watch_book.py)."""
    settings = Settings()
    redis: Redis = current_job().connection
    book = WatchBook(redis, settings)
    watch = book.get(watch_id)
    if watch is None or book.stopped_by(watch_id) is not None:
        return {"status": "stopped"}
    if book.is_done(watch, interval):
        return {"status": "already ran"}
    if interval < watch.last_interval():
        book.schedule(watch, interval + 1)  # before the query: a run that dies still leaves the next
    try:
        client = bot_client(settings, team_id=watch.target.team_id, enterprise_id=watch.target.enterprise_id)
    except NotInstalledError as exc:
        log.warning("watch %s dropped: %s", watch_id, exc)
        return {"status": "not installed"}
    outcome = _run(settings, redis, book, client, watch, interval)
    book.mark_done(watch, interval)
    if interval == watch.last_interval():
        end = _interval_target(watch, interval).model_copy(update={"job_id": f"watch-{watch.id}-end"})
        deliver_once(redis, end, lambda: post_message(client, end, text=ended_text(watch)))
    return outcome


def _run(
    settings: Settings, redis: Redis, book: WatchBook, client: WebClient, watch: Watch, interval: int
) -> dict[str, Any]:
    """Query the interval and post its new findings, if any; a failure is said once and the watch goes on."""
    request = watch.interval_request(interval)
    target = _interval_target(watch, interval)
    catalog = load_catalog()
    template = catalog[request.query]
    evidence = EvidenceRecorder(settings, request, target, asked_at=datetime.now(UTC))
    say = _sayer(redis, client, target)
    try:
        engine = make_engine(settings)
        budget = ChannelBudget(redis, settings.channel_daily_bytes)
        verdict = preflight(
            engine,
            template,
            request,
            settings=settings,
            budget=budget,
            team_id=target.team_id,
            channel_id=target.channel_id,
            job_id=target.job_id,
            confirmed=True,  # a watch has nobody to click *Run it*; the channel's budget still holds
        )
        if isinstance(verdict, OverBudget):
            say(failed_text(watch, request.window.describe(), verdict.reason()))
            evidence.record("refused", reason=verdict.reason())
            return {"status": "over budget"}
        fresh = NewFindings(book, watch, template)
        names = (
            start_names(settings, redis, request.account, request.region) if settings.enrich_enabled else None
        )
        with tempfile.TemporaryDirectory(prefix="flowbot-") as tmp:
            csv_path = Path(tmp) / "new-findings.csv"
            with csv_path.open("w", newline="", encoding="utf-8") as out:
                summary = answer(
                    request.model_copy(update={"text": findings_label(watch)}),
                    catalog=catalog,
                    engine=engine,
                    summary_rows=settings.summary_rows,
                    csv_out=out,
                    control=RunControl(
                        token=target.job_id, on_start=evidence.on_start, on_sent=evidence.on_sent
                    ),
                    names=names,
                    keep_only=fresh,
                )
            if isinstance(verdict, Cleared) and verdict.reservation is not None:
                budget.settle(verdict.reservation, summary.stats.bytes_scanned)
            if summary.stats.rows:

                def send() -> None:
                    pacer = ChannelPacer(redis, settings.channel_post_interval_seconds)
                    delivered = post_answer(client, target, summary, csv_path, pacer=pacer)
                    evidence.delivered(delivered.csv_sha256, None)

                deliver_once(redis, target, send)
            book.remember(watch, fresh.digests)
    except EngineError as exc:
        say(failed_text(watch, request.window.describe(), str(exc)))
        evidence.record("failed", stats=exc.stats, reason=str(exc))
        return {"status": "failed", "reason": str(exc)}
    evidence.record("answered", stats=summary.stats)
    return {"status": "answered", "new_findings": summary.stats.rows}


def _sayer(redis: Redis, client: WebClient, target: ReplyTarget) -> Callable[[str], None]:
    """One line in the watch's channel, once for the interval."""

    def say(text: str) -> None:
        try:
            deliver_once(redis, target, lambda: post_message(client, target, text=text))
        except SlackApiError as exc:
            log.warning("watch interval %s: could not say %r: %s", target.job_id, text, exc)

    return say


def report_watch_failure(
    job: Job, connection: Redis, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """RQ's on_failure callback for an interval: while retries are left RQ runs it again; after the last,
    the channel hears once that the interval could not be read. The next interval is already scheduled."""
    if job.retries_left:
        return
    settings = Settings()
    watch_id, interval = str(job.args[0]), int(job.args[1])
    book = WatchBook(connection, settings)
    watch = book.get(watch_id)
    if watch is None:
        return
    log.error("watch %s interval %d failed: %s: %s", watch_id, interval, exc_type.__name__, exc)
    try:
        client = bot_client(settings, team_id=watch.target.team_id, enterprise_id=watch.target.enterprise_id)
    except NotInstalledError:
        return
    reason = "Flowbot hit an internal error; the worker log has the details"
    window = watch.window(interval).describe()
    _sayer(connection, client, _interval_target(watch, interval))(failed_text(watch, window, reason))
    if interval < watch.last_interval():
        book.schedule(watch, interval + 1)
