"""An answer Slack refused is delivered once Slack recovers: in the status message's thread, with its CSV, the
status message edited to it and the asker told; once, however many sweeps run, and two at a time.

Real parts: `flowbot serve` and a `flowbot worker` process answer while Slack refuses every post (the mock's
outage), the test Redis, the answer kept on disk; then the sweep (`resend_due`, as the workers run it, or
`flowbot undelivered resend` processes) once Slack takes posts again.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis

from bot.settings import Settings
from bot.worker.redelivery import resend_due
from tests.flowlog_oracle import RATIO_COLUMNS, Row
from tests.mock_slack import MockSlack, RecordedCall
from tests.scenarios.flowbot_processes import WINDOW, run_worker, slash, window_ratio

pytestmark = pytest.mark.e2e
ASKER = "U0AAA"
QUESTION = f"ratio 10.0.1.25 {WINDOW}"


def kept_while_slack_is_down(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, undelivered: Path, trigger: str
) -> tuple[RecordedCall, Path]:
    """The status message, then a worker answering while Slack refuses every chat.postMessage: the answer
    is kept. Slack is back up when this returns."""
    slash(app_url, QUESTION, trigger_id=trigger)
    (status,) = mock_slack.wait_for("chat.postMessage")
    mock_slack.down("chat.postMessage", status=503)
    run_worker({**env, "FLOWBOT_UNDELIVERED_DIR": str(undelivered)})
    mock_slack.up()
    assert [c.ok for c in mock_slack.calls("chat.postMessage")] == [True] + [False] * 9  # 3 forms, 3 tries
    assert "Slack would not take it" in json.dumps(mock_slack.calls("chat.update")[-1].json_param("blocks"))
    (kept,) = list(undelivered.iterdir())
    return status, kept


def in_thread(mock: MockSlack, status: RecordedCall) -> list[RecordedCall]:
    return [
        c
        for c in mock.calls("chat.postMessage")
        if c.ok and c.params.get("thread_ts") == status.response["ts"]
    ]


def shared_csv(mock: MockSlack) -> list[list[str]]:
    (shared,) = [c for c in mock.calls("files.completeUploadExternal") if c.ok]
    (file,) = shared.json_param("files")
    return list(csv.reader(io.StringIO(mock.uploads[file["id"]].decode())))


def expected_csv(oracle_rows: list[Row]) -> list[list[str]]:
    rows = window_ratio(oracle_rows, "10.0.1.25")
    assert rows
    return [list(RATIO_COLUMNS), *[["" if v is None else str(v) for v in row] for row in rows]]


def settings_of(env: dict[str, str], undelivered: Path) -> Settings:
    return Settings(
        slack_bot_token=env["FLOWBOT_SLACK_BOT_TOKEN"],
        slack_api_url=env["FLOWBOT_SLACK_API_URL"],
        redis_url=env["FLOWBOT_REDIS_URL"],
        undelivered_dir=undelivered,
        channel_post_interval_seconds=0.05,
    )


def test_a_kept_answer_is_delivered_once_when_slack_takes_posts_again(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row], tmp_path: Path
) -> None:
    undelivered = tmp_path / "undelivered"
    status, kept = kept_while_slack_is_down(app_url, env, mock_slack, undelivered, "trig-redeliver-1")
    about = json.loads((kept / "about.json").read_text())
    assert about["kind"] == "answer" and about["status_ts"] == about["answer_thread"] == status.response["ts"]
    assert about["target"]["user_id"] == ASKER and about["target"]["channel_id"] == "C0INC"
    settings, redis = settings_of(env, undelivered), Redis.from_url(env["FLOWBOT_REDIS_URL"])
    calls_before = len(mock_slack.calls())

    assert resend_due(settings, redis) == []  # kept a moment ago: the first try is a minute away
    assert len(mock_slack.calls()) == calls_before
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert [o.line() for o in resend_due(settings, redis, now=later)] == [f"{kept.name[:8]} delivered"]

    (answer,) = in_thread(mock_slack, status)
    first, finding, *rest = answer.params["text"].split("\n")
    assert first.startswith("_Delivered late: Slack would not take this answer at ") and first.endswith(
        " UTC._"
    )
    expected = window_ratio(oracle_rows, "10.0.1.25")
    assert finding.startswith("*10.0.1.25 sent") and expected[0][1] in finding
    heading = rest.index(next(line for line in rest if line.split()[:2] == ["src", "dst"]))
    table = rest[heading + 1 : rest.index("", heading)]
    assert [line.split()[:2] for line in table] == [[s, d] for s, d, *_ in expected[:10]]
    assert shared_csv(mock_slack) == expected_csv(oracle_rows)
    (shared,) = [c for c in mock_slack.calls("files.completeUploadExternal") if c.ok]
    assert shared.params["thread_ts"] == status.response["ts"]
    final = mock_slack.calls("chat.update")[-1]
    assert final.params["ts"] == status.response["ts"]
    said = json.dumps(final.json_param("blocks"))
    assert expected[0][1] in final.params["text"] and "delivered late" in said
    assert "could not be answered" not in said
    (told,) = mock_slack.dms(ASKER)
    assert kept.name[:8] in told["text"] and "ratio 10.0.1.25" in told["text"]
    assert (
        "Slack would not take the answer" in told["text"]
        and status.response["ts"].replace(".", "") in told["text"]
    )
    assert not kept.exists()

    calls_after = len(mock_slack.calls())
    assert resend_due(settings, redis, now=later + timedelta(hours=1), force=True) == []
    assert len(mock_slack.calls()) == calls_after


def test_two_sweeps_at_once_deliver_a_kept_answer_once(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, oracle_rows: list[Row], tmp_path: Path
) -> None:
    undelivered = tmp_path / "undelivered"
    status, kept = kept_while_slack_is_down(app_url, env, mock_slack, undelivered, "trig-redeliver-2")
    mock_slack.slow_next("chat.postMessage", 8)  # the first sweep is still sending when the second looks
    sweep = [sys.executable, "-m", "bot.cli", "undelivered", "resend"]
    sweeper_env = {**env, "FLOWBOT_UNDELIVERED_DIR": str(undelivered)}
    sweeps = [
        subprocess.Popen(sweep, env=sweeper_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [s.communicate(timeout=90) for s in sweeps]
    assert [s.returncode for s in sweeps] == [0, 0], results
    said = sorted(out.strip() for out, _ in results)
    job = kept.name[:8]
    assert said == [f"{job} delivered", f"{job} not tried: another sweep is sending it"], results
    assert len(in_thread(mock_slack, status)) == 1
    assert shared_csv(mock_slack) == expected_csv(oracle_rows)
    assert len(mock_slack.dms(ASKER)) == 1
    assert not kept.exists()
