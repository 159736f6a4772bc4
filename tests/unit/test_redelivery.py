"""Kept answers sent again: when one is due, how long after a refusal, when the workers give up, and that each
is delivered once (the job's final-answer claim, the sweeper's lock). Against the mock Slack over HTTP and
fakeredis; times are fixed, so every expected value is written out here."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest

from bot.redis_keys import ANSWERED_KEY, RESENDING_KEY
from bot.rendering.summary import Summary
from bot.request import ReplyTarget
from bot.settings import Settings
from bot.worker.redelivery import next_wait, resend_due, standing
from bot.worker.undelivered import About, keep_reply, keep_undelivered, read_about
from tests.mock_slack import MockSlack
from tests.summaries import ratio_summary

KEPT_AT = datetime(2026, 11, 25, 14, 7, tzinfo=UTC)
JOB = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
STATUS_TS = "1690000000.000100"
CSV_TEXT = "sourceaddress,destinationaddress\n10.0.1.25,203.0.113.66\n"


@pytest.fixture
def settings(slack: MockSlack, tmp_path: Path) -> Settings:
    return Settings(
        slack_bot_token="xoxb-test",
        slack_api_url=slack.base_url,
        undelivered_dir=tmp_path / "undelivered",
        undelivered_retry_seconds=60,
        undelivered_max_attempts=20,
        undelivered_max_age_hours=24,
        channel_post_interval_seconds=0,  # no pacing: its Lua script needs a real Redis
    )


@pytest.fixture
def redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


def summary(rows: int = 3) -> Summary:
    return ratio_summary(KEPT_AT, rows)


def target(job: str = JOB, channel: str = "C0INC", user: str = "U0AAA") -> ReplyTarget:
    return ReplyTarget(team_id="T0001", channel_id=channel, user_id=user, job_id=job)


def keep_answer(settings: Settings, tmp_path: Path, job: str = JOB, at: datetime = KEPT_AT) -> Path:
    csv = tmp_path / f"{job}.csv"
    csv.write_text(CSV_TEXT, encoding="utf-8")
    return keep_undelivered(
        settings,
        target(job),
        summary(),
        csv,
        "HTTP 503",
        status_ts=STATUS_TS,
        answer_thread=STATUS_TS,
        now=at,
    )


def with_status_message(redis: fakeredis.FakeRedis, job: str = JOB) -> None:
    """The status message the listener posted, as bot/slack/status_board.py records it."""
    redis.hset(f"flowbot:status:{job}", mapping={"claim": "1", "ts": STATUS_TS})


def about(**fields: object) -> About:
    record = {
        "job_id": JOB,
        "asked": "count",
        "why": "HTTP 503",
        "kind": "answer",
        "target": target().model_dump(mode="json"),
        "kept_at": KEPT_AT,
        "next_attempt_at": KEPT_AT + timedelta(seconds=60),
    }
    return About.model_validate({**record, **fields})


# --- when a kept answer is sent ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "after", "expected"),
    [
        ({}, timedelta(seconds=59), "waiting"),
        ({}, timedelta(seconds=60), "due"),
        ({"attempts": 19, "next_attempt_at": KEPT_AT}, timedelta(hours=23, minutes=59), "due"),
        ({"attempts": 20, "next_attempt_at": KEPT_AT}, timedelta(minutes=5), "gave up"),
        ({"next_attempt_at": KEPT_AT}, timedelta(hours=24), "gave up"),
        ({"target": None}, timedelta(hours=1), "manual"),
        ({"kind": None}, timedelta(hours=1), "manual"),
        ({"kind": "csv"}, timedelta(hours=1), "evidence"),
    ],
)
def test_when_a_kept_answer_is_due(
    settings: Settings, fields: dict[str, object], after: timedelta, expected: str
) -> None:
    assert standing(about(**fields), KEPT_AT + after, settings) == expected


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 120), (2, 240), (3, 480), (5, 1920), (6, 3600), (19, 3600)]
)
def test_each_refusal_doubles_the_wait_up_to_an_hour(settings: Settings, attempts: int, seconds: int) -> None:
    assert next_wait(settings, attempts) == timedelta(seconds=seconds)


def test_what_is_kept_says_where_to_post_and_when_to_try(settings: Settings, tmp_path: Path) -> None:
    folder = keep_answer(settings, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["about.json", "result.csv", "summary.txt"]
    record = json.loads((folder / "about.json").read_text())
    assert record["kind"] == "answer" and record["job_id"] == JOB == folder.name
    assert record["target"] == {
        "team_id": "T0001",
        "channel_id": "C0INC",
        "user_id": "U0AAA",
        "job_id": JOB,
        "response_url": None,
        "thread_ts": None,
        "enterprise_id": None,
    }
    assert record["request"]["query"] == "ratio" and record["request"]["text"] == "ratio 10.0.1.25 --last 6h"
    assert record["finding"] == summary().finding()
    assert (record["status_ts"], record["answer_thread"]) == (STATUS_TS, STATUS_TS)
    assert record["kept_at"] == "2026-11-25T14:07:00Z"
    assert record["attempts"] == 0 and record["next_attempt_at"] == "2026-11-25T14:08:00Z"


# --- sending it ---------------------------------------------------------------------------------------------


def test_a_due_answer_is_posted_in_its_thread_with_its_csv_and_the_asker_told(
    settings: Settings, redis: fakeredis.FakeRedis, slack: MockSlack, tmp_path: Path
) -> None:
    folder = keep_answer(settings, tmp_path)
    with_status_message(redis)
    (outcome,) = resend_due(settings, redis, now=KEPT_AT + timedelta(minutes=2))
    assert outcome.line() == "01234567 delivered"
    (post, dm) = slack.calls("chat.postMessage")
    assert post.params["channel"] == "C0INC" and post.params["thread_ts"] == STATUS_TS
    first, finding, *_ = post.params["text"].split("\n")
    assert first == "_Delivered late: Slack would not take this answer at 14:07 UTC._"
    assert finding == f"*{summary().finding()}*"
    assert "203.0.113.66" in post.params["text"]
    (upload,) = slack.calls("files.completeUploadExternal")
    assert upload.params["channel_id"] == "C0INC" and upload.params["thread_ts"] == STATUS_TS
    assert list(slack.uploads.values()) == [CSV_TEXT.encode()]
    (edit,) = slack.calls("chat.update")
    assert edit.params["ts"] == STATUS_TS and edit.params["text"] == summary().finding()
    assert "delivered late" in json.dumps(edit.json_param("blocks"))
    (told,) = slack.dms("U0AAA")
    link = f"https://flowbot-test.slack.com/archives/C0INC/p{STATUS_TS.replace('.', '')}"
    assert told["text"] == (
        ":mailbox_with_mail: `ratio 10.0.1.25 --last 6h` (job 01234567): Slack would not take the answer at "
        f"2026-11-25 14:07 UTC; it is now posted: {link}"
    )
    assert dm.params["channel"] == "U0AAA"
    assert not folder.exists() and redis.exists(ANSWERED_KEY.format(job_id=JOB))
    assert resend_due(settings, redis, now=KEPT_AT + timedelta(minutes=3), force=True) == []
    assert [c.method for c in slack.calls()] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
        "chat.update",
        "chat.getPermalink",
        "chat.postMessage",
    ]


def test_an_answer_already_in_slack_is_not_posted_again_and_its_folder_goes(
    settings: Settings, redis: fakeredis.FakeRedis, slack: MockSlack, tmp_path: Path
) -> None:
    folder = keep_answer(settings, tmp_path)
    redis.set(ANSWERED_KEY.format(job_id=JOB), "1")  # the job ran again and answered, or a sweep crashed
    (outcome,) = resend_due(settings, redis, now=KEPT_AT + timedelta(minutes=2))
    assert outcome.result == "already delivered"
    assert slack.calls() == [] and not folder.exists()


def test_an_answer_another_sweep_is_sending_is_left_to_it(
    settings: Settings, redis: fakeredis.FakeRedis, slack: MockSlack, tmp_path: Path
) -> None:
    folder = keep_answer(settings, tmp_path)
    redis.set(RESENDING_KEY.format(job_id=JOB), "1")
    (outcome,) = resend_due(settings, redis, now=KEPT_AT + timedelta(minutes=2))
    assert outcome.line() == "01234567 not tried: another sweep is sending it"
    assert slack.calls() == [] and folder.exists()
    assert not redis.exists(ANSWERED_KEY.format(job_id=JOB))


def test_a_refusal_releases_the_claim_counts_the_attempt_and_stops_the_sweep(
    settings: Settings, redis: fakeredis.FakeRedis, slack: MockSlack, tmp_path: Path
) -> None:
    first = keep_answer(settings, tmp_path, JOB, KEPT_AT)
    second = keep_answer(settings, tmp_path, OTHER, KEPT_AT + timedelta(seconds=1))
    slack.down("chat.postMessage", status=503)
    now = KEPT_AT + timedelta(minutes=2)
    outcomes = resend_due(settings, redis, now=now)
    assert [o.line() for o in outcomes] == [
        "01234567 failed: Slack refused it (fatal_error, HTTP 503)",
        "fedcba98 not tried: Slack refused the one before",
    ]
    assert len(slack.calls("chat.postMessage")) == 3  # slack_sdk's two retries on a 5xx, for the first only
    assert {c.params["thread_ts"] for c in slack.calls("chat.postMessage")} == {STATUS_TS}
    assert not redis.exists(ANSWERED_KEY.format(job_id=JOB))
    kept = read_about(first)
    assert kept is not None and kept.attempts == 1
    assert kept.next_attempt_at == datetime(2026, 11, 25, 14, 11, tzinfo=UTC)  # 14:09 + 2 x 60 s
    assert first.exists() and second.exists()
    # A minute later the first waits; the second, never tried, is due, and is refused in turn.
    again = resend_due(settings, redis, now=now + timedelta(seconds=60))
    assert [o.line() for o in again] == ["fedcba98 failed: Slack refused it (fatal_error, HTTP 503)"]
    slack.up()
    assert [o.line() for o in resend_due(settings, redis, now=now + timedelta(seconds=119))] == []
    assert [o.line() for o in resend_due(settings, redis, now=now + timedelta(seconds=120))] == [
        "01234567 delivered"
    ]
    assert not first.exists() and second.exists()
    assert [o.line() for o in resend_due(settings, redis, now=now + timedelta(seconds=180))] == [
        "fedcba98 delivered"
    ]
    assert len([c for c in slack.calls("chat.postMessage") if c.ok]) == 4  # two answers, two DMs


def test_a_summary_posted_before_its_csv_failed_is_not_posted_again(
    settings: Settings, redis: fakeredis.FakeRedis, slack: MockSlack, tmp_path: Path
) -> None:
    folder = keep_answer(settings, tmp_path)
    slack.fail_next("files.getUploadURLExternal", error="internal_error")
    (failed,) = resend_due(settings, redis, now=KEPT_AT + timedelta(minutes=2))
    assert failed.result == "failed" and len(slack.calls("chat.postMessage")) == 1
    (summary_post,) = slack.calls("chat.postMessage")
    kept = read_about(folder)
    assert kept is not None and kept.posted is not None and kept.posted["ts"] == summary_post.response["ts"]
    (done,) = resend_due(settings, redis, now=KEPT_AT + timedelta(minutes=2), force=True)
    assert done.result == "delivered"
    posts = slack.calls("chat.postMessage")
    assert [p.params["channel"] for p in posts] == ["C0INC", "U0AAA"]  # the summary once, then the DM
    (upload,) = [c for c in slack.calls("files.completeUploadExternal") if c.ok]
    assert upload.params["thread_ts"] == STATUS_TS


def test_past_its_attempts_an_answer_is_given_up_once_and_kept_for_an_operator(
    settings: Settings,
    redis: fakeredis.FakeRedis,
    slack: MockSlack,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = keep_answer(settings, tmp_path)
    record = read_about(folder)
    assert record is not None
    (folder / "about.json").write_text(record.model_copy(update={"attempts": 20}).model_dump_json())
    now = KEPT_AT + timedelta(hours=1)
    with caplog.at_level(logging.INFO, logger="bot.worker.redelivery"):
        assert [o.line() for o in resend_due(settings, redis, now=now)] == ["01234567 gave up: 20 attempts"]
        assert [o.result for o in resend_due(settings, redis, now=now)] == ["gave up"]
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 1 and gave_up[0].levelno == logging.ERROR
    assert getattr(gave_up[0], "job_id", None) == JOB
    assert slack.calls() == [] and folder.exists()
    (forced,) = resend_due(settings, redis, now=now, force=True)
    assert forced.result == "delivered" and not folder.exists()


def test_too_old_an_answer_is_given_up(
    settings: Settings, redis: fakeredis.FakeRedis, tmp_path: Path
) -> None:
    keep_answer(settings, tmp_path)
    (outcome,) = resend_due(settings, redis, now=KEPT_AT + timedelta(hours=24))
    assert outcome.line() == "01234567 gave up: older than 24 h"


def test_an_older_versions_folder_is_listed_not_resent(
    settings: Settings, redis: fakeredis.FakeRedis, slack: MockSlack
) -> None:
    folder = settings.undelivered_dir / JOB
    folder.mkdir(parents=True)
    (folder / "summary.txt").write_text("found\n")
    (folder / "about.json").write_text(json.dumps({"job_id": JOB, "asked": "count", "rows": 1, "why": "x"}))
    assert resend_due(settings, redis, now=KEPT_AT) == []
    (outcome,) = resend_due(settings, redis, now=KEPT_AT, force=True)
    assert outcome.line() == "01234567 cannot resend: no target recorded" and outcome.failed
    assert slack.calls() == [] and folder.exists()


def test_a_csv_whose_summary_was_delivered_stays_as_evidence(
    settings: Settings, redis: fakeredis.FakeRedis, slack: MockSlack, tmp_path: Path
) -> None:
    csv = tmp_path / "r.csv"
    csv.write_text(CSV_TEXT)
    folder = keep_undelivered(
        settings, target(), summary(), csv, "CSV upload failed", kind="csv", now=KEPT_AT
    )
    assert resend_due(settings, redis, now=KEPT_AT + timedelta(hours=1)) == []
    (outcome,) = resend_due(settings, redis, now=KEPT_AT + timedelta(hours=1), force=True)
    assert outcome.result == "kept" and not outcome.failed
    assert slack.calls() == [] and folder.exists()


def test_an_indicator_reply_is_posted_where_it_was_asked_and_the_asker_told(
    settings: Settings, redis: fakeredis.FakeRedis, slack: MockSlack
) -> None:
    folder = keep_reply(
        settings,
        target(channel="C0IOC"),
        asked="ioc add",
        text="Added 203.0.113.7 to the indicators.",
        csv_path=None,
        why="HTTP 503",
        now=KEPT_AT,
    )
    (outcome,) = resend_due(settings, redis, now=KEPT_AT + timedelta(minutes=1))
    assert outcome.result == "delivered"
    reply, dm = slack.calls("chat.postMessage")
    assert reply.params["channel"] == "C0IOC" and "thread_ts" not in reply.params
    assert reply.params["text"] == (
        "_Delivered late: Slack would not take this reply at 14:07 UTC._\n"
        "Added 203.0.113.7 to the indicators."
    )
    assert dm.params["channel"] == "U0AAA" and "Slack would not take the reply" in dm.params["text"]
    assert slack.calls("chat.update") == [] and slack.calls("files.completeUploadExternal") == []
    assert not folder.exists()


def test_only_the_named_jobs_are_sent(
    settings: Settings, redis: fakeredis.FakeRedis, slack: MockSlack, tmp_path: Path
) -> None:
    keep_answer(settings, tmp_path, JOB)
    other = keep_answer(settings, tmp_path, OTHER)
    (outcome,) = resend_due(settings, redis, now=KEPT_AT, force=True, only=["0123"])
    assert outcome.line() == "01234567 delivered" and other.exists()


def test_redis_down_is_an_outcome_not_an_exception(
    settings: Settings, slack: MockSlack, tmp_path: Path
) -> None:
    server = fakeredis.FakeServer()
    server.connected = False
    folder = keep_answer(settings, tmp_path)
    (outcome,) = resend_due(settings, fakeredis.FakeRedis(server=server), now=KEPT_AT + timedelta(hours=1))
    assert outcome.result == "failed" and outcome.detail.startswith("Redis:")
    assert slack.calls() == [] and folder.exists()


def test_an_unreadable_record_is_skipped(settings: Settings, redis: fakeredis.FakeRedis) -> None:
    folder = settings.undelivered_dir / JOB
    folder.mkdir(parents=True)
    (folder / "about.json").write_text("{not json")
    assert resend_due(settings, redis, now=KEPT_AT, force=True) == []
