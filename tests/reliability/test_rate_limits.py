"""Per-person and per-channel query limits: the limiter alone on the real Redis (under concurrent
threads), then through the real HTTP app processes, where a refused query is answered with one line and
not enqueued, and a Slack retry never takes a second slot."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from redis.exceptions import RedisError

from bot.queue.enqueue import FlowQueue
from bot.ratelimit import RateLimiter
from bot.redis_keys import RATELIMIT_USER_KEY
from bot.request import FlowRequest, ReplyTarget, Window
from bot.settings import Settings
from handlers.asking import Asker
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import WINDOW, event, interaction, serve, slash

QUEUE = "rq:queue:flowbot-e2e"
USER_LINE = re.compile(r"You have started 3 queries in the last minute; try again in (\d+) s\.")
CHANNEL_LINE = re.compile(r"This channel has started 5 queries in the last minute; try again in (\d+) s\.")


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def limiter(redis: Redis, users: int, channels: int, window_seconds: float = 60) -> RateLimiter:
    settings = Settings(user_queries_per_minute=users, channel_queries_per_minute=channels)
    return RateLimiter(redis, settings, window_seconds=window_seconds)


def all_at_once(count: int, attempt: object) -> list[str | None]:
    """Run `attempt(i)` in `count` threads released together; their answers in order."""
    barrier = threading.Barrier(count)
    answers: list[str | None] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        answers[i] = attempt(i)  # type: ignore[operator]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


# ---------------------------------------------------------------------------- the limiter on real Redis


def test_concurrent_queries_from_one_person_never_pass_the_limit(redis: Redis) -> None:
    limits = limiter(redis, users=5, channels=1000)
    answers = all_at_once(40, lambda i: limits.check("T0001", "C0INC", "U0AAA", request_id=f"r{i}"))
    assert sum(a is None for a in answers) == 5
    assert all(a is None or "You have started 5 queries" in a for a in answers)
    assert redis.zcard(RATELIMIT_USER_KEY.format(team="T0001", user="U0AAA")) == 5


def test_concurrent_queries_from_many_people_never_pass_the_channel_limit(redis: Redis) -> None:
    limits = limiter(redis, users=5, channels=7)
    answers = all_at_once(40, lambda i: limits.check("T0001", "C0INC", f"U{i:04d}", request_id=f"r{i}"))
    assert sum(a is None for a in answers) == 7
    assert all(a is None or "This channel has started 7 queries" in a for a in answers)


def test_one_request_checked_many_times_holds_one_slot(redis: Redis) -> None:
    limits = limiter(redis, users=2, channels=10)
    answers = all_at_once(10, lambda i: limits.check("T0001", "C0INC", "U0AAA", request_id="same"))
    assert answers == [None] * 10
    assert limits.check("T0001", "C0INC", "U0AAA", request_id="other") is None
    assert limits.check("T0001", "C0INC", "U0AAA", request_id="third") is not None


def test_a_refusal_takes_no_slot_and_says_when_to_retry(redis: Redis) -> None:
    limits = limiter(redis, users=2, channels=10)
    assert limits.check("T0001", "C0INC", "U0AAA") is None
    assert limits.check("T0001", "C0INC", "U0AAA") is None
    for _ in range(3):
        refusal = limits.check("T0001", "C0INC", "U0AAA")
        assert refusal is not None
        wait = re.search(r"try again in (\d+) s\.", refusal)
        assert wait is not None and 55 <= int(wait.group(1)) <= 60
    assert redis.zcard(RATELIMIT_USER_KEY.format(team="T0001", user="U0AAA")) == 2
    assert limits.check("T0001", "C0INC", "U0BBB") is None  # someone else in the channel
    assert limits.check("T0002", "C0INC", "U0AAA") is None  # the same ID in another workspace


def test_a_slot_frees_when_the_window_has_passed(redis: Redis) -> None:
    limits = limiter(redis, users=1, channels=10, window_seconds=0.5)
    assert limits.check("T0001", "C0INC", "U0AAA") is None
    refusal = limits.check("T0001", "C0INC", "U0AAA")
    assert refusal is not None and "try again in 1 s" in refusal  # never "0 s"
    time.sleep(0.6)
    assert limits.check("T0001", "C0INC", "U0AAA") is None


def test_a_query_that_could_not_be_enqueued_gives_its_slot_back(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(user_queries_per_minute=1, queue_name="flowbot-ratelimit-unit")
    queue = FlowQueue(redis, settings)
    asker = Asker(settings, queue)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    window = Window(start=now - timedelta(hours=1), end=now)
    request = FlowRequest(query="count", window=window, limit=10, text="count")
    target = ReplyTarget(team_id="T0001", channel_id="C0INC", user_id="U0AAA", job_id="job-unit-1")

    def down(*_: object) -> bool:
        raise RedisError("queue down")

    monkeypatch.setattr(queue, "submit", down)
    with pytest.raises(RedisError):
        asker.submit(request, target)
    assert redis.zcard(RATELIMIT_USER_KEY.format(team="T0001", user="U0AAA")) == 0
    monkeypatch.undo()
    assert asker.submit(request, target) is True
    assert asker.submit(request, target) is False  # the same request again: a retry, not a refusal


# ---------------------------------------------------------------------------- through the real app


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """The scenario environment with small limits: 3 queries a person, 5 a channel, per minute."""
    return {
        **env,
        "FLOWBOT_USER_QUERIES_PER_MINUTE": "3",
        "FLOWBOT_CHANNEL_QUERIES_PER_MINUTE": "5",
    }


def queued(redis_url: str) -> int:
    return int(Redis.from_url(redis_url).llen(QUEUE))


def ask(url: str, trigger: str, user: str = "U0AAA", channel: str = "C0INC") -> str:
    """A query by slash command; the acknowledgement's text ("" when the status message is the ack)."""
    status, body = slash(url, f"count {WINDOW}", trigger_id=trigger, user_id=user, channel_id=channel)
    assert status == 200
    return str(json.loads(body).get("text", "")) if body else ""


def mention(event_id: str, user: str = "U0AAA") -> dict[str, object]:
    return {
        "token": "unused",
        "team_id": "T0001",
        "api_app_id": "A0FLOWBOT",
        "event": {
            "type": "app_mention",
            "user": user,
            "text": f"<@U0BOT> count {WINDOW}",
            "ts": "1700000050.000200",
            "channel": "C0INC",
            "event_ts": "1700000050.000200",
        },
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000050,
        "authorizations": [{"user_id": "U0BOT", "is_bot": True, "team_id": "T0001"}],
    }


@pytest.mark.e2e
def test_the_fourth_query_in_a_minute_is_refused_and_not_enqueued(
    app_url: str, mock_slack: MockSlack, redis_url: str
) -> None:
    for text in ("help", "ratio 10.0.1", "context", "cancel 0123abcd"):  # none of these count
        slash(app_url, text, trigger_id=f"trig-free-{text}", response_url=mock_slack.response_url("free"))
    assert [ask(app_url, f"trig-rl-{i}") for i in range(3)] == ["", "", ""]
    refused = ask(app_url, "trig-rl-4")
    wait = USER_LINE.search(refused)
    assert wait is not None and 1 <= int(wait.group(1)) <= 60, refused
    assert queued(redis_url) == 3
    assert ask(app_url, "trig-rl-5", user="U0BBB") == ""  # another person in the channel is not limited
    assert queued(redis_url) == 4
    assert len(mock_slack.wait_for("chat.postMessage", count=4)) == 4


@pytest.mark.e2e
def test_the_channel_limit_applies_across_people(app_url: str, redis_url: str) -> None:
    answers = [ask(app_url, f"trig-ch-a{i}", user="U0AAA") for i in range(3)]
    answers += [ask(app_url, f"trig-ch-b{i}", user="U0BBB") for i in range(2)]
    assert answers == [""] * 5
    refused = ask(app_url, "trig-ch-c0", user="U0CCC")
    assert CHANNEL_LINE.search(refused), refused
    assert ask(app_url, "trig-ch-c1", user="U0CCC", channel="C0IR") == ""  # another channel is not
    assert queued(redis_url) == 6


@pytest.mark.e2e
def test_a_slack_retry_takes_no_second_slot(app_url: str, mock_slack: MockSlack, redis_url: str) -> None:
    assert [ask(app_url, "trig-retry-1") for _ in range(3)] == ["", "", ""]  # one request, delivered 3 times
    payload = mention("Ev0RETRY1")
    for retry in (None, 1, 2):
        assert event(app_url, payload, retry=retry)[0] == 200
    mock_slack.wait_for("chat.postMessage", count=2)  # the mention's status message: it was enqueued
    time.sleep(0.3)  # and its retries were handled
    assert queued(redis_url) == 2
    assert ask(app_url, "trig-retry-2") == ""  # the third slot
    assert USER_LINE.search(ask(app_url, "trig-retry-3"))
    assert queued(redis_url) == 3
    assert mock_slack.calls("chat.postEphemeral") == []


@pytest.mark.e2e
def test_every_entry_point_shows_the_line(app_url: str, mock_slack: MockSlack, redis_url: str) -> None:
    assert [ask(app_url, f"trig-ep-{i}") for i in range(3)] == ["", "", ""]

    assert event(app_url, mention("Ev0LIMIT1"))[0] == 200
    (told,) = mock_slack.wait_for("chat.postEphemeral")
    assert USER_LINE.search(told.params["text"]) and told.params["user"] == "U0AAA"
    assert told.params["thread_ts"] == "1700000050.000200"

    choice = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": "U0AAA"},
        "channel": {"id": "C0INC"},
        "container": {"type": "message", "is_ephemeral": True, "channel_id": "C0INC"},
        "response_url": mock_slack.response_url("limited"),
        "actions": [
            {
                "action_id": "flowbot_lookup",
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "ratio"},
                    "value": json.dumps({"q": "ratio", "ip": "10.0.1.25", "t": None}),
                },
                "action_ts": "9.9",
            }
        ],
    }
    assert interaction(app_url, choice)[0] == 200
    (responded,) = mock_slack.wait_for("response_url")
    assert USER_LINE.search(responded.params["text"]) and responded.params["response_type"] == "ephemeral"
    assert queued(redis_url) == 3


@pytest.mark.e2e
def test_the_limits_are_shared_by_every_app_process(env: dict[str, str], redis_url: str) -> None:
    first, second = serve(env), serve(env)
    one, two = next(first), next(second)
    try:
        assert [ask(one, "trig-two-1"), ask(two, "trig-two-2"), ask(one, "trig-two-3")] == ["", "", ""]
        assert USER_LINE.search(ask(two, "trig-two-4"))
        assert queued(redis_url) == 3
    finally:
        first.close()
        second.close()
