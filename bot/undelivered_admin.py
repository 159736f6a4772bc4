"""`flowbot undelivered list|resend`: the operator's view of answers Slack would not take.

`list` prints one line per kept answer; `resend` sends them now, whatever their wait, attempts or age
(the workers send them by themselves, bot/worker/redelivery.py). The CLI (`bot/cli.py`) maps errors.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO

from redis import Redis

from bot.settings import Settings
from bot.worker.redelivery import resend_due, standing
from bot.worker.undelivered import About, kept

EXIT_OK, EXIT_FAILURE = 0, 1
"""As `bot/cli.py`'s (which imports this module only when `flowbot undelivered` runs)."""
ASKED_WIDTH = 40
WHY_WIDTH = 80


def undelivered_command(args: argparse.Namespace, settings: Settings, stdout: TextIO) -> int:
    """`flowbot undelivered ACTION`: list the kept answers, or send them (or those named) now."""
    now = datetime.now(UTC)
    if args.action == "list":
        found = kept(settings)
        if not found:
            print(f"no kept answers in {settings.undelivered_dir}", file=stdout)
        for _, about in found:
            print(describe(about, now, settings), file=stdout)
        return EXIT_OK
    prefixes = list(args.job_ids) or None
    outcomes = resend_due(settings, Redis.from_url(settings.redis_url), now=now, force=True, only=prefixes)
    for outcome in outcomes:
        print(outcome.line(), file=stdout)
    unmatched = [p for p in prefixes or [] if not any(o.job_id.startswith(p) for o in outcomes)]
    if unmatched:
        print(f"flowbot: no kept answer of job {', '.join(unmatched)}", file=sys.stderr)
    elif not outcomes:
        print(f"no kept answers in {settings.undelivered_dir}", file=stdout)
    return EXIT_FAILURE if unmatched or any(o.failed for o in outcomes) else EXIT_OK


def describe(about: About, now: datetime, settings: Settings) -> str:
    """`1a2b3c4d  kept 2026-11-20 14:05 UTC  age 2h05m  2 attempts  next 14:13 UTC  `ratio …`  why …`."""
    state = standing(about, now, settings)
    if state == "due":
        after = "next: now"
    elif state == "waiting" and about.next_attempt_at is not None:
        after = f"next {_time(about.next_attempt_at, now)}"
    elif state == "gave up":
        after = "gave up"
    elif state == "evidence":
        after = "not re-sent: its summary was delivered"
    else:
        after = "not re-sent by the workers: kept by an older version"
    kept_at = about.kept_at
    parts = [
        about.job_id[:8],
        f"kept {_time(kept_at, now)}" if kept_at else "kept ?",
        f"age {_age(now - kept_at)}" if kept_at else "age ?",
        f"{about.attempts} attempt{'s' if about.attempts != 1 else ''}",
        after,
        f"`{_cut(about.asked, ASKED_WIDTH)}`",
        f"why: {_cut(about.why, WHY_WIDTH)}",
    ]
    return "  ".join(parts)


def _time(when: datetime, now: datetime) -> str:
    when = when.astimezone(UTC)
    return f"{when:%H:%M} UTC" if when.date() == now.date() else f"{when:%Y-%m-%d %H:%M} UTC"


def _age(age: timedelta) -> str:
    minutes = max(int(age.total_seconds()) // 60, 0)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def _cut(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
