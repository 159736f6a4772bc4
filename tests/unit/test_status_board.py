"""One status message per job, whoever gets there first: the listener, the worker, or both at once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from slack_sdk import WebClient

from bot.rendering.status import JobState, StatusView
from bot.request import FlowRequest, Window
from bot.slack.pacing import ChannelPacer
from bot.slack.status_board import ATTACH_WAIT_SECONDS, StatusBoard
from tests.mock_slack import MockSlack

END = datetime(2026, 11, 20, tzinfo=UTC)
REQUEST = FlowRequest(
    query="count", window=Window(start=END - timedelta(hours=1), end=END), limit=10, text="count --last 1h"
)


@pytest.fixture
def slack() -> Iterator[MockSlack]:
    with MockSlack() as mock:
        yield mock


def board(
    slack: MockSlack, redis_url: str, job: str = "job1", channel: str = "C1", **kw: float
) -> StatusBoard:
    redis = Redis.from_url(redis_url)
    return StatusBoard(
        WebClient(token="xoxb-test", base_url=slack.base_url),
        redis,
        job_id=job,
        channel_id=channel,
        thread_ts=None,
        pacer=ChannelPacer(redis, 0),
        min_interval_seconds=kw.get("interval", 5.0),
    )


def view(state: JobState) -> StatusView:
    return StatusView(state, REQUEST, "job1", "U1")


def test_the_worker_edits_the_message_the_listener_posted(slack: MockSlack, redis_url: str) -> None:
    listener, worker = board(slack, redis_url), board(slack, redis_url)
    ts = listener.open(view(JobState.QUEUED))
    assert worker.ensure(view(JobState.RUNNING)) == ts
    (posted,) = slack.calls("chat.postMessage")
    (edited,) = slack.calls("chat.update")
    assert edited.params["ts"] == posted.response["ts"] == ts
    assert "is running" in json.dumps(edited.json_param("blocks"))


def test_a_worker_that_starts_first_posts_it_and_the_listener_posts_nothing(
    slack: MockSlack, redis_url: str
) -> None:
    worker, listener = board(slack, redis_url), board(slack, redis_url)
    ts = worker.ensure(view(JobState.RUNNING))
    assert listener.open(view(JobState.QUEUED)) == ts
    assert len(slack.calls("chat.postMessage")) == 1
    assert slack.calls("chat.update") == []  # "queued" must not overwrite "running"


def test_both_at_once_post_exactly_one_message(slack: MockSlack, redis_url: str) -> None:
    for attempt in range(10):
        slack.reset()
        boards = [board(slack, redis_url, job=f"race{attempt}") for _ in range(2)]
        found: list[str | None] = []

        def race(status: StatusBoard, into: list[str | None] = found) -> None:
            into.append(status.ensure(view(JobState.RUNNING)))

        threads = [threading.Thread(target=race, args=(b,)) for b in boards]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(slack.calls("chat.postMessage")) == 1
        assert found[0] == found[1] is not None


def test_a_channel_flowbot_may_not_post_in_is_remembered_as_such(slack: MockSlack, redis_url: str) -> None:
    slack.without_bot("G0PRIV")  # private: chat:write.public does not reach it
    listener = board(slack, redis_url, channel="G0PRIV")
    assert listener.open(view(JobState.QUEUED)) is None and listener.unpostable()
    worker = board(slack, redis_url, channel="G0PRIV")
    assert worker.ensure(view(JobState.RUNNING)) is None
    assert len(slack.calls("chat.postMessage")) == 1  # the worker did not try again


def test_progress_edits_are_throttled_but_final_ones_are_not(slack: MockSlack, redis_url: str) -> None:
    status = board(slack, redis_url, interval=60)
    status.open(view(JobState.QUEUED))
    status.show(view(JobState.RUNNING))
    status.show(view(JobState.RUNNING))
    assert slack.calls("chat.update") == []  # within a minute of the post
    status.show(view(JobState.ANSWERED), force=True)
    assert len(slack.calls("chat.update")) == 1


def test_a_queued_post_that_lands_after_the_answer_edits_itself_to_the_final_state(
    slack: MockSlack, redis_url: str
) -> None:
    """Issue #16: Slack held the listener's "queued" post past the worker's wait for it; the job ended
    meanwhile; the late message then read "queued" for good. It now edits itself to the final state."""
    listener, worker = board(slack, redis_url), board(slack, redis_url)
    slack.slow_next("chat.postMessage", ATTACH_WAIT_SECONDS + 2)
    late = threading.Thread(target=listener.open, args=(view(JobState.QUEUED),))
    late.start()
    while not slack.arrived("chat.postMessage"):  # the post is under way, its answer held back
        time.sleep(0.02)
    assert worker.ensure(view(JobState.RUNNING)) is None  # gave up waiting for its ts
    done = StatusView(JobState.ANSWERED, REQUEST, "job1", "U1", finding="42 flow-log records")
    worker.show(done, force=True)
    late.join()
    (posted,) = slack.calls("chat.postMessage")
    edits = slack.calls("chat.update")
    assert [e.params["ts"] for e in edits] == [posted.response["ts"]]
    assert "42 flow-log records" in json.dumps(edits[0].json_param("blocks"))
