"""The pre-flight cost checks: the estimate from object sizes (moto's S3 and a local folder), the
channel budget (fakeredis), parked confirmations, snapped windows, and the words they are shown in."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import fakeredis
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from bot.query.catalog import load_catalog
from bot.query.engines.estimate import estimate_local, estimate_s3, partition_prefixes, spread
from bot.query.engines.local import LocalEngine
from bot.query.results import Estimate, ScanStats
from bot.queue.confirmations import PendingConfirmations
from bot.redis_keys import BUDGET_TTL_SECONDS
from bot.rendering.cost import estimate_phrase, scan_phrase
from bot.rendering.status import JobState, StatusView
from bot.request import FlowRequest, Window
from bot.settings import Settings
from bot.worker.budget import ChannelBudget, Refusal, Reservation
from bot.worker.preflight import Cleared, NeedsConfirmation, OverBudget, preflight
from tests.conftest import SAMPLE_END, fake_aws_environment

BUCKET = "org-flow-logs"
ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1")
TODAY = date(2026, 11, 20)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "engine": "athena",
        "athena_region": "us-east-1",
        "flow_logs_bucket": BUCKET,
        "flow_logs_prefix": "central",
        "accounts": ",".join(ACCOUNTS),
        "regions": ",".join(REGIONS),
        "first_day": "2026-11-01",
    }
    values.update(overrides)
    return Settings(**values)


def request(start: datetime, hours: int, **scope: Any) -> FlowRequest:
    window = Window(start=start, end=start + timedelta(hours=hours))
    return FlowRequest(query="count", window=window, limit=10, text="count", **scope)


# --- which folders a window opens -------------------------------------------------------------------


def test_the_prefixes_are_the_projections_folders_for_the_window_with_its_delivery_margin() -> None:
    got = partition_prefixes(settings(), request(datetime(2026, 11, 18, 22, tzinfo=UTC), 1), TODAY)
    days = ["2026/11/18", "2026/11/19"]  # the window's day and the next (files are foldered by delivery)
    assert got == [
        f"central/AWSLogs/{a}/vpcflowlogs/{r}/{d}/" for a in ACCOUNTS for r in REGIONS for d in days
    ]


def test_a_named_account_and_region_open_only_their_folders_and_days_outside_the_projection_none() -> None:
    scoped = request(datetime(2026, 10, 30, tzinfo=UTC), 24 * 4, account=ACCOUNTS[1], region="eu-west-1")
    got = partition_prefixes(settings(), scoped, TODAY)
    # Oct 30-31 are before FLOWBOT_FIRST_DAY (Nov 1): the projection has no such partitions
    assert got == [f"central/AWSLogs/{ACCOUNTS[1]}/vpcflowlogs/eu-west-1/2026/11/{d:02d}/" for d in (1, 2, 3)]
    future = request(datetime(2026, 11, 20, tzinfo=UTC), 1)
    assert {
        p.rsplit("/", 4)[1:4] == ["2026", "11", "20"] for p in partition_prefixes(settings(), future, TODAY)
    } == {True}  # the 21st is after NOW


@given(st.lists(st.integers(), min_size=1, max_size=300, unique=True), st.integers(1, 400))
def test_spread_takes_evenly_spaced_distinct_items_and_all_when_it_may(items: list[int], count: int) -> None:
    texts = [str(i) for i in items]
    picked = spread(texts, count)
    assert len(picked) == min(count, len(texts)) and len(set(picked)) == len(picked)
    assert [t for t in texts if t in set(picked)] == picked  # in order
    assert picked[0] == texts[0]


# --- the estimate from S3 (moto) ----------------------------------------------------------------------


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    fake_aws_environment(monkeypatch, tmp_path, "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def put(s3: Any, key: str, size: int) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"x" * size)


def folder(account: str, region: str, day: str) -> str:
    return f"central/AWSLogs/{account}/vpcflowlogs/{region}/{day}/"


def test_the_estimate_adds_the_sizes_of_the_objects_in_the_windows_folders_only(s3: Any) -> None:
    inside = [
        (folder(ACCOUNTS[0], "us-east-1", "2026/11/18"), 1000),
        (folder(ACCOUNTS[0], "us-east-1", "2026/11/19"), 2000),  # the delivery margin's day
        (folder(ACCOUNTS[1], "eu-west-1", "2026/11/18"), 3000),
    ]
    outside = [
        (folder(ACCOUNTS[0], "us-east-1", "2026/11/17"), 50_000),  # the day before
        (folder(ACCOUNTS[0], "ap-south-1", "2026/11/18"), 70_000),  # a region not configured
        (f"central/AWSLogs/{ACCOUNTS[0]}/vpcflowlogs/us-east-1/2026/11/180/", 90_000),  # a longer name
        (f"elsewhere/AWSLogs/{ACCOUNTS[0]}/vpcflowlogs/us-east-1/2026/11/18/", 110_000),
    ]
    for n, (where, size) in enumerate(inside + outside):
        put(s3, f"{where}{n}.log.gz", size)
    got = estimate_s3(s3, settings(), request(datetime(2026, 11, 18, 6, tzinfo=UTC), 2), TODAY)
    assert got == Estimate(bytes=6000, objects=3, prefixes=8)


def test_past_its_bound_the_estimate_extrapolates_from_the_folders_it_listed(s3: Any) -> None:
    days = [f"2026/11/{d:02d}" for d in range(1, 11)]
    for account in ACCOUNTS:
        for region in REGIONS:
            for day in days:
                put(s3, f"{folder(account, region, day)}a.log.gz", 100)
    wide = request(datetime(2026, 11, 1, tzinfo=UTC), 24 * 9)  # 10 days with the margin: 40 folders
    calls: list[str] = []
    s3.meta.events.register(
        "before-call.s3.ListObjectsV2", lambda **kw: calls.append(kw["params"]["query_string"]["prefix"])
    )
    got = estimate_s3(s3, settings(estimate_max_lists=10), wide, TODAY)
    assert len(calls) == 10  # the bound: one call for each folder listed
    assert {c.split("/")[2] for c in calls} == set(ACCOUNTS)  # spread over the accounts, not the first one
    assert got.prefixes == 40 and got.listed == 10 and not got.complete
    assert got.bytes == 4000 and got.objects == 40  # every folder alike: the extrapolation is exact
    assert "extrapolated from 10 of 40 folders" in estimate_phrase(got, 5.0)


def test_a_folder_with_more_pages_than_its_share_gives_a_floor(s3: Any) -> None:
    where = folder(ACCOUNTS[0], "us-east-1", "2026/11/18")
    for n in range(1001):  # ListObjectsV2 returns at most 1,000 keys a call
        put(s3, f"{where}{n:04d}.log.gz", 1)
    scoped = request(datetime(2026, 11, 18, 1, tzinfo=UTC), 1, account=ACCOUNTS[0], region="us-east-1")
    got = estimate_s3(s3, settings(estimate_max_lists=2), scoped, TODAY)  # two folders, one call each
    assert got.objects == 1000 and not got.complete and got.listed is None
    assert estimate_phrase(got, None).startswith("at least 1.0 KB in 1,000 files")


def test_a_listing_refused_is_one_clear_line(s3: Any) -> None:
    with pytest.raises(Exception, match=r"could not list s3://nope/central/AWSLogs/.* NoSuchBucket"):
        estimate_s3(
            s3, settings(flow_logs_bucket="nope"), request(datetime(2026, 11, 18, tzinfo=UTC), 1), TODAY
        )


# --- the local estimate ------------------------------------------------------------------------------


def test_the_local_estimate_is_the_size_of_every_file_in_the_windows_day_folders(sample_root: Path) -> None:
    window = request(SAMPLE_END - timedelta(hours=30), 6)
    got = estimate_local(sample_root, window)
    days = {window.window.start.date() + timedelta(days=i) for i in range(3)} & set(window.window.days())
    files = [
        p
        for p in (sample_root / "AWSLogs").glob("*/vpcflowlogs/*/*/*/*/*.log.gz")
        if date(*map(int, p.parent.parts[-3:])) in days
    ]
    assert files and got.objects == len(files) and got.bytes == sum(p.stat().st_size for p in files)
    for path in files[:3]:
        gzip.decompress(path.read_bytes())  # real gzip'd flow-log files


# --- the budget (fakeredis) ----------------------------------------------------------------------------


def test_the_budget_books_estimates_settles_scans_and_refuses_past_it() -> None:
    redis = fakeredis.FakeRedis()
    budget = ChannelBudget(redis, 1000, now=datetime(2026, 11, 20, 23, tzinfo=UTC))
    first = budget.reserve("T1", "C1", "job-a", 600)
    assert isinstance(first, Reservation)
    assert budget.reserve("T1", "C1", "job-a", 600) == first  # the same job again: not booked twice
    assert budget.reserve("T1", "C1", "job-b", 500) == Refusal(spent=600, wanted=500, budget=1000)
    budget.settle(first, 100)  # it scanned less than estimated
    assert isinstance(budget.reserve("T1", "C1", "job-b", 500), Reservation)
    assert budget.spent("T1", "C1") == 600 and budget.spent("T1", "C1", without="job-b") == 100
    assert budget.spent("T1", "C2") == 0  # another channel has its own
    assert 0 < redis.ttl(first.key) <= BUDGET_TTL_SECONDS
    tomorrow = ChannelBudget(redis, 1000, now=datetime(2026, 11, 21, 0, 1, tzinfo=UTC))
    assert tomorrow.spent("T1", "C1") == 0


def test_without_a_budget_everything_is_booked_and_nothing_refused() -> None:
    budget = ChannelBudget(fakeredis.FakeRedis(), None)
    assert isinstance(budget.reserve("T1", "C1", "job-a", 10**15), Reservation)


def test_a_parked_query_is_taken_once() -> None:
    parked = PendingConfirmations(fakeredis.FakeRedis(), ttl_seconds=60)
    parked.park("job-a", {"query": "count"}, {"job_id": "job-a"})
    assert parked.waiting("job-a")
    assert parked.take("job-a") == ({"query": "count"}, {"job_id": "job-a"})
    assert parked.take("job-a") is None and not parked.waiting("job-a")


# --- the decision ---------------------------------------------------------------------------------------


def decide(sample_root: Path, budget: ChannelBudget, confirmed: bool = False, **overrides: Any) -> object:
    values = {"engine": "local", "local_data_dir": str(sample_root), **overrides}
    asked = request(SAMPLE_END - timedelta(hours=30), 6)
    return preflight(
        LocalEngine(sample_root),
        load_catalog()["count"],
        asked,
        settings=Settings(**values),
        budget=budget,
        team_id="T1",
        channel_id="C1",
        job_id="job-a",
        confirmed=confirmed,
    )


def test_preflight_asks_above_the_threshold_refuses_past_the_budget_and_books_what_goes(
    sample_root: Path,
) -> None:
    size = estimate_local(sample_root, request(SAMPLE_END - timedelta(hours=30), 6)).bytes
    redis = fakeredis.FakeRedis()
    free = ChannelBudget(redis, None)
    assert isinstance(decide(sample_root, free, confirm_bytes=size - 1), NeedsConfirmation)
    assert isinstance(decide(sample_root, free, confirm_bytes=size), Cleared)  # not above it
    cleared = decide(sample_root, free, confirmed=True, confirm_bytes=1)
    assert isinstance(cleared, Cleared) and cleared.reservation is not None
    tight = ChannelBudget(fakeredis.FakeRedis(), size - 1)
    refused = decide(sample_root, tight, confirmed=True)
    assert isinstance(refused, OverBudget)  # even when confirmed: the budget is not a question
    assert "left of its daily" in refused.reason() and "FLOWBOT_CHANNEL_DAILY_BYTES" in refused.reason()


def test_the_json_table_has_no_partitions_and_gets_no_estimate(tmp_path: Path) -> None:
    got = LocalEngine(tmp_path).estimate(
        load_catalog()["json_count"], request(datetime(2026, 11, 18, tzinfo=UTC), 1)
    )
    assert got is None


# --- snapped windows -----------------------------------------------------------------------------------


@given(
    st.integers(1_700_000_000, 1_900_000_000),
    st.integers(1, 90 * 86400),
)
def test_a_snapped_window_holds_the_asked_one_on_the_five_minute_grid(start: int, length: int) -> None:
    asked = Window(start=datetime.fromtimestamp(start, UTC), end=datetime.fromtimestamp(start + length, UTC))
    snapped = asked.snapped()
    assert snapped.from_ts <= asked.from_ts and snapped.to_ts >= asked.to_ts
    assert snapped.from_ts % 300 == 0 and snapped.to_ts % 300 == 0
    assert snapped.from_ts > asked.from_ts - 300 and snapped.to_ts < asked.to_ts + 300
    assert snapped.snapped() == snapped


# --- the words -----------------------------------------------------------------------------------------


def test_the_phrases_say_how_sure_the_figure_is_and_what_it_costs() -> None:
    tib = 1 << 40
    exact = Estimate(bytes=2 * tib, objects=4210, prefixes=30)
    assert estimate_phrase(exact, 5.0) == "about 2.2 TB in 4,210 files (~$10.00)"
    assert estimate_phrase(exact, None) == "2.2 TB in 4,210 files"  # local: what it will open, for free
    assert scan_phrase(ScanStats(bytes_scanned=12_000_000, files_scanned=None, cost_usd=0.0001)) == (
        "scanned 12.0 MB (< $0.01)"
    )


def test_the_question_offers_run_it_and_dont_run_and_a_failure_says_what_it_cost() -> None:
    asked = request(datetime(2026, 11, 18, tzinfo=UTC), 1)
    question = StatusView(
        JobState.CONFIRM, asked, "f" * 32, "U1", estimate="about 2.2 TB in 4,210 files (~$10.00)"
    )
    assert (
        question.line()
        == ":money_with_wings: `count` would scan about 2.2 TB in 4,210 files (~$10.00). Run it?"
    )
    assert [(b["action_id"], b["value"]) for b in question.buttons()] == [
        ("flowbot_confirm_run", "f" * 32),
        ("flowbot_confirm_drop", "f" * 32),
    ]
    failed = StatusView(
        JobState.FAILED, asked, "f" * 32, "U1", finding="stopped", spent="scanned 1.0 GB ($0.01)"
    )
    assert failed.line().endswith("could not be answered: stopped · scanned 1.0 GB ($0.01)")
    cancelled = StatusView(
        JobState.CANCELLED, asked, "f" * 32, "U1", cancelled_by="U2", spent="scanned 5 B (< $0.01)"
    )
    assert cancelled.line().endswith("was cancelled by <@U2> · scanned 5 B (&lt; $0.01)")
    running = StatusView(JobState.RUNNING, asked, "f" * 32, "U1", confirmed_by="U3")
    assert "run by <@U3> after the cost check" in running.line()
