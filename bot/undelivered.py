"""Answers Slack would not take, kept on the worker's disk so a finished query is never lost.

When every retry of a post has failed (Slack down, a token revoked mid-incident), the job keeps
the summary and the CSV under `FLOWBOT_UNDELIVERED_DIR/<job id>/` and logs where, with the job id
the asker saw on the status message. The query is not run again for it: the answer is here.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from bot.rendering.summary import Summary

log = logging.getLogger(__name__)


def keep_undelivered(folder: Path, job_id: str, summary: Summary, csv_path: Path | None, why: str) -> Path:
    """Write `summary.txt`, `result.csv` and `about.json` for a query's answer; the folder they are in."""
    return keep_reply(
        folder,
        job_id,
        asked=summary.request.text,
        text=summary.text(),
        csv_path=csv_path,
        why=why,
        about={"rows": summary.stats.rows, "bytes_scanned": summary.stats.bytes_scanned},
    )


def keep_reply(
    folder: Path,
    job_id: str,
    *,
    asked: str,
    text: str,
    csv_path: Path | None,
    why: str,
    about: dict[str, int] | None = None,
) -> Path:
    """Any reply Slack would not take (an answer, an indicator change's confirmation), kept the same way."""
    target = folder.expanduser() / job_id
    target.mkdir(parents=True, exist_ok=True)
    (target / "summary.txt").write_text(text + "\n", encoding="utf-8")
    if csv_path is not None and csv_path.exists():
        shutil.copyfile(csv_path, target / "result.csv")
    record = {"job_id": job_id, "asked": asked, **(about or {}), "why": why}
    (target / "about.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.error(
        "answer of job %s not delivered (%s); kept in %s", job_id, why, target, extra={"job_id": job_id}
    )
    return target
