"""Answers Slack would not take, kept on the worker's disk so a finished query is never lost.

When every retry of a post has failed (Slack down, a token revoked mid-incident), the job keeps
the summary and the CSV under `FLOWBOT_UNDELIVERED_DIR/<job id>/` and logs where, with the job id
the asker saw on the status message. The query is not run again for it: the answer is here, and
`about.json` holds what re-sending it needs (where to post, the status message, the request), which
`bot/worker/redelivery.py` uses once Slack takes posts again.

`about.json` is written last and replaced whole (a temporary file, then `os.replace`), so a sweep
reading the folder sees either no record or a complete one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from bot.rendering.summary import Summary
from bot.request import ReplyTarget
from bot.settings import Settings

log = logging.getLogger(__name__)
ABOUT = "about.json"
SUMMARY = "summary.txt"
CSV = "result.csv"
Kind = Literal["answer", "reply", "csv"]
"""`answer`: a query's summary and CSV; `reply`: an indicator command's reply; `csv`: only an answer's CSV
(its summary was delivered), kept for the operators and never re-sent."""


class About(BaseModel):
    """`about.json`: what was kept, why, and what re-sending it needs. Folders kept by older versions have
    only `job_id`, `asked`, `why` (and the answer's `rows`, `bytes_scanned`): they are listed, not re-sent."""

    model_config = ConfigDict(extra="allow")
    job_id: str
    asked: str = ""
    why: str = ""
    kind: Kind | None = None
    target: ReplyTarget | None = None
    request: dict[str, Any] | None = None
    """The FlowRequest as JSON (answers): the status message is edited to it."""
    finding: str | None = None
    status_ts: str | None = None
    answer_thread: str | None = None
    """The thread the answer was to go in (the status message's, or the request's)."""
    rows: int | None = None
    kept_at: AwareDatetime | None = None
    attempts: int = 0
    """Sweeps that tried to re-send it and failed."""
    next_attempt_at: AwareDatetime | None = None
    gave_up_at: AwareDatetime | None = None
    """When it passed FLOWBOT_UNDELIVERED_MAX_ATTEMPTS or _MAX_AGE_HOURS (logged once, then)."""
    posted: dict[str, Any] | None = None
    """Where a re-send already posted the summary, so a retry after a failed upload sends only the CSV."""

    @property
    def resendable(self) -> bool:
        """Whether this record says where to post: kept by this version, an answer or a reply."""
        return self.kind in ("answer", "reply") and self.target is not None


def keep_undelivered(
    settings: Settings,
    target: ReplyTarget,
    summary: Summary,
    csv_path: Path | None,
    why: str,
    *,
    status_ts: str | None = None,
    answer_thread: str | None = None,
    kind: Kind = "answer",
    now: datetime | None = None,
) -> Path:
    """Write `summary.txt`, `result.csv` and `about.json` for a query's answer; the folder they are in.

    `kind="csv"` when only the CSV was refused: the summary is in Slack, the file stays for the operators."""
    return keep_reply(
        settings,
        target,
        asked=summary.request.text,
        text=summary.text(),
        csv_path=csv_path,
        why=why,
        kind=kind,
        now=now,
        about={
            "request": summary.request.model_dump(mode="json"),
            "finding": summary.finding(),
            "status_ts": status_ts,
            "answer_thread": answer_thread,
            "rows": summary.stats.rows,
            "bytes_scanned": summary.stats.bytes_scanned,
        },
    )


def keep_reply(
    settings: Settings,
    target: ReplyTarget,
    *,
    asked: str,
    text: str,
    csv_path: Path | None,
    why: str,
    kind: Kind = "reply",
    about: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Path:
    """Any reply Slack would not take (an answer, an indicator change's confirmation), kept the same way;
    its first re-send is due FLOWBOT_UNDELIVERED_RETRY_SECONDS from now."""
    kept_at = now or datetime.now(UTC)
    folder = settings.undelivered_dir.expanduser() / target.job_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SUMMARY).write_text(text + "\n", encoding="utf-8")
    if csv_path is not None and csv_path.exists():
        shutil.copyfile(csv_path, folder / CSV)
    record = About.model_validate(
        {
            "job_id": target.job_id,
            "asked": asked,
            **(about or {}),
            "why": why,
            "kind": kind,
            "target": target.model_dump(mode="json"),
            "kept_at": kept_at,
            "attempts": 0,
            "next_attempt_at": kept_at + timedelta(seconds=settings.undelivered_retry_seconds),
        }
    )
    write_about(folder, record)
    log.error(
        "answer of job %s not delivered (%s); kept in %s",
        target.job_id,
        why,
        folder,
        extra={"job_id": target.job_id},
    )
    return folder


def write_about(folder: Path, about: About) -> None:
    """Replace `about.json` whole: a reader never sees half of it."""
    text = json.dumps(about.model_dump(mode="json"), indent=2) + "\n"
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=folder, prefix=".about-", suffix=".tmp", delete=False
    ) as out:
        out.write(text)
    os.replace(out.name, folder / ABOUT)


def read_about(folder: Path) -> About | None:
    """The folder's record; None while it is being written (no about.json yet) or when unreadable."""
    try:
        return About.model_validate_json((folder / ABOUT).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError) as exc:
        log.warning("unreadable %s in %s: %s", ABOUT, folder, exc)
        return None


def kept(settings: Settings) -> list[tuple[Path, About]]:
    """Every kept answer with a readable record, oldest first (by when it was kept, else by the folder's
    time)."""
    root = settings.undelivered_dir.expanduser()
    try:
        folders = [p for p in root.iterdir() if p.is_dir()]
    except FileNotFoundError:
        return []
    found = [(folder, about) for folder in folders if (about := read_about(folder)) is not None]

    def when(item: tuple[Path, About]) -> datetime:
        folder, about = item
        if about.kept_at is not None:
            return about.kept_at
        try:
            return datetime.fromtimestamp(folder.stat().st_mtime, UTC)
        except OSError:
            return datetime.max.replace(tzinfo=UTC)

    return sorted(found, key=lambda item: (when(item), item[1].job_id))
