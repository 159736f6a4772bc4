"""Logs are JSON lines that carry the job id and never a secret: a real worker process answering a
real slash command, and the formatter and redaction filter on their own."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from redis import Redis
from rq import Queue

from bot.logs import (
    REDACTED,
    ContextFilter,
    JsonFormatter,
    RedactingFilter,
    Redactor,
    StderrHandler,
    bind,
    bound,
    configure_logging,
)
from bot.settings import Settings
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import WINDOW, slash

XOX = "xox"  # token-shaped test strings are built at run time, so no file of the repo holds one
BOT_TOKEN = f"{XOX}b-test-SECRET-123"  # recognisable dummy values, not credentials
SIGNING_SECRET = "signing-SECRET-456"
APP_TOKEN = "xapp-1-A0TEST-SECRET-789"
REDIS_PASSWORD = "redis-SECRET-012"


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of a process's stderr, each of which must be one JSON object."""
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON log line: {line!r}")
        assert isinstance(entry, dict) and {"time", "level", "logger", "message"} <= entry.keys(), line
        parsed.append(entry)
    return parsed


@pytest.mark.e2e
def test_a_worker_answering_a_command_logs_json_lines_with_the_job_id_and_no_secret(
    app_url: str, env: dict[str, str], mock_slack: MockSlack, redis_url: str
) -> None:
    status, _ = slash(app_url, f"ratio <http://10.0.1.25|10.0.1.25> {WINDOW}", trigger_id="trig-logs-1")
    assert status == 200
    mock_slack.wait_for("chat.postMessage")
    worker_env = env | {
        "FLOWBOT_SLACK_BOT_TOKEN": BOT_TOKEN,
        "FLOWBOT_SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "FLOWBOT_SLACK_APP_TOKEN": APP_TOKEN,
        "FLOWBOT_LOG_LEVEL": "DEBUG",  # the most a worker ever says: still no secret
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker", "--burst"],
        env=worker_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    mock_slack.wait_for("files.completeUploadExternal")

    (job_id,) = Queue("flowbot-e2e", connection=Redis.from_url(redis_url)).finished_job_registry.get_job_ids()
    entries = json_lines(done.stderr)
    about_job = [e for e in entries if e.get("job_id") == job_id]
    assert any(e["logger"] == "rq.worker" and "Job OK" in e["message"] for e in about_job), entries
    assert all(
        e["team_id"] == "T0001" and e["channel_id"] == "C0INC" and e["user_id"] == "U0AAA" for e in about_job
    )
    for entry in entries:
        datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    everything = done.stdout + done.stderr
    for secret in (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN):
        assert secret not in everything


# ---------------------------------------------------------------------- the parts on their own


@pytest.fixture
def settings() -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=APP_TOKEN,
        redis_url=f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/11",
    )


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, put back as it was (configure_logging changes it for the whole process)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def write(settings: Settings, log: logging.Logger, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """What `log.warning(*args, **kwargs)` writes, through configure_logging's handler."""
    out = io.StringIO()
    configure_logging(settings, stream=out)
    log.warning(*args, **kwargs)
    return json_lines(out.getvalue())


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"token={BOT_TOKEN}", "token="),
        (f"signing secret {SIGNING_SECRET}!", "signing secret "),
        (f"posted with {XOX}p-1111-2222-abcdef", f"posted with {XOX}p-"),
        (f"refresh {XOX}e.{XOX}p-1-Mi0yLTEy", f"refresh {XOX}e.{XOX}p-"),
        ("app token xapp-1-A111-222-abc", "app token xapp-"),
        ("headers {'Authorization': 'Bearer abc.def-ghi'}", "'Authorization': '"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: "),
        ("curl -H 'authorization: bearer sk_live_123'", "authorization: "),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = "),
        ('{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}', '{"SecretAccessKey": "'),
        ("AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH", "AWS_SESSION_TOKEN="),
        (f"redis://:{REDIS_PASSWORD}@redis:6379/0", "redis://:"),
    ],
)
def test_secrets_are_redacted_by_value_and_by_shape(settings: Settings, text: str, kept: str) -> None:
    redacted = Redactor.from_settings(settings).redact(text)
    assert REDACTED in redacted and kept in redacted, redacted
    for secret in (BOT_TOKEN, SIGNING_SECRET, REDIS_PASSWORD, "abc.def", "dXNlcjpwYXNz", "EXAMPLEKEY"):
        assert secret not in redacted


def test_ordinary_text_is_left_alone(settings: Settings) -> None:
    text = "ratio 10.0.1.25 --from 2026-11-19T00:00Z: 42 rows, job 3f2a9c1b0d4e5f60718293a4b5c6d7e8 (xoxo)"
    assert Redactor.from_settings(settings).redact(text) == text


@pytest.mark.parametrize(
    ("secret", "text", "expected"),
    [
        ("etr", "retry etr (etr) x-etr-y", "retry [REDACTED] ([REDACTED]) x-[REDACTED]-y"),
        ("try", "retrying, try again: try", "retrying, [REDACTED] again: [REDACTED]"),
        ("s3cr3t", "s3cr3ts s3cr3t_x s3cr3t", "s3cr3ts [REDACTED]_x [REDACTED]"),
        ("-ab-", "x-ab-y a-ab-", "x[REDACTED]y a[REDACTED]"),  # punctuation at its edges: matched up to it
    ],
)
def test_a_secret_is_hidden_as_a_token_never_inside_a_word(secret: str, text: str, expected: str) -> None:
    """A short configured secret must not mangle ordinary words in the logs (issue #16: "retr[REDACTED]")."""
    assert Redactor([secret]).redact(text) == expected


def test_aws_secrets_in_the_environment_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "raw-aws-SECRET-value")
    assert "raw-aws-SECRET-value" not in Redactor.from_settings(Settings()).redact("x raw-aws-SECRET-value y")


def test_a_record_is_redacted_in_its_arguments_exception_and_extra_fields(
    settings: Settings, root_logger: logging.Logger
) -> None:
    try:
        raise RuntimeError(f"Slack refused {BOT_TOKEN}")
    except RuntimeError:
        (entry,) = write(
            settings,
            logging.getLogger("flowbot.test"),
            "calling with %s and %r",
            BOT_TOKEN,
            {"secret": SIGNING_SECRET},
            exc_info=True,
            extra={"headers": {"Authorization": f"Bearer {BOT_TOKEN}"}, "args_seen": [SIGNING_SECRET]},
        )
    line = json.dumps(entry)
    assert BOT_TOKEN not in line and SIGNING_SECRET not in line
    assert entry["message"] == "calling with [REDACTED] and {'secret': '[REDACTED]'}"
    assert "RuntimeError: Slack refused [REDACTED]" in entry["exception"]
    assert entry["headers"] == {"Authorization": "Bearer [REDACTED]"}
    assert entry["args_seen"] == [REDACTED]


def test_a_line_is_one_json_object_with_time_level_logger_message_and_fields(
    settings: Settings, root_logger: logging.Logger
) -> None:
    with bind(job_id="job-1", team_id="T0001"):
        (entry,) = write(settings, logging.getLogger("bot.worker.jobs"), "two\nlines", extra={"rows": 3})
    assert entry["level"] == "WARNING" and entry["logger"] == "bot.worker.jobs"
    assert entry["message"] == "two\nlines"
    assert entry["job_id"] == "job-1" and entry["team_id"] == "T0001" and entry["rows"] == 3
    assert entry["time"].endswith("Z")
    assert datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0


def test_bind_nests_and_restores() -> None:
    assert dict(bound()) == {}
    with bind(job_id="a"):
        with bind(team_id="T1"):
            assert dict(bound()) == {"job_id": "a", "team_id": "T1"}
        assert dict(bound()) == {"job_id": "a"}
    assert dict(bound()) == {}


def test_an_explicit_field_wins_over_a_bound_one() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.job_id = "explicit"
    with bind(job_id="bound"):
        ContextFilter().filter(record)
    assert json.loads(JsonFormatter().format(record))["job_id"] == "explicit"


def test_configuring_twice_keeps_one_handler_at_the_level_asked(
    settings: Settings, root_logger: logging.Logger
) -> None:
    out = io.StringIO()
    configure_logging(settings, stream=io.StringIO())
    configure_logging(settings, level="WARNING", stream=out)
    assert sum(isinstance(h, StderrHandler) for h in root_logger.handlers) == 1
    logging.getLogger("flowbot.test").info("not at WARNING")
    logging.getLogger("flowbot.test").warning("at WARNING")
    assert [e["message"] for e in json_lines(out.getvalue())] == ["at WARNING"]


def test_a_handler_without_a_stream_writes_to_stderr_as_it_is_now(
    settings: Settings, root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings)
    logging.getLogger("flowbot.test").warning("to stderr")
    assert json_lines(capsys.readouterr().err)[-1]["message"] == "to stderr"


def test_the_filter_sees_records_of_every_logger(settings: Settings) -> None:
    handler = StderrHandler(io.StringIO())
    handler.addFilter(RedactingFilter(Redactor.from_settings(settings)))
    record = logging.LogRecord("slack_sdk.web", logging.DEBUG, __file__, 1, "token %s", (BOT_TOKEN,), None)
    assert handler.filter(record)
    assert record.getMessage() == "token [REDACTED]"
