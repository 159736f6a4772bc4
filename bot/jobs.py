"""The job a worker runs for a Slack request, and the callback that reports a job that died.

Plain top-level functions with JSON-able arguments, as RQ wants them. Each builds what it needs
from settings; the Redis connection is the job's own.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from redis import Redis
from rq import get_current_job
from rq.job import Job
from rq.timeouts import JobTimeoutException

from bot.answer import answer
from bot.cancel import is_cancelled
from bot.catalog import load_catalog
from bot.delivery import (
    ReplyTarget,
    deliver_once,
    is_answered,
    post_answer,
    post_failure,
    post_ioc_reply,
    slack_client,
)
from bot.engines import EngineError, make_engine
from bot.iocs.actions import run_ioc_request
from bot.iocs.commands import IOC_REQUEST
from bot.iocs.objects import object_store_for
from bot.iocs.store import IocStore
from bot.request import FlowRequest
from bot.settings import Settings

log = logging.getLogger(__name__)
CANCELLED = "it was cancelled on request"


def _running_job(target: ReplyTarget) -> Job | None:
    """The RQ job being run, or None when its final answer is already in Slack (a re-run)."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("Flowbot's jobs run inside an RQ worker")
    return None if is_answered(job.connection, target) else job


def run_flow_job(request_data: dict[str, Any], target_data: dict[str, Any]) -> dict[str, Any]:
    """Run the query, post the summary and the CSV; post a clear failure if the engine cannot."""
    settings = Settings()
    request = FlowRequest.model_validate(request_data)
    target = ReplyTarget.model_validate(target_data)
    job = _running_job(target)
    if job is None:
        return {"status": "already answered"}
    client = slack_client(settings)
    if is_cancelled(job.connection, target.job_id):
        deliver_once(job.connection, target, lambda: post_failure(client, target, request.text, CANCELLED))
        return {"status": "cancelled"}
    try:
        engine = make_engine(settings)
        with tempfile.TemporaryDirectory(prefix="flowbot-") as tmp:
            csv_path = Path(tmp) / "result.csv"
            with csv_path.open("w", newline="", encoding="utf-8") as out:
                result = answer(
                    request,
                    catalog=load_catalog(),
                    engine=engine,
                    summary_rows=settings.summary_rows,
                    csv_out=out,
                    token=target.job_id,
                    should_cancel=lambda: is_cancelled(job.connection, target.job_id),
                )
            deliver_once(
                job.connection, target, lambda: post_answer(client, target, result.summary, csv_path)
            )
    except EngineError as exc:
        reason = str(exc)
        deliver_once(job.connection, target, lambda: post_failure(client, target, request.text, reason))
        return {"status": "failed", "reason": reason}
    stats = result.summary.stats
    return {"status": "answered", "rows": stats.rows, "bytes_scanned": stats.bytes_scanned}


def run_ioc_job(request_data: dict[str, Any], target_data: dict[str, Any], source: str) -> dict[str, Any]:
    """Change or read the indicator store for a Slack request; post the reply once, announce changes."""
    settings = Settings()
    request = IOC_REQUEST.validate_python(request_data)
    target = ReplyTarget.model_validate(target_data)
    job = _running_job(target)
    if job is None:
        return {"status": "already answered"}
    client = slack_client(settings)
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
        deliver_once(job.connection, target, lambda: post_ioc_reply(client, target, reply))
    announce_to = settings.ioc_announce_channel
    if reply.announce and announce_to and announce_to != target.channel_id:
        client.chat_postMessage(channel=announce_to, text=reply.announce, unfurl_links=False)
    return {"status": "answered", "kind": request.kind}


def report_failure(
    job: Job, connection: Redis, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """RQ's on_failure callback: the job raised or timed out; tell the channel, once."""
    request_data, target_data = job.args[0], job.args[1]
    target = ReplyTarget.model_validate(target_data)
    asked = str(request_data.get("text") or f"ioc {request_data.get('kind', '')}".strip())
    settings = Settings()
    if isinstance(exc, JobTimeoutException):
        reason = f"it ran longer than {settings.query_timeout_seconds} s; try a narrower window"
    else:
        reason = "Flowbot hit an internal error; the worker log has the details"
    log.error("job %s failed: %s: %s", job.id, exc_type.__name__, exc)
    client = slack_client(settings)
    deliver_once(connection, target, lambda: post_failure(client, target, asked, reason))
