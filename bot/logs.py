"""Logs: one JSON object a line on stderr, the job's ids on every line a job causes, and no secrets.

Log shippers (CloudWatch, Loki, Datadog) parse a JSON line without a pattern to maintain, so every
process that runs for a while (`flowbot serve`, `flowbot worker`) logs this way, through
python-json-logger's formatter with Flowbot's field names.

Secrets are removed from every record before it is written, by value (the configured Slack tokens,
signing secret, Redis password and AWS keys) and by shape (Slack tokens, bearer tokens, AWS secret keys
after their name), because a secret that reaches a log is a secret that leaked.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO
from urllib.parse import urlsplit

import pythonjsonlogger.json

from bot.settings import Settings

REDACTED = "[REDACTED]"
AWS_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
"""Environment variables whose values are AWS secrets (boto3 reads them; we only hide them)."""

_FIELDS: ContextVar[Mapping[str, str]] = ContextVar("flowbot_log_fields", default=MappingProxyType({}))
_RECORD_ATTRIBUTES = frozenset(
    [*logging.LogRecord("", 0, "", 0, "", None, None).__dict__, "message", "asctime", "taskName"]
)
"""What every LogRecord has; anything else on a record came from `extra=` or from `bind`."""

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack tokens: bot, user, app-level, refresh (xoxb-…, xoxp-…, xapp-…, xoxe.xoxp-…, xoxe-…).
    (re.compile(r"\b(xox[a-z](?:\.xox[a-z])?-|xapp-)[A-Za-z0-9-]+"), r"\1" + REDACTED),
    # An Authorization header's credentials, whatever their scheme, and any bearer token.
    (
        re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"',;}]+"),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    # AWS secret keys and session tokens after their name (env, config file, boto3 or JSON spelling).
    (
        re.compile(
            r"(?i)((?:aws_)?(?:secret_access_key|session_token|secretaccesskey|sessiontoken|secret_key)"
            r"[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{16,}"
        ),
        r"\1" + REDACTED,
    ),
)


def _as_token(secret: str) -> str:
    """A pattern for the secret as a whole token: where it begins or ends with a letter or digit, no letter or
    digit may touch it there. A short secret then hides itself, not the middle of ordinary words ("etr" must
    not turn "retry" into "r[REDACTED]y"); a secret that ends in punctuation is matched up to it."""
    before = r"(?<![A-Za-z0-9])" if secret[0].isalnum() else ""
    after = r"(?![A-Za-z0-9])" if secret[-1].isalnum() else ""
    return f"{before}{re.escape(secret)}{after}"


class Redactor:
    """Replaces known secret values and secret-shaped text with a marker."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if s}, key=len, reverse=True)  # longest first: no partial hits
        self._values = re.compile("|".join(map(_as_token, values))) if values else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        """Every secret Flowbot knows of: Slack's (from settings), the Redis password, AWS's (from env)."""
        fields = (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.slack_client_secret,
        )
        secrets = [f.get_secret_value() for f in fields if f is not None]
        secrets += [os.environ.get(name, "") for name in AWS_SECRET_ENV]
        try:
            secrets.append(urlsplit(settings.redis_url).password or "")
        except ValueError:  # an unparsable URL fails elsewhere, with its own message
            pass
        return cls(secrets)

    def redact(self, text: str) -> str:
        """`text` with every secret replaced."""
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
        return text

    def redact_value(self, value: Any) -> Any:
        """A log field's value with its text redacted; containers are walked, other values kept."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {k: self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact_value(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.redact(str(value))


class RedactingFilter(logging.Filter):
    """Removes secrets from a record's message, arguments, exception text and extra fields.

    It sits on the handler, so it sees every record written, whichever logger made it.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is rather than lose the line
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redactor.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_ATTRIBUTES:
                setattr(record, key, self.redactor.redact_value(value))
        return True


class ContextFilter(logging.Filter):
    """Adds the fields bound with `bind` (job_id, team_id, …) to a record that lacks them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _FIELDS.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, then any other fields.

    python-json-logger does the record-to-JSON work; this only names the fields and keeps time in UTC.
    """

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
                "stack_info": "stack",
            },
            json_default=str,
        )

    def formatException(self, ei: Any) -> str:
        """Nothing: the exception goes in as `record.exc_text`, which RedactingFilter already cleaned."""
        return ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        return when.removesuffix("+00:00") + "Z"


class StderrHandler(logging.Handler):
    """Writes each line to the stream given, or to whatever `sys.stderr` is at the time of writing
    (so a test that swaps stderr, or a closed old stream, never loses a line)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = self.stream or sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


@contextmanager
def bind(**fields: str) -> Iterator[None]:
    """Add `fields` (e.g. `job_id=…`) to every log line written inside the block, in this context."""
    token = _FIELDS.set(MappingProxyType({**_FIELDS.get(), **fields}))
    try:
        yield
    finally:
        _FIELDS.reset(token)


def bound() -> Mapping[str, str]:
    """The fields bound now (for tests and for code that hands them on)."""
    return _FIELDS.get()


def configure_logging(settings: Settings, *, level: str | None = None, stream: TextIO | None = None) -> None:
    """JSON lines at `level` (default: FLOWBOT_LOG_LEVEL) on stderr, for the whole process.

    Called again (tests, or one process running several commands), it replaces its own handler and
    leaves any other alone. Python warnings are logged too, so they come out as JSON lines.
    """
    chosen = level or settings.log_level
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    handler = StderrHandler(stream)
    handler.setLevel(chosen)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(Redactor.from_settings(settings)))
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(chosen)
    logging.captureWarnings(True)
