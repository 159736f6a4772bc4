"""`flowbot undelivered list|resend` as an operator runs them: the console script in its own process, on kept
answers in a folder, the test Redis and the mock Slack."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.request import ReplyTarget
from bot.settings import Settings
from bot.worker.undelivered import About, keep_reply, write_about
from tests.mock_slack import MockSlack, child_env

DUE = "0123456789abcdef0123456789abcdef"
WAITING = "1111111122222222333333334444444a"
OLD = "99999999aaaaaaaabbbbbbbbcccccccc"
LEGACY = "legacy0000000000000000000000000"
LONG_QUESTION = "hunt --last 6h --account 111122223333 --region eu-west-1 --limit 500"


def flowbot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "undelivered", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def environment(slack: MockSlack, redis_url: str, folder: Path) -> dict[str, str]:
    return child_env(
        FLOWBOT_SLACK_BOT_TOKEN="xoxb-test",
        FLOWBOT_SLACK_API_URL=slack.base_url,
        FLOWBOT_REDIS_URL=redis_url,
        FLOWBOT_UNDELIVERED_DIR=str(folder),
    )


def keep(folder: Path, job: str, asked: str, at: datetime, **changes: object) -> Path:
    settings = Settings(undelivered_dir=folder)
    target = ReplyTarget(team_id="T0001", channel_id="C0INC", user_id="U0AAA", job_id=job)
    kept = keep_reply(
        settings, target, asked=asked, text=f"{asked}: done", csv_path=None, why="HTTP 503", now=at
    )
    if changes:
        about = About.model_validate_json((kept / "about.json").read_bytes())
        write_about(kept, about.model_copy(update=changes))
    return kept


def keep_legacy(folder: Path) -> Path:
    kept = folder / LEGACY
    kept.mkdir(parents=True)
    (kept / "summary.txt").write_text("found\n")
    (kept / "about.json").write_text(json.dumps({"job_id": LEGACY, "asked": "count", "why": "no_permission"}))
    return kept


def test_list_says_of_each_kept_answer_when_it_was_kept_and_what_happens_next(
    slack: MockSlack, redis_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "undelivered"
    now = datetime.now(UTC)
    keep(folder, DUE, "count --last 1h", now - timedelta(minutes=10))
    retry_at = now + timedelta(hours=1)
    keep(folder, WAITING, LONG_QUESTION, now - timedelta(hours=2, minutes=5, seconds=30), attempts=3)
    with_retry = folder / WAITING / "about.json"
    record = json.loads(with_retry.read_text())
    with_retry.write_text(json.dumps({**record, "next_attempt_at": retry_at.isoformat()}))
    keep(folder, OLD, "top dst", datetime(2025, 1, 2, 3, 4, tzinfo=UTC), attempts=1)
    keep_legacy(folder)
    done = flowbot(environment(slack, redis_url, folder), "list")
    assert done.returncode == 0, done.stderr
    lines = {line[:8]: line.split("  ") for line in done.stdout.splitlines()}
    assert set(lines) == {DUE[:8], WAITING[:8], OLD[:8], LEGACY[:8]}
    old = lines[OLD[:8]]
    assert old[:5] == ["99999999", "kept 2025-01-02 03:04 UTC", old[2], "1 attempt", "gave up"]
    assert old[5:] == ["`top dst`", "why: HTTP 503"]
    waiting = lines[WAITING[:8]]
    assert waiting[2] == "age 2h05m" and waiting[3] == "3 attempts"
    assert waiting[4].startswith("next ") and waiting[4].endswith(f"{retry_at:%H:%M} UTC")
    assert waiting[5] == "`hunt --last 6h --account 111122223333 -…`"  # cut to 40 characters
    due = lines[DUE[:8]]
    assert due[2:5] == ["age 10m", "0 attempts", "next: now"]
    legacy = lines[LEGACY[:8]]
    assert legacy[1:5] == [
        "kept ?",
        "age ?",
        "0 attempts",
        "not re-sent by the workers: kept by an older version",
    ]
    assert legacy[6] == "why: no_permission"
    assert slack.calls() == []


def test_list_of_nothing_says_so(slack: MockSlack, redis_url: str, tmp_path: Path) -> None:
    done = flowbot(environment(slack, redis_url, tmp_path / "none"), "list")
    assert done.returncode == 0 and done.stdout.startswith("no kept answers in ")


def test_resend_sends_the_named_answers_now_whatever_their_wait(
    slack: MockSlack, redis_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "undelivered"
    now = datetime.now(UTC)
    keep(folder, DUE, "ioc add 203.0.113.7", now)  # its first try is a minute away: resend does not wait
    other = keep(folder, WAITING, "ioc remove 203.0.113.8", now)
    env = environment(slack, redis_url, folder)
    done = flowbot(env, "resend", DUE[:8])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "01234567 delivered\n"
    reply, dm = slack.calls("chat.postMessage")
    assert reply.params["channel"] == "C0INC" and reply.params["text"].endswith("\nioc add 203.0.113.7: done")
    assert dm.params["channel"] == "U0AAA" and "(job 01234567)" in dm.params["text"]
    assert not (folder / DUE).exists() and other.exists()


def test_resend_exits_1_when_slack_refuses_or_a_job_is_not_kept(
    slack: MockSlack, redis_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "undelivered"
    kept = keep(folder, DUE, "ioc add 203.0.113.7", datetime.now(UTC))
    keep_legacy(folder)
    env = environment(slack, redis_url, folder)
    slack.down("chat.postMessage", status=400)
    refused = flowbot(env, "resend")
    assert refused.returncode == 1
    assert refused.stdout.splitlines() == [  # oldest first: the legacy folder's time is when it was made
        "01234567 failed: Slack refused it (fatal_error, HTTP 400)",
        "legacy00 cannot resend: no target recorded",
    ]
    assert kept.exists()
    about = json.loads((kept / "about.json").read_text())
    assert about["attempts"] == 1
    slack.up()
    missing = flowbot(env, "resend", "abcdef12")
    assert missing.returncode == 1 and "no kept answer of job abcdef12" in missing.stderr
    assert flowbot(env, "resend", DUE[:4]).stdout == "01234567 delivered\n"
