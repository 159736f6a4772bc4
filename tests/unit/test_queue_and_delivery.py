"""Enqueue once per Slack request; post a final answer once per job (fakeredis for the unit)."""

from __future__ import annotations

from datetime import UTC, datetime

import fakeredis
import pytest

from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.queue.enqueue import FlowQueue, job_id_for
from bot.request import FlowRequest, ReplyTarget
from bot.settings import Settings
from bot.slack.delivery import deliver_once


def _request() -> FlowRequest:
    request = parse_command("ratio 10.0.1.25", load_catalog(), Settings(), datetime(2026, 11, 25, tzinfo=UTC))
    assert isinstance(request, FlowRequest)
    return request


def _target(request_id: str = "trigger-1") -> ReplyTarget:
    return ReplyTarget(team_id="T1", channel_id="C1", user_id="U1", job_id=job_id_for("T1", request_id))


def test_job_ids_are_stable_per_request_and_differ_between_requests() -> None:
    assert job_id_for("T1", "a") == job_id_for("T1", "a")
    assert job_id_for("T1", "a") != job_id_for("T1", "b")
    assert job_id_for("T1", "a") != job_id_for("T2", "a")


def test_the_same_request_is_enqueued_once() -> None:
    redis = fakeredis.FakeRedis()
    queue = FlowQueue(redis, Settings())
    assert queue.submit(_request(), _target()) is True
    assert queue.submit(_request(), _target()) is False
    assert queue.submit(_request(), _target("trigger-2")) is True
    assert queue.queue.count == 2
    job = queue.queue.fetch_job(_target().job_id)
    assert job is not None
    assert job.args[0]["query"] == "ratio" and job.args[1]["channel_id"] == "C1"


def test_a_failed_enqueue_forgets_the_request_so_a_retry_can_enqueue(monkeypatch: pytest.MonkeyPatch) -> None:
    redis = fakeredis.FakeRedis()
    queue = FlowQueue(redis, Settings())

    def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis went away")

    monkeypatch.setattr(queue.queue, "enqueue", broken)
    with pytest.raises(ConnectionError):
        queue.submit(_request(), _target())
    monkeypatch.undo()
    assert queue.submit(_request(), _target()) is True


def test_a_final_answer_is_posted_once_and_a_failed_post_can_be_retried() -> None:
    redis = fakeredis.FakeRedis()
    posts: list[str] = []

    def failing() -> None:
        raise RuntimeError("slack down")

    with pytest.raises(RuntimeError):
        deliver_once(redis, _target(), failing)
    assert deliver_once(redis, _target(), lambda: posts.append("answer")) is True
    assert deliver_once(redis, _target(), lambda: posts.append("again")) is False
    assert posts == ["answer"]
