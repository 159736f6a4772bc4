"""The job a worker runs for a Slack request, and the callback that reports a job that died.

Plain top-level functions with JSON-able arguments, as RQ wants them. Each builds what it needs
from settings; the Redis connection is the job's own.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq.job import Job
from rq.timeouts import JobTimeoutException
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.enrich.lookup import start_names
from bot.enrich.names import names_columns
from bot.evidence.recorder import EvidenceRecorder
from bot.evidence.recorder import running as running_evidence
from bot.evidence.records import Outcome
from bot.iocs.actions import run_ioc_request
from bot.iocs.commands import IOC_REQUEST
from bot.iocs.objects import object_store_for
from bot.iocs.store import IocStore
from bot.query.catalog import load_catalog
from bot.query.engines import EngineError, make_engine
from bot.query.engines.base import RunControl
from bot.queue.cancel import cancelled_by, is_cancelled
from bot.queue.confirmations import PendingConfirmations
from bot.queue.enqueue import FlowQueue
from bot.recent import note_query
from bot.rendering.cost import estimate_phrase, scan_phrase
from bot.rendering.status import JobState, StatusView
from bot.request import FlowRequest, ReplyTarget
from bot.settings import Settings
from bot.slack.delivery import (
    Posted,
    deliver_once,
    permalink,
    post_answer,
    post_failure,
    post_ioc_reply,
)
from bot.slack.installations import NotInstalledError, bot_client
from bot.slack.pacing import ChannelPacer
from bot.slack.pages import ResultPages
from bot.slack.status_board import StatusBoard, status_board
from bot.worker.answer import answer
from bot.worker.budget import ChannelBudget
from bot.worker.preflight import Cleared, NeedsConfirmation, OverBudget, preflight
from bot.worker.retrohunt import announce_retrohunt, retrohunt_request, retrohunt_target
from bot.worker.started import Started, start
from bot.worker.undelivered import keep_reply, keep_undelivered

log = logging.getLogger(__name__)
CANCELLED = "it was cancelled on request"


def run_flow_job(
    request_data: dict[str, Any], target_data: dict[str, Any], confirmed_by: str | None = None
) -> dict[str, Any]:
    """Run the query: status message to "running", the pre-flight check, the answer in its thread, the
    status to the finding. `confirmed_by` is who clicked *Run it* when the estimate asked first."""
    settings = Settings()
    request = FlowRequest.model_validate(request_data)
    if settings.engine == "athena" and settings.athena_result_reuse_minutes:
        request = request.model_copy(update={"window": request.window.snapped()})
    target = ReplyTarget.model_validate(target_data)
    started = start(settings, target)
    if not isinstance(started, Started):
        return started
    job, client, redis = started.job, started.client, started.redis
    evidence = EvidenceRecorder(settings, request, target, asked_at=job.created_at, confirmed_by=confirmed_by)
    pacer = ChannelPacer(redis, settings.channel_post_interval_seconds)
    board = status_board(client, redis, target, settings)
    view = partial(
        StatusView,
        request=request,
        job_id=target.job_id,
        asked_by=target.user_id,
        confirmed_by=confirmed_by,
        rerun=job.retries_left is not None and job.retries_left < settings.job_retries,
    )
    if is_cancelled(redis, target.job_id):
        cancelled = view(state=JobState.CANCELLED, cancelled_by=cancelled_by(redis, target.job_id))
        deliver_once(redis, target, lambda: finish(client, board, target, cancelled))
        note_query(redis, settings, target, request.text, "cancelled")
        evidence.record("cancelled", cancelled_by=cancelled.cancelled_by)
        return {"status": "cancelled"}
    note_query(redis, settings, target, request.text, "running")
    try:
        board.ensure(view(state=JobState.RUNNING))
    except SlackApiError as exc:  # the answer can still be posted on its own
        log.warning("no status message for job %s: %s", target.job_id, exc.response.get("error"))
    budget = ChannelBudget(redis, settings.channel_daily_bytes)
    cleared: Cleared | None = None
    try:
        engine = make_engine(settings)
        catalog = load_catalog()
        verdict = preflight(
            engine,
            catalog[request.query],
            request,
            settings=settings,
            budget=budget,
            team_id=target.team_id,
            channel_id=target.channel_id,
            job_id=target.job_id,
            confirmed=confirmed_by is not None,
        )
        if not isinstance(verdict, Cleared):
            return _stop_before_running(
                client, redis, board, target, settings, request, verdict, view, evidence
            )
        cleared = verdict
        # the names are looked up while the query runs, and waited for no longer than their bound
        names = None
        if settings.enrich_enabled and names_columns(catalog[request.query].columns):
            names = start_names(settings, redis, request.account, request.region)
        with tempfile.TemporaryDirectory(prefix="flowbot-") as tmp:
            csv_path = Path(tmp) / "result.csv"
            with csv_path.open("w", newline="", encoding="utf-8") as out:
                summary = answer(
                    request,
                    catalog=catalog,
                    engine=engine,
                    summary_rows=settings.summary_rows,
                    kept_rows=settings.kept_rows,
                    csv_out=out,
                    control=RunControl(
                        token=target.job_id,
                        on_start=evidence.on_start,
                        on_sent=evidence.on_sent,
                        should_cancel=lambda: is_cancelled(redis, target.job_id),
                        on_progress=lambda scanned: board.show(view(state=JobState.RUNNING, scanned=scanned)),
                    ),
                    names=names,
                )
            _settle(budget, cleared, summary.stats.bytes_scanned)
            more = ResultPages(redis, settings.summary_rows).keep(
                target.job_id, summary.grid(), summary.shown
            )
            done = view(
                state=JobState.ANSWERED,
                finding=summary.finding(),
                more_rows=more,
                in_thread=not target.thread_ts,
            )

            def send() -> None:
                delivered = post_answer(
                    client,
                    target,
                    summary,
                    csv_path,
                    thread_ts=board.answer_thread,
                    pacer=pacer,
                    keep_csv=lambda why: keep_undelivered(
                        settings, target, summary, csv_path, why, kind="csv"
                    ),
                )
                board.show(replace(done, where=delivered.where()), force=True)
                posted = delivered.summary
                shown = posted.ts if posted.direct else board.ts or posted.ts
                link = permalink(client, posted.channel, shown)
                evidence.delivered(delivered.csv_sha256, link)
                note_query(redis, settings, target, request.text, "answered", done.finding, link)
                try:
                    announce_retrohunt(client, settings, request, target, done.finding or "", link)
                except SlackApiError as exc:  # the answer is posted; the announcement is a copy of it
                    log.warning("job %s: retro-hunt announcement failed: %s", target.job_id, exc)

            try:
                deliver_once(redis, target, send)
            except (SlackApiError, OSError) as exc:  # every form, the DM and slack_sdk's retries failed
                kept = keep_undelivered(
                    settings,
                    target,
                    summary,
                    csv_path,
                    str(exc),
                    status_ts=board.ts,
                    answer_thread=board.answer_thread,
                )
                reason = (
                    f"the answer was ready but Slack would not take it; Flowbot kept it ({kept.name}) and "
                    "posts it here when Slack takes posts again"
                )
                board.show(view(state=JobState.FAILED, finding=reason), force=True)
                note_query(redis, settings, target, request.text, "failed", reason)
                evidence.record("undelivered", stats=summary.stats, reason=reason)
                return {"status": "undelivered", "rows": summary.stats.rows, "kept": str(kept)}
    except EngineError as exc:
        reason = str(exc)
        if exc.stats is not None:
            _settle(budget, cleared, exc.stats.bytes_scanned)
        spent = scan_phrase(exc.stats) if exc.stats is not None else ""
        state = JobState.CANCELLED if is_cancelled(redis, target.job_id) else JobState.FAILED
        failed = (
            view(state=state, finding=reason, spent=spent)
            if state is JobState.FAILED
            else view(state=state, cancelled_by=cancelled_by(redis, target.job_id), spent=spent)
        )
        deliver_once(redis, target, lambda: finish(client, board, target, failed))
        note_query(redis, settings, target, request.text, state.value, reason)
        ended: Outcome = "cancelled" if state is JobState.CANCELLED else "failed"
        evidence.record(ended, stats=exc.stats, reason=reason, cancelled_by=failed.cancelled_by)
        return {"status": state.value, "reason": reason}
    if evidence.was_delivered:  # by this run: a run that found it answered leaves the entry to that one
        evidence.record("answered", stats=summary.stats)
    stats = summary.stats
    return {"status": "answered", "rows": stats.rows, "bytes_scanned": stats.bytes_scanned}


def _stop_before_running(
    client: WebClient,
    redis: Redis,
    board: StatusBoard,
    target: ReplyTarget,
    settings: Settings,
    request: FlowRequest,
    verdict: NeedsConfirmation | OverBudget,
    view: Callable[..., StatusView],
    evidence: EvidenceRecorder,
) -> dict[str, Any]:
    """The pre-flight check stopped the query: refuse it over the budget (its one final answer), or park
    it and ask *Run it?* on its status message (the answer comes after a click,
    bot/queue/confirmations.py)."""
    price = settings.athena_price_per_tb if settings.engine == "athena" else None
    estimate = estimate_phrase(verdict.estimate, price)

    def refuse(reason: str, status: str) -> dict[str, Any]:
        refused = view(state=JobState.FAILED, finding=reason)
        deliver_once(redis, target, lambda: finish(client, board, target, refused))
        note_query(redis, settings, target, request.text, "failed", reason)
        evidence.record("refused", reason=reason)
        return {"status": status, "estimate_bytes": verdict.estimate.bytes}

    if isinstance(verdict, OverBudget):
        return refuse(verdict.reason(), "over budget")
    if board.ts is None:  # no status message to carry the buttons: say so instead of waiting silently
        return refuse(
            f"it would scan {estimate}, over FLOWBOT_CONFIRM_BYTES, and Flowbot cannot post the *Run it* "
            "button here; narrow the window",
            "not confirmable",
        )
    question = view(state=JobState.CONFIRM, estimate=estimate)
    parked = (request.model_dump(mode="json"), target.model_dump(mode="json"))
    PendingConfirmations(redis).park(target.job_id, *parked)
    board.show(question, force=True)
    note_query(redis, settings, target, request.text, "awaiting confirmation")
    return {"status": "awaiting confirmation", "estimate_bytes": verdict.estimate.bytes}


def _settle(budget: ChannelBudget, cleared: Cleared | None, scanned: int) -> None:
    """Book what the query really scanned in place of its estimate; never fails the job for it."""
    if cleared is None or cleared.reservation is None:
        return
    try:
        budget.settle(cleared.reservation, scanned)
    except RedisError:
        log.warning("could not settle %s's scan in the channel budget", cleared.reservation.job_id)


def finish(client: WebClient, board: StatusBoard, target: ReplyTarget, final: StatusView) -> None:
    """A job's final word without an answer (failed, cancelled): on its status message, or posted."""
    if board.ts is None:
        board.attach(wait_seconds=0)
    if board.ts is not None:
        board.show(final, force=True)
        return
    reason = final.finding if final.state is JobState.FAILED else CANCELLED
    post_failure(client, target, final.request.text, reason or "")


def run_ioc_job(request_data: dict[str, Any], target_data: dict[str, Any], source: str) -> dict[str, Any]:
    """Change or read the indicator store for a Slack request; post the reply once, announce changes."""
    settings = Settings()
    request = IOC_REQUEST.validate_python(request_data)
    target = ReplyTarget.model_validate(target_data)
    started = start(settings, target)
    if not isinstance(started, Started):
        return started
    job, client = started.job, started.client
    store = IocStore(object_store_for(settings))
    with tempfile.TemporaryDirectory(prefix="flowbot-") as tmp:
        reply = run_ioc_request(
            store,
            request,
            actor=target.user_id,
            channel=target.channel_id if target.channel_id.startswith(("C", "G")) else None,
            source=source,  # type: ignore[arg-type]  # one of Source, set by the listener
            export_dir=Path(tmp),
        )
        replies: list[Posted] = []
        try:
            deliver_once(
                job.connection,
                target,
                lambda: replies.append(post_ioc_reply(client, target, reply.text, reply.csv_path)),
            )
        except (SlackApiError, OSError) as exc:  # the store changed: keep the words, never redo the change
            asked = f"ioc {request.kind}"
            keep_reply(
                settings,
                target,
                asked=asked,
                text=reply.text,
                csv_path=reply.csv_path,
                why=str(exc),
            )
    _queue_retrohunt(job.connection, settings, target, reply.added, replies[0] if replies else None)
    announce_to = settings.ioc_announce_channel
    if reply.announce and announce_to and announce_to != target.channel_id:
        try:
            client.chat_postMessage(channel=announce_to, text=reply.announce, unfurl_links=False)
        except SlackApiError as exc:  # the change is made and its asker told: never redo it for this
            log.warning("job %s: announce in %s failed: %s", target.job_id, announce_to, exc)
    return {"status": "answered", "kind": request.kind}


def _queue_retrohunt(
    redis: Redis, settings: Settings, submission: ReplyTarget, added: tuple[str, ...], reply: Posted | None
) -> None:
    """Hunt the new indicators back FLOWBOT_RETROHUNT_DAYS, in the thread of the submission's reply (or in its
    channel, when the reply could not be posted). Once per submission: the queue keeps one job per id."""
    request = retrohunt_request(added, load_catalog(), settings, datetime.now(UTC))
    if request is None:
        return
    where = (reply.channel, reply.thread) if reply is not None else (submission.channel_id, None)
    target = retrohunt_target(submission, *where)
    try:
        FlowQueue(redis, settings).submit(request, target)
    except RedisError as exc:  # the indicators are in; the responder can still run `hunt` by hand
        log.warning("job %s: the retro-hunt could not be queued: %s", submission.job_id, exc)


class WorkHorseDied(RuntimeError):
    """The process running the job died (killed, out of memory) while its worker lived on."""


def report_dead_horse(job: Job, retpid: int, ret_val: int, rusage: object) -> None:
    """RQ's work_horse_killed_handler: RQ runs the job again while retries are left, and otherwise
    fails it without its failure callback; report it as any failure, once."""
    died = WorkHorseDied(f"the job's process ended with status {ret_val}")
    report_failure(job, job.connection, WorkHorseDied, died, None)


def _show_queued_again(job: Job, connection: Redis) -> None:
    """A query going back in the queue after its worker stopped: say so on its status message, so the
    channel does not read "running" meanwhile. Best effort: the re-run edits it again either way."""
    if not (job.func_name or "").endswith("run_flow_job"):
        return
    settings = Settings()
    try:
        request, target = FlowRequest.model_validate(job.args[0]), ReplyTarget.model_validate(job.args[1])
        client = bot_client(settings, team_id=target.team_id, enterprise_id=target.enterprise_id)
        board = status_board(client, connection, target, settings)
        if board.attach(wait_seconds=0) is not None:
            again = StatusView(JobState.QUEUED, request, target.job_id, target.user_id, rerun=True)
            board.show(again, force=True)
    except (NotInstalledError, SlackApiError, RedisError, ValueError) as exc:
        log.warning("job %s: could not say it runs again: %s", job.id, exc)


def report_failure(
    job: Job, connection: Redis, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """RQ's on_failure callback: the job raised, timed out, or its worker died; tell the channel, once.

    RQ calls this before it decides to retry, and also for a job whose worker died (found later by
    any worker's registry clean-up, as AbandonedJobError). While retries are left the job will run
    again and answer itself, so nothing is said. A timeout is not retried: the same query would
    run out of time again; setting `retries_left` to 0 here makes RQ fail it now.
    """
    if isinstance(exc, JobTimeoutException):
        job.retries_left = 0
    elif job.retries_left:
        log.warning("job %s failed (%s); RQ runs it again", job.id, exc_type.__name__)
        _show_queued_again(job, connection)
        return
    request_data, target_data = job.args[0], job.args[1]
    target = ReplyTarget.model_validate(target_data)
    asked = str(request_data.get("text") or f"ioc {request_data.get('kind', '')}".strip())
    settings = Settings()
    if isinstance(exc, JobTimeoutException):
        reason = f"it ran longer than {settings.query_timeout_seconds} s; try a narrower window"
    else:
        reason = "Flowbot hit an internal error; the worker log has the details"
    log.error("job %s failed: %s: %s", job.id, exc_type.__name__, exc)
    try:
        client = bot_client(settings, team_id=target.team_id, enterprise_id=target.enterprise_id)
    except NotInstalledError as missing:
        log.warning("job %s failed and cannot be reported: %s", job.id, missing)
        return
    if (job.func_name or "").endswith("run_flow_job"):
        request = FlowRequest.model_validate(request_data)
        board = status_board(client, connection, target, settings)
        failed = StatusView(JobState.FAILED, request, target.job_id, target.user_id, finding=reason)
        reported = deliver_once(connection, target, lambda: finish(client, board, target, failed))
        note_query(connection, settings, target, request.text, "failed", reason)
        if reported:
            confirmed = job.args[2] if len(job.args) > 2 else None
            recorder = running_evidence(target.job_id) or EvidenceRecorder(
                settings, request, target, asked_at=job.created_at, started_at=job.started_at
            )
            recorder.confirmed_by = recorder.confirmed_by or confirmed
            recorder.record("failed", reason=reason)
        return
    deliver_once(connection, target, lambda: post_failure(client, target, asked, reason))
