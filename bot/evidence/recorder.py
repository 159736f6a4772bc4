"""The hook the worker calls: gather what one run of a query sent, read and delivered, then keep its entry.

A recorder is made when a job starts. The engine tells it the exact SQL and values it sends
(`RunControl.on_sent`) and the query id (`on_start`); delivery tells it the CSV's SHA-256 and the
answer's permalink; `record` writes the entry once the outcome is known. Nothing here may fail or
delay an answer: `record` is called after the answer is in Slack, and any error is logged and dropped.

The failure callback (`report_failure`) may run in the process that ran the job (a timeout) or in
another (a worker that died): `running(job_id)` gives it the job's recorder when there is one, so a
timed-out query's entry still carries its SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.evidence.records import EvidenceLog, EvidenceRecord, Outcome
from bot.iocs.objects import LocalObjectStore, ObjectStore, S3ObjectStore
from bot.query.results import ScanStats, SentQuery, scan_cost
from bot.request import FlowRequest, ReplyTarget
from bot.settings import Settings

log = logging.getLogger(__name__)
S3_TIMEOUT_SECONDS = 10
"""How long an evidence write may wait on S3 per attempt: it comes after the answer, but holds the worker."""

_running: dict[str, EvidenceRecorder] = {}


def utc_now() -> datetime:
    """The recorder's default clock."""
    return datetime.now(UTC)


def evidence_store_for(settings: Settings) -> ObjectStore:
    """Where entries are kept: FLOWBOT_EVIDENCE_STORE, else the IOC store (`s3://bucket/prefix` or a
    folder)."""
    location = settings.evidence_store or settings.ioc_store
    if location.startswith("s3://"):
        import boto3  # only the S3 store needs it (the `athena` extra)
        from botocore.config import Config

        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        config = Config(
            connect_timeout=S3_TIMEOUT_SECONDS, read_timeout=S3_TIMEOUT_SECONDS, retries={"max_attempts": 3}
        )
        client = boto3.client("s3", region_name=settings.athena_region, config=config)
        return S3ObjectStore(client, bucket, prefix)
    return LocalObjectStore(Path(location).expanduser())


def running(job_id: str) -> EvidenceRecorder | None:
    """The recorder of a job this process is running (for its failure callback), if any."""
    return _running.get(job_id)


class EvidenceRecorder:
    """What one run of one query sent, read and delivered; `record` keeps it as the job's entry."""

    def __init__(
        self,
        settings: Settings,
        request: FlowRequest,
        target: ReplyTarget,
        *,
        asked_at: datetime | None,
        started_at: datetime | None = None,
        confirmed_by: str | None = None,
        store: Callable[[Settings], ObjectStore] = evidence_store_for,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.request = request
        self.target = target
        self.clock = clock
        self.started_at = started_at or clock()
        self.asked_at = asked_at or self.started_at
        self.confirmed_by = confirmed_by
        self._store = store
        self.sent: SentQuery | None = None
        self.query_id: str | None = None
        self.csv_sha256: str | None = None
        self.permalink: str | None = None
        self.was_delivered = False
        """This run posted the answer (its entry is then this run's to keep)."""
        self.done = False
        _running[target.job_id] = self

    def on_sent(self, query: SentQuery) -> None:
        """The engine's hook (`RunControl.on_sent`): the SQL and values exactly as sent."""
        self.sent = query

    def on_start(self, query_id: str) -> None:
        """The engine's hook (`RunControl.on_start`): its query id (operators find the query by it)."""
        log.info("engine query started: %s", query_id)
        self.query_id = query_id

    def delivered(self, csv_sha256: str | None, permalink: str | None) -> None:
        """What Slack took: the CSV's SHA-256 (as uploaded) and a link to the answer."""
        self.csv_sha256 = csv_sha256
        self.permalink = permalink
        self.was_delivered = True

    def entry(
        self,
        outcome: Outcome,
        *,
        stats: ScanStats | None = None,
        reason: str | None = None,
        cancelled_by: str | None = None,
    ) -> EvidenceRecord:
        """The entry this run makes for `outcome` (`stats`: what the query read, when it ran)."""
        engine = self.settings.engine
        sent = self.sent
        parameters: list[str] | dict[str, str | int] | None = None
        if sent is not None:
            parameters = dict(sent.named) if sent.named or engine == "local" else list(sent.positional)
        query_id = self.query_id
        if query_id is None and sent is not None and engine == "local":
            query_id = self.target.job_id  # the local engine's token: it has no id of its own
        cost: float | None = None
        if stats is not None:
            cost = stats.cost_usd
            if cost is None and engine == "athena":
                cost = scan_cost(stats.bytes_scanned, self.settings.athena_price_per_tb)
        bindings = {
            name: value if isinstance(value, int) else str(value)
            for name, value in self.request.bindings().items()
        }
        return EvidenceRecord(
            team_id=self.target.team_id,
            channel_id=self.target.channel_id,
            job_id=self.target.job_id,
            outcome=outcome,
            reason=reason,
            asked_by=self.target.user_id,
            confirmed_by=self.confirmed_by,
            cancelled_by=cancelled_by,
            asked_at=self.asked_at,
            started_at=self.started_at,
            finished_at=self.clock(),
            command=self.request.text,
            template=self.request.query,
            engine=engine,
            sql=sent.sql if sent is not None else None,
            sql_parameters=parameters,
            parameters=bindings,
            context=self.request.context,
            query_id=query_id,
            bytes_scanned=stats.bytes_scanned if stats is not None else None,
            cost_usd=cost,
            rows=stats.rows if stats is not None and outcome in ("answered", "undelivered") else None,
            csv_sha256=self.csv_sha256,
            permalink=self.permalink,
        )

    def record(
        self,
        outcome: Outcome,
        *,
        stats: ScanStats | None = None,
        reason: str | None = None,
        cancelled_by: str | None = None,
    ) -> None:
        """Keep this run's entry, once (FLOWBOT_EVIDENCE_ENABLED); never raises: an answer already given
        must not turn into a failure for its evidence. A job's later outcome in this run is not kept."""
        if self.done:
            return
        self.done = True
        _running.pop(self.target.job_id, None)
        if not self.settings.evidence_enabled:
            return
        try:
            entry = self.entry(outcome, stats=stats, reason=reason, cancelled_by=cancelled_by)
            EvidenceLog(self._store(self.settings)).write(entry)
        except Exception:  # an evidence store that is down or refuses: say so in the log, answer on
            log.exception("job %s: could not keep its evidence entry (%s)", self.target.job_id, outcome)
