"""The evidence log filled by the worker's job on the real Redis, in-process (RQ's SimpleWorker), the local
engine on the sample data and the recording mock Slack: one entry per job outcome, whatever the re-runs,
with the SHA-256 of the very bytes Slack received."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.job import JobStatus

from bot.evidence.records import EvidenceLog, EvidenceRecord
from bot.evidence.request import EvidenceRequest
from bot.iocs.objects import LocalObjectStore
from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.queue.cancel import CancelStatus
from bot.queue.enqueue import FlowQueue, job_id_for
from bot.redis_keys import ANSWERED_KEY
from bot.request import FlowRequest, ReplyTarget
from bot.settings import Settings
from tests.conftest import SAMPLE_END
from tests.mock_slack import MockSlack

QUEUE = "flowbot-evidence-it"
WINDOW = "--from 2026-11-19T00:00Z --to 2026-11-20T00:00Z"


@pytest.fixture
def mock_slack(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, sample_root: Path, tmp_path: Path
) -> Iterator[MockSlack]:
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    with MockSlack() as mock:
        monkeypatch.setenv("FLOWBOT_SLACK_BOT_TOKEN", "xoxb-test")
        monkeypatch.setenv("FLOWBOT_SLACK_API_URL", mock.base_url)
        monkeypatch.setenv("FLOWBOT_REDIS_URL", redis_url)
        monkeypatch.setenv("FLOWBOT_LOCAL_DATA_DIR", str(sample_root))
        monkeypatch.setenv("FLOWBOT_QUEUE_NAME", QUEUE)
        monkeypatch.setenv("FLOWBOT_UNDELIVERED_DIR", str(tmp_path / "undelivered"))
        monkeypatch.setenv("FLOWBOT_CHANNEL_POST_INTERVAL_SECONDS", "0.05")
        yield mock


def _submit(
    redis: Redis, request_id: str, text: str, channel: str = "C0INC"
) -> tuple[FlowRequest, ReplyTarget]:
    settings = Settings()
    request = parse_command(text, load_catalog(), settings, SAMPLE_END)
    assert isinstance(request, FlowRequest)
    target = ReplyTarget(
        team_id="T0001", channel_id=channel, user_id="U0AAA", job_id=job_id_for("T0001", request_id)
    )
    assert FlowQueue(redis, settings).submit(request, target)
    return request, target


def _work(redis: Redis) -> SimpleWorker:
    worker = SimpleWorker([QUEUE], connection=redis)
    worker.work(burst=True)
    return worker


def _entries(evidence_store: Path, channel: str = "C0INC") -> list[EvidenceRecord]:
    return [record for record, _ in EvidenceLog(LocalObjectStore(evidence_store)).channel("T0001", channel)]


def uploaded(mock: MockSlack) -> dict[str, bytes]:
    """Each file Slack received, by the name it was uploaded under."""
    return {
        str(call.params["filename"]): mock.uploads[str(call.response["file_id"])]
        for call in mock.calls("files.getUploadURLExternal")
        if call.ok
    }


def test_an_answer_is_kept_with_its_sql_scan_and_the_digest_of_the_csv_slack_received(
    mock_slack: MockSlack, redis_url: str, evidence_store: Path
) -> None:
    redis = Redis.from_url(redis_url)
    request, target = _submit(redis, "ev-answer-1", f"ratio 10.0.1.25 {WINDOW}")
    worker = _work(redis)
    job = worker.queues[0].fetch_job(target.job_id)
    result = job.return_value() if job is not None else None
    assert result is not None and result["status"] == "answered"
    (entry,) = _entries(evidence_store)
    (csv_bytes,) = [data for name, data in uploaded(mock_slack).items() if target.job_id[:8] in name]
    assert entry.csv_sha256 == hashlib.sha256(csv_bytes).hexdigest()
    assert entry.outcome == "answered" and entry.engine == "local" and entry.template == "ratio"
    assert entry.bytes_scanned == result["bytes_scanned"]
    assert entry.rows == result["rows"] == len(csv_bytes.decode().splitlines()) - 1
    assert entry.sql is not None and "$ip" in entry.sql  # DuckDB's SQL, values bound, never inlined
    assert "10.0.1.25" not in entry.sql
    assert isinstance(entry.sql_parameters, dict) and entry.sql_parameters["ip"] == "10.0.1.25"
    assert entry.parameters == {k: v if isinstance(v, int) else str(v) for k, v in request.bindings().items()}
    assert entry.query_id == target.job_id and entry.cost_usd is None
    assert entry.asked_by == "U0AAA" and entry.command == request.text
    assert entry.asked_at <= entry.started_at <= entry.finished_at  # type: ignore[operator]
    assert entry.permalink is not None and "C0INC" in entry.permalink


def test_a_job_run_twice_to_the_same_answer_keeps_one_entry(
    mock_slack: MockSlack, redis_url: str, evidence_store: Path
) -> None:
    redis = Redis.from_url(redis_url)
    _, target = _submit(redis, "ev-twice-1", f"count {WINDOW}")
    worker = _work(redis)
    (first,) = _entries(evidence_store)
    job = worker.queues[0].fetch_job(target.job_id)
    assert job is not None
    redis.delete(
        ANSWERED_KEY.format(job_id=target.job_id)
    )  # Redis lost the claim: the answer is posted again
    worker.queues[0].enqueue_job(job)
    worker.work(burst=True)
    assert [(r.return_value or {}).get("status") for r in job.results()] == ["answered", "answered"]
    assert len(mock_slack.calls("files.completeUploadExternal")) == 2
    assert _entries(evidence_store) == [first]  # the first run's entry, never rewritten


def test_a_failed_query_is_kept_with_its_reason(
    mock_slack: MockSlack,
    redis_url: str,
    evidence_store: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("FLOWBOT_LOCAL_DATA_DIR", str(tmp_path / "no-logs-here"))
    redis = Redis.from_url(redis_url)
    _submit(redis, "ev-fail-1", f"count {WINDOW}")
    _work(redis)
    (entry,) = _entries(evidence_store)
    assert entry.outcome == "failed" and entry.reason is not None and "no flow logs" in entry.reason
    assert entry.csv_sha256 is None and entry.rows is None


def test_a_crash_is_kept_once_by_the_failure_callback(
    mock_slack: MockSlack, redis_url: str, evidence_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("bot.worker.jobs.answer", crash)
    redis = Redis.from_url(redis_url)
    _submit(redis, "ev-crash-1", f"count {WINDOW}")
    _work(redis)  # RQ runs it again while retries are left; the callback speaks after the last
    (entry,) = _entries(evidence_store)
    assert (
        entry.outcome == "failed"
        and entry.reason == "Flowbot hit an internal error; the worker log has the details"
    )


def test_a_query_cancelled_before_it_ran_is_kept_with_who_cancelled_it(
    mock_slack: MockSlack, redis_url: str, evidence_store: Path
) -> None:
    redis = Redis.from_url(redis_url)
    _, target = _submit(redis, "ev-cancel-1", f"count {WINDOW}")
    queue = FlowQueue(redis, Settings())
    job = queue.queue.fetch_job(target.job_id)
    assert job is not None
    job.set_status(JobStatus.STARTED)  # as a worker would have it: the cancel asks it to stop
    assert queue.cancel(target.job_id[:8], "U0BOSS").status is CancelStatus.STOPPING
    job.set_status(JobStatus.QUEUED)
    _work(redis)
    (entry,) = _entries(evidence_store)
    assert (entry.outcome, entry.cancelled_by, entry.sql) == ("cancelled", "U0BOSS", None)


def test_the_export_posts_only_this_channels_entries(
    mock_slack: MockSlack, redis_url: str, evidence_store: Path
) -> None:
    redis = Redis.from_url(redis_url)
    _submit(redis, "ev-exp-1", f"count {WINDOW}")
    _submit(redis, "ev-exp-2", f"count {WINDOW}", channel="C0OTHER")
    _work(redis)
    target = ReplyTarget(
        team_id="T0001", channel_id="C0INC", user_id="U0BBB", job_id=job_id_for("T0001", "ev-x")
    )
    assert FlowQueue(redis, Settings()).submit_evidence(EvidenceRequest(), target)
    _work(redis)
    files = uploaded(mock_slack)
    today = datetime.now(UTC)
    rows = list(csv.DictReader(io.StringIO(files[f"evidence-C0INC-{today:%Y-%m-%d}.csv"].decode())))
    lines = files[f"evidence-C0INC-{today:%Y-%m-%d}.jsonl"].decode().splitlines()
    assert [r["channel_id"] for r in rows] == ["C0INC"] and len(lines) == 1
    assert json.loads(lines[0])["job_id"] == rows[0]["job_id"] == job_id_for("T0001", "ev-exp-1")
    summary = [c for c in mock_slack.calls("chat.postMessage") if "Evidence log" in str(c.params.get("text"))]
    assert len(summary) == 1 and "1 query" in summary[0].params["text"]
