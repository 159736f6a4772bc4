"""Kept answers sent again once Slack takes posts: in their thread, the status message edited, the asker told.

A sweep (`resend_due`, from the workers' maintenance, or `flowbot undelivered resend`) walks
FLOWBOT_UNDELIVERED_DIR oldest first. Each answer is sent at most once, however many workers share the
folder: a sweeper holds `flowbot:resending:<job id>` while it sends, and takes the job's final-answer
claim (bot/slack/delivery.py) first. A claim already taken means the answer is in Slack (another sweeper, or
a crash after delivery and before the delete), so the folder is deleted. A failed send releases the
claim, counts the attempt, waits twice as long before the next (at most an hour) and ends the sweep:
Slack is still refusing, and the other answers would only be refused too. Past
FLOWBOT_UNDELIVERED_MAX_ATTEMPTS or _MAX_AGE_HOURS an answer is no longer tried; it stays on disk as
evidence, for an operator's `resend`.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from redis import Redis
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.logs import bind
from bot.redis_keys import ANSWERED_KEY, RESENDING_KEY, RESENDING_TTL_SECONDS
from bot.settings import MissingSettingError, Settings
from bot.slack.delivery import claim_final, error_of
from bot.slack.installations import NotInstalledError
from bot.worker.late_delivery import send_kept, tell_delivered
from bot.worker.undelivered import About, kept, read_about, write_about

log = logging.getLogger(__name__)
MAX_WAIT = timedelta(hours=1)
Result = Literal["delivered", "already delivered", "failed", "cannot resend", "gave up", "not tried", "kept"]
Standing = Literal["due", "waiting", "gave up", "manual", "evidence"]
SEND_ERRORS = (SlackClientError, OSError, RedisError, NotInstalledError, MissingSettingError)
"""What sending may fail with: Slack's answers, the network (and a missing file), Redis, the token."""


@dataclass(frozen=True)
class Outcome:
    """What a sweep did with one kept answer."""

    job_id: str
    result: Result
    detail: str = ""

    @property
    def failed(self) -> bool:
        """Whether an operator's `resend` should exit 1 for it."""
        return self.result in ("failed", "cannot resend")

    def line(self) -> str:
        """`1a2b3c4d delivered`, `1a2b3c4d failed: …`."""
        return f"{self.job_id[:8]} {self.result}" + (f": {self.detail}" if self.detail else "")


def standing(about: About, now: datetime, settings: Settings) -> Standing:
    """Whether a sweep sends it now (`due`), later (`waiting`), never by itself (`gave up`; `manual`: kept by
    an older version, without a target; `evidence`: only a CSV whose summary was delivered)."""
    if about.kind == "csv":
        return "evidence"
    if not about.resendable or about.kept_at is None:
        return "manual"
    too_old = now - about.kept_at >= timedelta(hours=settings.undelivered_max_age_hours)
    if about.attempts >= settings.undelivered_max_attempts or too_old:
        return "gave up"
    if about.next_attempt_at is not None and about.next_attempt_at > now:
        return "waiting"
    return "due"


def next_wait(settings: Settings, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed re-send: FLOWBOT_UNDELIVERED_RETRY_SECONDS, doubled with each
    attempt (the first failed sweep waits twice that), at most an hour."""
    return min(timedelta(seconds=settings.undelivered_retry_seconds * 2**attempts), MAX_WAIT)


def resend_due(
    settings: Settings,
    redis: Redis,
    *,
    now: datetime | None = None,
    force: bool = False,
    only: Collection[str] | None = None,
) -> list[Outcome]:
    """Send every kept answer that is due, oldest first, until one fails; what became of each.

    `force` (an operator's `resend`) sends regardless of the wait, the attempts and the age; `only` keeps
    the job ids starting with one of these prefixes. Never raises: it runs in the workers' maintenance."""
    now = now or datetime.now(UTC)
    outcomes: list[Outcome] = []
    stopped = False
    try:
        found = kept(settings)
    except OSError as exc:
        log.warning("cannot read %s: %s", settings.undelivered_dir, exc)
        return outcomes
    for folder, about in found:
        if only is not None and not any(about.job_id.startswith(prefix) for prefix in only):
            continue
        with bind(job_id=about.job_id):
            outcome, stop = _consider(settings, redis, folder, about, now, force=force, stopped=stopped)
        if outcome is None:
            continue
        stopped = stopped or stop
        outcomes.append(outcome)
    return outcomes


def _consider(
    settings: Settings, redis: Redis, folder: Path, about: About, now: datetime, *, force: bool, stopped: bool
) -> tuple[Outcome | None, bool]:
    """One kept answer: its outcome (None when not due, and not asked for), and whether to stop the sweep."""
    state = standing(about, now, settings)
    if state == "evidence":
        detail = "only its CSV was kept; the summary was delivered"
        return (Outcome(about.job_id, "kept", detail) if force else None), False
    if not force and state in ("waiting", "manual"):
        return None, False
    if not force and state == "gave up":
        if about.gave_up_at is None:
            _save(folder, about.model_copy(update={"gave_up_at": now}))
            log.error(
                "job %s: gave up re-sending its answer (%s); kept in %s (`flowbot undelivered resend %s` "
                "sends it)",
                about.job_id,
                _bound(about, settings),
                folder,
                about.job_id[:8],
                extra={"job_id": about.job_id},
            )
        return Outcome(about.job_id, "gave up", _bound(about, settings)), False
    if not about.resendable:
        return _logged(Outcome(about.job_id, "cannot resend", "no target recorded")), False
    if stopped:
        return _logged(Outcome(about.job_id, "not tried", "Slack refused the one before")), False
    try:
        return _resend(settings, redis, folder, about, now)
    except Exception as exc:  # a maintenance hook must not fail its worker: log, stop the sweep
        log.exception("job %s: re-sending its answer failed", about.job_id, extra={"job_id": about.job_id})
        return Outcome(about.job_id, "failed", f"{type(exc).__name__}: {exc}"), True


def _resend(
    settings: Settings, redis: Redis, folder: Path, about: About, now: datetime
) -> tuple[Outcome, bool]:
    """Send it under the sweeper's lock and the job's final-answer claim; delete it once it is in Slack."""
    job_id = about.job_id
    lock = RESENDING_KEY.format(job_id=job_id)
    try:
        if not redis.set(lock, "1", nx=True, ex=RESENDING_TTL_SECONDS):
            return _logged(Outcome(job_id, "not tried", "another sweep is sending it")), False
    except RedisError as exc:
        return _logged(Outcome(job_id, "failed", f"Redis: {exc}")), True
    try:
        if not claim_final(redis, job_id):
            _delete(folder)
            return _logged(Outcome(job_id, "already delivered")), False
        try:
            client, posted, csv_direct = send_kept(settings, redis, folder, about, now)
        except Exception as exc:  # whatever it was, the claim goes back: a held claim reads as delivered
            if not isinstance(exc, SEND_ERRORS):
                log.exception("job %s: re-sending its answer failed", job_id, extra={"job_id": job_id})
            _failed(settings, redis, folder, about, now)
            return _logged(Outcome(job_id, "failed", _why(exc))), not isinstance(exc, NotInstalledError)
        try:
            tell_delivered(settings, redis, client, about, posted, csv_direct)
        except Exception:  # delivered all the same: never sent again for what follows it
            log.exception("job %s: after re-sending its answer", job_id, extra={"job_id": job_id})
        _delete(folder)
        return _logged(Outcome(job_id, "delivered")), False
    except RedisError as exc:
        return _logged(Outcome(job_id, "failed", f"Redis: {exc}")), True
    finally:
        try:
            redis.delete(lock)
        except RedisError:
            pass  # it expires


def _failed(settings: Settings, redis: Redis, folder: Path, about: About, now: datetime) -> None:
    """Release the claim for the next try, count this one and set when that is."""
    try:
        redis.delete(ANSWERED_KEY.format(job_id=about.job_id))
    except RedisError as exc:  # the claim expires in a week; until then the answer cannot be re-sent
        log.error("job %s: could not release its answer's claim: %s", about.job_id, exc)
    current = read_about(folder) or about  # with `posted`, when the summary went before the failure
    attempts = current.attempts + 1
    _save(
        folder,
        current.model_copy(
            update={"attempts": attempts, "next_attempt_at": now + next_wait(settings, attempts)}
        ),
    )


def _save(folder: Path, about: About) -> None:
    try:
        write_about(folder, about)
    except OSError as exc:
        log.error("job %s: could not update %s: %s", about.job_id, folder, exc)


def _delete(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if folder.exists():  # its answer's claim is held: the next sweep finds it delivered and tries again
        log.warning("could not delete %s", folder)


def _logged(outcome: Outcome) -> Outcome:
    level = logging.WARNING if outcome.failed else logging.INFO
    log.log(level, "job %s: kept answer %s", outcome.job_id, outcome.line(), extra={"job_id": outcome.job_id})
    return outcome


def _why(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack refused it ({error_of(exc) or 'no error code'}, HTTP {exc.response.status_code})"
    return f"{type(exc).__name__}: {exc}"


def _bound(about: About, settings: Settings) -> str:
    """Which bound a kept answer passed."""
    if about.attempts >= settings.undelivered_max_attempts:
        return f"{about.attempts} attempts"
    return f"older than {settings.undelivered_max_age_hours} h"
