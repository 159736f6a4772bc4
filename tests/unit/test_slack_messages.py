"""What Flowbot sends Slack stays inside Slack's limits: tables, status messages, pages, pacing."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis

from bot.rendering.status import JobState, StatusView
from bot.rendering.table import MAX_ROWS, MAX_TABLE_CHARS, Grid, monospace, table_block
from bot.request import FlowRequest, Window
from bot.settings import Settings
from bot.slack.pacing import BURST, ChannelPacer
from bot.slack.pages import ResultPages
from handlers.buttons import wider
from tests.mock_slack import _block_problems

END = datetime(2026, 11, 20, tzinfo=UTC)


def request(hours: int = 24, text: str = "ratio 10.0.1.25") -> FlowRequest:
    window = Window(start=END - timedelta(hours=hours), end=END)
    return FlowRequest(query="ratio", params={"ip": "10.0.1.25"}, window=window, limit=100, text=text)  # type: ignore[dict-item]


def grid(rows: int, width: int = 4, cell: str = "10.0.1.25") -> Grid:
    return Grid([f"h{i}" for i in range(width)], [[cell] * width for _ in range(rows)], [False] * width)


def test_a_table_block_is_cut_to_slacks_row_and_character_limits() -> None:
    block = table_block(grid(500))
    assert block is not None and len(block["rows"]) == MAX_ROWS
    assert _block_problems([block]) == []
    wide = table_block(grid(100, cell="x" * 200))
    assert wide is not None
    assert sum(len(c["text"]) for row in wide["rows"] for c in row) <= MAX_TABLE_CHARS
    assert all(len(c["text"]) <= 80 for row in wide["rows"] for c in row)
    assert _block_problems([wide]) == []


def test_empty_cells_are_never_sent_and_no_rows_means_no_table() -> None:
    block = table_block(Grid(["a", "b"], [["", "1"]], [False, True]))
    assert block is not None and block["rows"][1][0]["text"] == "·"
    assert block["column_settings"] == [{"align": "left"}, {"align": "right"}]
    assert table_block(Grid(["a"], [], [False])) is None
    assert monospace(Grid(["a"], [], [False])) == ""


def test_monospace_aligns_numbers_right() -> None:
    text = monospace(
        Grid(["ip", "bytes"], [["10.0.0.1", "1.0 KB"], ["10.0.0.200", "12.5 MB"]], [False, True])
    )
    assert text.splitlines() == ["ip            bytes", "10.0.0.1     1.0 KB", "10.0.0.200  12.5 MB"]


def test_the_status_message_offers_the_buttons_of_its_state() -> None:
    base = {"request": request(), "job_id": "a" * 32, "asked_by": "U1"}
    queued = StatusView(JobState.QUEUED, position=2, **base)  # type: ignore[arg-type]
    assert "2 ahead in the queue" in queued.line()
    assert [b["action_id"] for b in queued.buttons()] == ["flowbot_cancel"]
    done = StatusView(JobState.ANSWERED, finding="10.0.1.25 sent 4.2 GB", more_rows=True, **base)  # type: ignore[arg-type]
    assert [b["action_id"] for b in done.buttons()] == ["flowbot_next_rows", "flowbot_rerun_wider"]
    rerun = FlowRequest.model_validate_json(done.buttons()[1]["value"])
    assert rerun == base["request"]
    cancelled = StatusView(JobState.CANCELLED, cancelled_by="U2", **base)  # type: ignore[arg-type]
    assert "cancelled by <@U2>" in cancelled.line() and cancelled.buttons() == []
    for view in (queued, done, cancelled):
        assert _block_problems(view.blocks()) == []


def test_each_edit_of_the_status_message_has_buttons_under_a_new_block_id() -> None:
    base = {"request": request(), "job_id": "a" * 32, "asked_by": "U1"}
    views = [
        StatusView(JobState.QUEUED, position=2, **base),  # type: ignore[arg-type]
        StatusView(JobState.RUNNING, **base),  # type: ignore[arg-type]
        StatusView(JobState.RUNNING, scanned=10_000_000, **base),  # type: ignore[arg-type]
        StatusView(JobState.ANSWERED, finding="done", **base),  # type: ignore[arg-type]
        StatusView(JobState.ANSWERED, finding="done", more_rows=True, **base),  # type: ignore[arg-type]
    ]
    ids = [next(b["block_id"] for b in v.blocks() if b["type"] == "actions") for v in views]
    assert len(set(ids)) == len(ids) and all(i.startswith("flowbot-job-aaaaaaaa-") for i in ids)
    assert all(len(i) <= 255 for i in ids)  # Block Kit's block_id limit


def test_user_text_in_a_status_message_is_escaped() -> None:
    view = StatusView(JobState.FAILED, request(text="count <!channel>"), "b" * 32, "U1", finding="a & b")
    shown = [b for b in view.blocks() if b["type"] != "actions"]  # button values are data, not text
    text = json.dumps(shown)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "a &amp; b" in text


def test_rerun_wider_doubles_the_window_up_to_the_longest_allowed() -> None:
    settings = Settings(max_window_days=3)
    doubled = wider(request(hours=24), settings)
    assert doubled is not None
    assert doubled.window.end == END and doubled.window.start == END - timedelta(hours=48)
    assert doubled.text == "ratio 10.0.1.25 --from 2026-11-18T00:00Z --to 2026-11-20T00:00Z"
    again = wider(doubled, Settings(max_window_days=30))
    assert (
        again is not None and again.text == "ratio 10.0.1.25 --from 2026-11-16T00:00Z --to 2026-11-20T00:00Z"
    )
    capped = wider(request(hours=48), settings)
    assert capped is not None and capped.window.start == END - timedelta(days=3)
    assert wider(request(hours=72), settings) is None


def test_pages_hand_out_consecutive_pages_then_none(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    pages = ResultPages(redis, page_size=10)
    rows = Grid(["n"], [[str(i)] for i in range(1, 36)], [True])
    assert pages.keep("job1", rows, shown=10) is True
    seen = []
    while (page := pages.next_page("job1")) is not None:
        found, first, more = page
        seen.append((first, [r[0] for r in found.rows], more))
    assert seen == [
        (11, [str(i) for i in range(11, 21)], True),
        (21, [str(i) for i in range(21, 31)], True),
        (31, [str(i) for i in range(31, 36)], False),
    ]
    assert pages.keep("job2", Grid(["n"], [["1"]], [True]), shown=10) is False
    assert pages.next_page("job2") is None


def test_pages_pressed_at_once_are_never_the_same_page(redis_url: str) -> None:
    pages = ResultPages(Redis.from_url(redis_url), page_size=1)
    pages.keep("job", Grid(["n"], [[str(i)] for i in range(60)], [True]), shown=10)
    firsts: list[int] = []

    def press() -> None:
        page = pages.next_page("job")
        if page is not None:
            firsts.append(page[1])

    threads = [threading.Thread(target=press) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(firsts) == list(range(11, 61))


def test_posts_to_one_channel_are_paced_across_processes_with_a_short_burst(redis_url: str) -> None:
    interval = 0.2  # at most BURST (3) posts in any 0.6 s
    pacers = [ChannelPacer(Redis.from_url(redis_url), interval) for _ in range(2)]  # two workers
    started = time.monotonic()
    waits = [pacers[i % 2].wait("C1") for i in range(7)]
    elapsed = time.monotonic() - started
    assert waits[:BURST] == pytest.approx([0, 0, 0], abs=0.05)  # a job's status, summary and note
    assert elapsed >= 2 * interval * BURST - 0.05  # posts 4-6 waited one window, post 7 another
    assert ChannelPacer(Redis.from_url(redis_url), interval).wait("C2") == pytest.approx(0, abs=0.05)


class MustWait(Exception):
    """Raised by a test's sleep: this post was told to wait."""


def test_no_more_than_the_burst_passes_at_once_from_many_threads(redis_url: str) -> None:
    def refuse(seconds: float) -> None:
        raise MustWait(seconds)

    outcomes: list[str] = []

    def post() -> None:
        try:
            ChannelPacer(Redis.from_url(redis_url), 1.0, sleep=refuse).wait("C3")
            outcomes.append("posted")
        except MustWait:
            outcomes.append("waits")

    threads = [threading.Thread(target=post) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["posted"] * BURST + ["waits"] * (10 - BURST)


def test_a_pacer_that_must_not_wait_never_sleeps(redis_url: str) -> None:
    def refuse(seconds: float) -> None:
        raise MustWait(seconds)

    listener = ChannelPacer(Redis.from_url(redis_url), 1.0, max_wait_seconds=0.0, sleep=refuse)
    assert [listener.wait("C4") for _ in range(BURST + 2)] == pytest.approx([0.0] * (BURST + 2), abs=0.05)
    assert Redis.from_url(redis_url).zcard("flowbot:pace:C4") == BURST  # its posts still count
