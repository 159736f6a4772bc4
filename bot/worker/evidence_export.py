"""`/flow evidence`: the worker's job exporting a channel's evidence log (bot/evidence/) into the channel.

It reads only the asking channel's entries, then posts one line (`N queries, X scanned, $Y`) and, in its
thread, two files: `evidence-<channel>-<date>.csv` (one row per query, the SQL in a column) and
`evidence-<channel>-<date>.jsonl` (each entry exactly as kept). Posted once, whatever the retries.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from bot.evidence.recorder import evidence_store_for
from bot.evidence.records import EvidenceLog, EvidenceRecord, write_csv, write_jsonl
from bot.evidence.request import EvidenceRequest
from bot.rendering.cells import human_bytes
from bot.rendering.cost import dollars
from bot.request import ReplyTarget
from bot.settings import Settings
from bot.slack.delivery import deliver_once, post_message, upload_csv
from bot.worker.started import Started, start


def summary_line(records: list[EvidenceRecord], channel_id: str, request: EvidenceRequest) -> str:
    """`Evidence log of #C… (all time): 2 queries, 1.2 MB scanned, $0.01 (answered 2).`"""
    where = f"Evidence log of <#{channel_id}> ({request.describe()})"
    if not records:
        return f":card_index_dividers: {where}: no queries were run here in that time."
    scanned = sum(r.bytes_scanned or 0 for r in records)
    costs = [r.cost_usd for r in records if r.cost_usd is not None]
    cost = dollars(sum(costs)) if costs else "$0 (local engine)"
    outcomes: dict[str, int] = {}
    for record in records:
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    counted = ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))
    queries = f"{len(records)} quer{'y' if len(records) == 1 else 'ies'}"
    return f":card_index_dividers: {where}: {queries}, {human_bytes(scanned)} scanned, {cost} ({counted})."


def export_files(
    log_: EvidenceLog, target: ReplyTarget, request: EvidenceRequest, folder: Path, today: datetime
) -> tuple[list[EvidenceRecord], Path, Path]:
    """The channel's entries, written as the CSV and the JSON lines in `folder`."""
    entries = log_.channel(target.team_id, target.channel_id, request.start, request.end)
    records = [record for record, _ in entries]
    stem = f"evidence-{target.channel_id}-{today:%Y-%m-%d}"
    csv_path, jsonl_path = folder / f"{stem}.csv", folder / f"{stem}.jsonl"
    with csv_path.open("w", newline="", encoding="utf-8") as out:
        write_csv(out, records)
    with jsonl_path.open("w", encoding="utf-8", newline="\n") as out:
        write_jsonl(out, (line for _, line in entries))
    return records, csv_path, jsonl_path


def run_evidence_job(request_data: dict[str, Any], target_data: dict[str, Any]) -> dict[str, Any]:
    """Export the asking channel's evidence entries into the channel, once."""
    settings = Settings()
    request = EvidenceRequest.model_validate(request_data)
    target = ReplyTarget.model_validate(target_data)
    started = start(settings, target)
    if not isinstance(started, Started):
        return started
    job, client = started.job, started.client
    evidence = EvidenceLog(evidence_store_for(settings))
    with tempfile.TemporaryDirectory(prefix="flowbot-evidence-") as tmp:
        records, csv_path, jsonl_path = export_files(evidence, target, request, Path(tmp), datetime.now(UTC))
        text = summary_line(records, target.channel_id, request)
        deliver_once(
            job.connection, target, lambda: _post(client, target, text, records, csv_path, jsonl_path)
        )
    return {"status": "answered", "entries": len(records)}


def _post(
    client: WebClient,
    target: ReplyTarget,
    text: str,
    records: list[EvidenceRecord],
    csv_path: Path,
    jsonl_path: Path,
) -> None:
    """The summary line where it was asked, the two files in its thread (by DM where files may not go)."""
    posted = post_message(client, target, text=text, thread_ts=target.thread_ts)
    if not records:
        return
    for path, kind in ((csv_path, "CSV"), (jsonl_path, "JSON lines")):
        upload_csv(
            client,
            target,
            posted,
            path,
            filename=path.name,
            title=f"Evidence log of {target.channel_id} ({kind})",
            about=f"the evidence log ({kind})",
        )
