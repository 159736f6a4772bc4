"""Recent queries in a real Redis: newest first, the newest N kept, updates in place, safe in parallel."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from redis import Redis

from bot.recent import MAX_TEXT, RecentQueries, RecentQuery
from bot.redis_keys import RECENT_JOB_KEY, RECENT_TTL_SECONDS, RECENT_USER_KEY

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def query(job: str, minute: int = 0, **fields: Any) -> RecentQuery:
    values: dict[str, Any] = {
        "job_id": job,
        "team_id": "T0001",
        "user_id": "U0AAA",
        "channel_id": "C0INC",
        "text": f"ratio 10.0.1.25 --last 6h #{job}",
        "status": "queued",
        "at": T0 + timedelta(minutes=minute),
    }
    return RecentQuery(**{**values, **fields})


def ids(queries: list[RecentQuery]) -> list[str]:
    return [q.job_id for q in queries]


def test_newest_first(redis: Redis) -> None:
    recent = RecentQueries(redis, keep=10)
    for job, minute in (("b", 2), ("a", 1), ("c", 3)):
        recent.record(query(job, minute))
    assert ids(recent.for_user("T0001", "U0AAA")) == ["c", "b", "a"]


def test_keeps_the_newest_n(redis: Redis) -> None:
    recent = RecentQueries(redis, keep=3)
    for minute in range(6):
        recent.record(query(f"j{minute}", minute))
    assert ids(recent.for_user("T0001", "U0AAA")) == ["j5", "j4", "j3"]
    assert redis.zcard(RECENT_USER_KEY.format(team_id="T0001", user_id="U0AAA")) == 3


def test_a_status_update_keeps_its_place_and_is_not_duplicated(redis: Redis) -> None:
    recent = RecentQueries(redis, keep=10)
    for job, minute in (("a", 1), ("b", 2), ("c", 3)):
        recent.record(query(job, minute))
    recent.record(query("a", 9, status="running"))
    recent.record(
        query("a", 10, status="answered", finding="10.0.1.25 sent 3x more", permalink="https://x/p1")
    )
    listed = recent.for_user("T0001", "U0AAA")
    assert ids(listed) == ["c", "b", "a"]
    answered = listed[2]
    assert answered.status == "answered"
    assert answered.finding == "10.0.1.25 sent 3x more"
    assert answered.permalink == "https://x/p1"
    assert answered.at == T0 + timedelta(minutes=1)  # when it was asked


def test_a_late_earlier_status_does_not_undo_the_answer(redis: Redis) -> None:
    recent = RecentQueries(redis, keep=10)
    recent.record(query("a", 1, status="answered", finding="done", permalink="https://x/p"))
    recent.record(query("a", 0, status="queued"))  # the listener's record arrived after the worker's
    recent.record(query("a", 2, status="running"))
    (only,) = recent.for_user("T0001", "U0AAA")
    assert (only.status, only.finding, only.permalink) == ("answered", "done", "https://x/p")


def test_a_trimmed_job_updated_later_stays_out(redis: Redis) -> None:
    recent = RecentQueries(redis, keep=2)
    for minute in range(3):
        recent.record(query(f"j{minute}", minute))
    recent.record(query("j0", 30, status="answered"))  # finished last, but was asked first
    assert ids(recent.for_user("T0001", "U0AAA")) == ["j2", "j1"]


def test_people_and_workspaces_are_kept_apart(redis: Redis) -> None:
    recent = RecentQueries(redis, keep=10)
    recent.record(query("a", 1))
    recent.record(query("b", 2, user_id="U0BBB"))
    recent.record(query("c", 3, team_id="T0002"))
    assert ids(recent.for_user("T0001", "U0AAA")) == ["a"]
    assert ids(recent.for_user("T0001", "U0BBB")) == ["b"]
    assert ids(recent.for_user("T0002", "U0AAA")) == ["c"]
    assert recent.for_user("T0001", "U0CCC") == []


def test_keys_expire(redis: Redis) -> None:
    RecentQueries(redis, keep=5).record(query("a"))
    for key in (RECENT_JOB_KEY.format(job_id="a"), RECENT_USER_KEY.format(team_id="T0001", user_id="U0AAA")):
        assert 0 < redis.ttl(key) <= RECENT_TTL_SECONDS


def test_expired_and_unreadable_records_are_left_out(redis: Redis) -> None:
    recent = RecentQueries(redis, keep=5)
    for job, minute in (("a", 1), ("b", 2), ("c", 3)):
        recent.record(query(job, minute))
    redis.delete(RECENT_JOB_KEY.format(job_id="a"))
    redis.set(RECENT_JOB_KEY.format(job_id="b"), "{not json")
    assert ids(recent.for_user("T0001", "U0AAA")) == ["c"]


def test_the_model_wants_utc_times_and_cuts_long_text() -> None:
    with pytest.raises(ValidationError):
        query("a", at=datetime(2026, 11, 20, 9, 0))  # naive on purpose
    local = query("a", at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC).astimezone())
    assert local.at.tzinfo == UTC
    long = query("a", text="x" * 5000, finding="y" * 5000)
    assert len(long.text) == MAX_TEXT and long.finding is not None and len(long.finding) == MAX_TEXT
    with pytest.raises(ValidationError):
        query("a", status="done")


def test_concurrent_records_from_many_threads(redis_url: str) -> None:
    """Eight threads, each with its own connection, record 30 jobs' three statuses in shuffled order."""
    keep, jobs = 5, 30
    updates = [
        query(f"j{n:02d}", n, status=status, finding="f" if status == "answered" else None)
        for n in range(jobs)
        for status in ("queued", "running", "answered")
    ]
    random.Random(7).shuffle(updates)
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def work(share: list[RecentQuery]) -> None:
        client = Redis.from_url(redis_url)
        try:
            recent = RecentQueries(client, keep)
            barrier.wait()
            for update in share:
                recent.record(update)
        except BaseException as exc:
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(updates[i::threads_count],)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors

    redis = Redis.from_url(redis_url)
    listed = RecentQueries(redis, keep).for_user("T0001", "U0AAA")
    assert ids(listed) == [f"j{n:02d}" for n in range(jobs - 1, jobs - 1 - keep, -1)]
    assert all(q.status == "answered" and q.finding == "f" for q in listed)
    assert redis.zcard(RECENT_USER_KEY.format(team_id="T0001", user_id="U0AAA")) == keep
    for q in listed:
        assert q.at == T0 + timedelta(minutes=int(q.job_id[1:]))
    redis.close()


def test_the_same_job_recorded_at_once_ends_answered(redis_url: str) -> None:
    """Many processes' worth of racing updates of one job: the furthest status always wins."""
    for round_ in range(20):
        Redis.from_url(redis_url).flushdb()
        statuses = ["queued", "running", "answered", "queued", "running"]
        random.Random(round_).shuffle(statuses)
        barrier = threading.Barrier(len(statuses))

        def work(status: str, barrier: threading.Barrier) -> None:
            client = Redis.from_url(redis_url)
            barrier.wait()
            RecentQueries(client, 3).record(
                query("same", 0, status=status, permalink="https://x/p" if status == "answered" else None)
            )
            client.close()

        threads = [threading.Thread(target=work, args=(s, barrier)) for s in statuses]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        redis = Redis.from_url(redis_url)
        (only,) = RecentQueries(redis, 3).for_user("T0001", "U0AAA")
        assert (only.status, only.permalink) == ("answered", "https://x/p")
        redis.close()
