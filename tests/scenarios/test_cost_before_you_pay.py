"""Cost before you pay, end to end: the pre-flight estimate, the *Run it* question, the channel's daily
budget, on the real HTTP app with signed requests, a real Redis, worker processes and the mock Slack.

The local engine estimates from the files a window opens, so the checks run here on real gzip'd flow
logs; the expected estimate is the files' sizes, added up here from the folder tree.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.rendering.cells import human_bytes
from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import Row, expected_count
from tests.mock_slack import MockSlack, RecordedCall
from tests.scenarios.flowbot_processes import START, WINDOW, run_worker, slash
from tests.scenarios.test_slack_experience import blocks_of, buttons, press, table_cells

pytestmark = pytest.mark.e2e
DAYS = (f"{START:%Y/%m/%d}", f"{SAMPLE_END:%Y/%m/%d}")
SPAN = (int(START.timestamp()), int(SAMPLE_END.timestamp()))


def window_files(sample_root: Path) -> list[Path]:
    """The `.log.gz` files under the window's day folders (its day and the delivery margin's)."""
    days = {START.date(), SAMPLE_END.date()}
    return [
        p
        for p in (sample_root / "AWSLogs").glob("*/vpcflowlogs/*/*/*/*/*.log.gz")
        if date(*map(int, p.parent.parts[-3:])) in days
    ]


@pytest.fixture
def window_bytes(sample_root: Path) -> int:
    return sum(p.stat().st_size for p in window_files(sample_root))


@pytest.fixture
def env(env: dict[str, str], request: pytest.FixtureRequest, window_bytes: int) -> dict[str, str]:
    """Every query of this module asks first (1 byte is the threshold); a test may set a budget."""
    budget = getattr(request, "param", None)
    extra = {"FLOWBOT_CONFIRM_BYTES": "1"}
    if budget is not None:
        extra = {"FLOWBOT_CHANNEL_DAILY_BYTES": str(int(window_bytes * budget))}
    return {**env, **extra}


def asked(mock_slack: MockSlack) -> RecordedCall:
    """The status message's edit that asks *Run it?* (after "running", which the worker shows first)."""
    mock_slack.wait_for("chat.update")
    (question,) = [e for e in mock_slack.calls("chat.update") if "flowbot_confirm_run" in buttons(e)]
    return question


def after(mock_slack: MockSlack, edit: RecordedCall) -> RecordedCall:
    """The next edit of the same message."""
    count = mock_slack.calls("chat.update").index(edit) + 2
    return mock_slack.wait_for("chat.update", count=count)[count - 1]


def text_of(call: object) -> str:
    return json.dumps(blocks_of(call), ensure_ascii=False)  # type: ignore[arg-type]


def test_a_large_scan_asks_first_and_the_first_run_it_gets_one_answer(
    app_url: str,
    env: dict[str, str],
    mock_slack: MockSlack,
    oracle_rows: list[Row],
    sample_root: Path,
    window_bytes: int,
) -> None:
    slash(app_url, f"count {WINDOW}", trigger_id="trig-confirm-1")
    (queued,) = mock_slack.wait_for("chat.postMessage")
    run_worker(env)
    question = asked(mock_slack)
    files = len(window_files(sample_root))
    assert f"`count {WINDOW}` would scan {human_bytes(window_bytes)} in {files:,} files. Run it?" in text_of(
        question
    )
    assert set(buttons(question)) == {"flowbot_confirm_run", "flowbot_confirm_drop"}
    assert len(mock_slack.calls("chat.postMessage")) == 1  # asked, not answered

    press(app_url, question, "flowbot_confirm_run", user="U0BBB", response_url=mock_slack.response_url("run"))
    queued_again = after(mock_slack, question)
    assert "is queued" in text_of(queued_again) and "run by <@U0BBB> after the cost check" in text_of(
        queued_again
    )
    press(
        app_url, question, "flowbot_confirm_run", user="U0CCC", response_url=mock_slack.response_url("late")
    )
    (late,) = mock_slack.wait_for("response_url")
    assert late.params["response_type"] == "ephemeral" and "That question is settled" in late.params["text"]

    run_worker(env)
    answer = mock_slack.wait_for("chat.postMessage", count=2)[1]
    assert answer.params["thread_ts"] == queued.response["ts"]
    assert table_cells(answer)[1] == [f"{expected_count(oracle_rows, *SPAN, *DAYS):,}"]
    run_worker(env)  # nothing left to run: the late click queued nothing
    assert len(mock_slack.calls("chat.postMessage")) == 2
    assert len(mock_slack.calls("files.completeUploadExternal")) == 1


def test_dont_run_ends_the_question_as_cancelled_and_nothing_runs(
    app_url: str, env: dict[str, str], mock_slack: MockSlack
) -> None:
    slash(app_url, f"count {WINDOW}", trigger_id="trig-confirm-2")
    mock_slack.wait_for("chat.postMessage")
    run_worker(env)
    question = asked(mock_slack)
    press(
        app_url, question, "flowbot_confirm_drop", user="U0DDD", response_url=mock_slack.response_url("drop")
    )
    dropped = after(mock_slack, question)
    assert "was cancelled by <@U0DDD>" in text_of(dropped) and buttons(dropped) == {}
    press(
        app_url, question, "flowbot_confirm_run", user="U0EEE", response_url=mock_slack.response_url("after")
    )
    (told,) = mock_slack.wait_for("response_url")
    assert "That question is settled" in told.params["text"]
    run_worker(env)
    assert len(mock_slack.calls("chat.postMessage")) == 1  # the status message alone


@pytest.mark.parametrize("env", [1.5], indirect=True)
def test_a_channel_past_its_daily_budget_is_refused_with_what_is_left(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, window_bytes: int
) -> None:
    slash(app_url, f"count {WINDOW}", trigger_id="trig-budget-1")
    run_worker(env)
    assert len(mock_slack.wait_for("chat.postMessage", count=2)) == 2  # the first fits: answered

    slash(app_url, f"count {WINDOW}", trigger_id="trig-budget-2")
    second = mock_slack.wait_for("chat.postMessage", count=3)[2]
    run_worker(env)
    refused = [e for e in mock_slack.calls("chat.update") if e.params["ts"] == second.response["ts"]][-1]
    budget = int(window_bytes * 1.5)
    said = text_of(refused)
    assert (
        f"this channel has {human_bytes(budget - window_bytes)} left of its daily {human_bytes(budget)}"
        in said
    )
    assert len(mock_slack.calls("chat.postMessage")) == 3  # no answer for the second
