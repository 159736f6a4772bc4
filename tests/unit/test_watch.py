"""Standing watches in parts: the words, the intervals' windows, the book in Redis and RQ's scheduled
registry, and what counts as a new finding. The whole path, with RQ's scheduler in a worker that restarts,
is tests/scenarios/test_watch.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from bot.parse.watch import parse_watch
from bot.query.catalog import load_catalog
from bot.queue.watch_book import WatchBook, interval_job_id
from bot.request import FlowRequest, ReplyTarget, Window
from bot.settings import Settings
from bot.watches import Watch, WatchCreate, WatchList, WatchStop
from bot.words import CommandError
from bot.worker.watch import NewFindings, finding_digest, finding_positions

CATALOG = load_catalog()
NOW = datetime(2026, 12, 7, 12, 0, 7, tzinfo=UTC)
SETTINGS = Settings(queue_name="flowbot-watch-unit", watches_per_channel=2)


def words(text: str) -> list[str]:
    return text.split()


# --- the words ----------------------------------------------------------------------------------------


def test_a_watch_is_any_query_and_an_interval() -> None:
    hunt = parse_watch(words("hunt every 15m"), CATALOG, SETTINGS, NOW)
    assert isinstance(hunt, WatchCreate) and hunt.every_seconds == 900 and hunt.request.query == "hunt"
    ratio = parse_watch(words("ratio 10.0.1.25 --region us-east-1 every 1h"), CATALOG, SETTINGS, NOW)
    assert isinstance(ratio, WatchCreate) and ratio.every_seconds == 3600
    assert str(ratio.request.params["ip"]) == "10.0.1.25" and ratio.request.region == "us-east-1"
    assert parse_watch(["list"], CATALOG, SETTINGS, NOW) == WatchList()
    assert parse_watch(["stop", "W3F2A9C1"], CATALOG, SETTINGS, NOW) == WatchStop("w3f2a9c1")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "watch` takes"),
        ("hunt", "needs its interval"),
        ("hunt every 15m --limit 5", "ends a watch"),
        ("hunt every 1m", "every 5m at the most often"),
        ("hunt every 2d", "at least once a day"),
        ("hunt every soon", "interval like 15m"),
        ("hunt --last 6h every 15m", "leave out --last"),
        ("ratio every 15m", "needs"),
        ("ratio 10.0.1.999 every 15m", "not an IP address"),
        ("stop 3f2a", "watch's id"),
        ("list all", "takes nothing more"),
    ],
)
def test_a_wrong_watch_gets_one_line_with_the_right_form(text: str, says: str) -> None:
    with pytest.raises(CommandError, match=says):
        parse_watch(words(text), CATALOG, SETTINGS, NOW)


# --- the intervals --------------------------------------------------------------------------------------


def watch(every: int = 900, lag: int = 600, days: int = 7, anchor: datetime = NOW) -> Watch:
    request = parse_watch(words(f"hunt every {every // 60}m"), CATALOG, Settings(), anchor)
    assert isinstance(request, WatchCreate)
    return Watch(
        id="w0000001",
        request=request.request,
        target=ReplyTarget(team_id="T1", channel_id="C1", user_id="U1", job_id="w0000001"),
        every_seconds=every,
        lag_seconds=lag,
        anchor=anchor.replace(microsecond=0),
        ends=anchor.replace(microsecond=0) + timedelta(days=days),
    )


@given(
    every=st.integers(min_value=5, max_value=1440).map(lambda m: m * 60),
    lag=st.integers(min_value=0, max_value=86400),
    n=st.integers(min_value=0, max_value=10_000),
)
def test_intervals_meet_with_no_gap_and_no_overlap(every: int, lag: int, n: int) -> None:
    w = watch(every, lag)
    assert w.window(n).end == w.window(n + 1).start
    assert w.window(n).end - w.window(n).start == timedelta(seconds=every)
    assert w.due(n) - w.window(n).end == timedelta(seconds=lag)
    assert w.interval_request(n).window == w.window(n)


def test_the_last_interval_is_the_last_due_by_the_watchs_end() -> None:
    w = watch(every=3600, lag=900, days=1)
    last = w.last_interval()
    assert last == 23
    assert w.due(last) <= w.ends < w.due(last + 1)


# --- the book -------------------------------------------------------------------------------------------


def target(trigger: str, channel: str = "C1") -> ReplyTarget:
    return ReplyTarget(team_id="T1", channel_id=channel, user_id="U1", job_id=trigger)


def create(book: WatchBook, trigger: str, channel: str = "C1") -> tuple[Watch, bool]:
    asked = parse_watch(words("hunt every 15m"), CATALOG, SETTINGS, NOW)
    assert isinstance(asked, WatchCreate)
    return book.create(asked, target(trigger, channel), NOW)


def test_a_watch_is_made_once_and_its_first_interval_scheduled_with_rq(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    book = WatchBook(redis, SETTINGS)
    made, fresh = create(book, "trigger-1")
    again, fresh_again = create(book, "trigger-1")  # Slack delivered the command again
    assert fresh and not fresh_again and again == made
    registry = ScheduledJobRegistry(queue=Queue(SETTINGS.queue_name, connection=redis))
    assert registry.get_job_ids() == [interval_job_id(made.id, 0)]
    when = registry.get_scheduled_time(interval_job_id(made.id, 0))
    assert when == made.due(0) == NOW.replace(microsecond=0) + timedelta(minutes=15)
    job = Job.fetch(interval_job_id(made.id, 0), connection=redis)
    assert job.func_name == "bot.worker.watch.run_watch_interval" and job.args == (made.id, 0)
    assert not book.schedule(made, 0), "one job per interval, however often a run asks"
    assert book.schedule(made, 1) and not book.schedule(made, 1)


def test_a_channel_has_a_bounded_number_of_watches_and_stops_them(redis_url: str) -> None:
    book = WatchBook(Redis.from_url(redis_url), SETTINGS)
    first, _ = create(book, "t-1")
    second, _ = create(book, "t-2")
    create(book, "t-9", channel="C2")  # another channel's
    with pytest.raises(CommandError, match="has 2 watches already"):
        create(book, "t-3")
    assert {w.id for w in book.channel_watches("T1", "C1", NOW)} == {first.id, second.id}
    with pytest.raises(CommandError, match="no watch"):
        book.stop(first.id, "T1", "C2", "U2", NOW)  # not from another channel
    book.stop(first.id, "T1", "C1", "U2", NOW)
    assert book.stopped_by(first.id) == "U2"
    registry = ScheduledJobRegistry(queue=book.queue)
    assert interval_job_id(first.id, 0) not in registry.get_job_ids()
    assert len(book.channel_watches("T1", "C1", NOW)) == 1
    create(book, "t-3")  # room again
    with pytest.raises(CommandError, match="already ended"):
        book.stop(first.id, "T1", "C1", "U2", NOW)


def test_an_ended_watch_is_not_listed(redis_url: str) -> None:
    book = WatchBook(Redis.from_url(redis_url), SETTINGS)
    made, _ = create(book, "t-1")
    assert book.channel_watches("T1", "C1", made.ends) == []


# --- new findings ---------------------------------------------------------------------------------------


def test_a_finding_is_what_a_row_names_not_its_counts_or_times() -> None:
    hunt, ratio = CATALOG["hunt"], CATALOG["ratio"]
    named = [hunt.columns[i].name for i in finding_positions(hunt)]
    assert "connecting_ip" in named and "indicator" in named and "direction" in named
    assert not {"numbytes", "numpackets", "starttime", "endtime"} & set(named)
    assert [ratio.columns[i].name for i in finding_positions(ratio)] == [
        "sourceaddress",
        "destinationaddress",
    ]


def test_only_rows_the_watch_has_not_posted_pass_once_each(redis_url: str) -> None:
    book = WatchBook(Redis.from_url(redis_url), SETTINGS)
    made, _ = create(book, "t-1")
    ratio = CATALOG["ratio"]
    a = ("10.0.1.25", "198.51.100.7", 3, 900, 300, "2026-12-07 11:00:00", "2026-12-07 11:10:00")
    a_later = ("10.0.1.25", "198.51.100.7", 9, 2700, 300, "2026-12-07 11:15:00", "2026-12-07 11:20:00")
    b = ("10.0.1.25", "203.0.113.9", 1, 60, 60, "2026-12-07 11:05:00", "2026-12-07 11:05:00")
    first = NewFindings(book, made, ratio)
    assert first([a, b, a_later]) == [a, b]  # the same pair twice in one interval: once
    book.remember(made, first.digests)
    second = NewFindings(book, made, ratio)
    c = ("10.0.1.26", "198.51.100.7", 1, 10, 10, "2026-12-07 11:20:00", "2026-12-07 11:20:00")
    assert second([a_later, c]) == [c]
    assert finding_digest(a, finding_positions(ratio)) == finding_digest(a_later, finding_positions(ratio))


def test_the_interval_request_is_a_typed_bounded_query() -> None:
    w = watch()
    request = w.interval_request(3)
    assert isinstance(request, FlowRequest) and isinstance(request.window, Window)
    assert request.window.end - request.window.start == timedelta(minutes=15)


def test_a_watch_takes_the_channels_account_and_region_but_never_its_window() -> None:
    from bot.parse.channel_context import ChannelContext

    context = ChannelContext(
        account="012345678901", region="eu-west-1", last="6h", set_by="U0AAA", set_at=NOW - timedelta(hours=1)
    )
    asked = parse_watch(words("ratio 10.0.1.25 every 15m"), CATALOG, SETTINGS, NOW, context)
    assert isinstance(asked, WatchCreate)
    assert (asked.request.account, asked.request.region) == ("012345678901", "eu-west-1")
    assert asked.request.context is not None and "6h" not in asked.request.context
