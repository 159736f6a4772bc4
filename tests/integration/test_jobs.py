"""The worker's job on the real Redis, in-process (RQ's SimpleWorker), for the paths a scenario cannot
reach from outside: a job that crashes is reported once by the on_failure callback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.job import JobStatus

from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.queue.cancel import CancelStatus
from bot.queue.enqueue import FlowQueue, job_id_for
from bot.request import FlowRequest, ReplyTarget
from bot.settings import Settings
from tests.mock_slack import MockSlack


@pytest.fixture
def mock_slack(monkeypatch: pytest.MonkeyPatch, redis_url: str, sample_root: Path) -> Iterator[MockSlack]:
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    with MockSlack() as mock:
        monkeypatch.setenv("FLOWBOT_SLACK_BOT_TOKEN", "xoxb-test")
        monkeypatch.setenv("FLOWBOT_SLACK_API_URL", mock.base_url)
        monkeypatch.setenv("FLOWBOT_REDIS_URL", redis_url)
        monkeypatch.setenv("FLOWBOT_LOCAL_DATA_DIR", str(sample_root))
        yield mock


def _submit(redis: Redis, request_id: str) -> ReplyTarget:
    settings = Settings()
    request = parse_command("count --last 1h", load_catalog(), settings, datetime(2026, 11, 19, tzinfo=UTC))
    assert isinstance(request, FlowRequest)
    target = ReplyTarget(team_id="T1", channel_id="C1", user_id="U1", job_id=job_id_for("T1", request_id))
    assert FlowQueue(redis, settings).submit(request, target)
    return target


def test_a_crashing_job_is_reported_once(
    mock_slack: MockSlack, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[int] = []

    def crash(*args: object, **kwargs: object) -> None:
        runs.append(1)
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("bot.worker.jobs.answer", crash)
    redis = Redis.from_url(redis_url)
    _submit(redis, "crash-1")
    SimpleWorker([Settings().queue_name], connection=redis).work(burst=True)
    assert len(runs) == 1 + Settings().job_retries  # RQ ran it again while retries were left
    (status,) = mock_slack.calls("chat.postMessage")  # posted by the worker: no listener did
    edits = mock_slack.calls("chat.update")
    assert {e.params["ts"] for e in edits} == {status.response["ts"]}
    failed = [e for e in edits if "could not be answered" in json.dumps(e.json_param("blocks"))]
    assert len(failed) == 1 and failed[0] is edits[-1]  # said once, after the last run
    said = json.dumps(failed[0].json_param("blocks"))
    assert "could not be answered: Flowbot hit an internal error" in said
    assert "boom" not in said


def test_a_job_run_twice_answers_once(mock_slack: MockSlack, redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    target = _submit(redis, "twice-1")
    worker = SimpleWorker([Settings().queue_name], connection=redis)
    worker.work(burst=True)
    job = worker.queues[0].fetch_job(target.job_id)
    assert job is not None and job.is_finished
    worker.queues[0].enqueue_job(job)  # as if a worker had died after posting and RQ ran the job again
    worker.work(burst=True)
    assert [r.return_value["status"] for r in job.results()] == ["already answered", "answered"]
    assert len(mock_slack.calls("chat.postMessage")) == 2  # the status message and the answer


def test_a_running_job_asked_to_stop_answers_that_it_was_cancelled(
    mock_slack: MockSlack, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url)
    target = _submit(redis, "stop-1")
    queue = FlowQueue(redis, Settings())
    job = queue.queue.fetch_job(target.job_id)
    assert job is not None
    job.set_status(JobStatus.STARTED)  # as a worker would have it while the query runs
    outcome = queue.cancel(target.job_id[:8], "U9")
    assert outcome.status is CancelStatus.STOPPING
    job.set_status(JobStatus.QUEUED)
    SimpleWorker([Settings().queue_name], connection=redis).work(burst=True)
    (posted,) = mock_slack.calls("chat.postMessage")
    assert "could not be answered: it was cancelled on request" in posted.params["text"]
