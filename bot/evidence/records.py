"""The evidence log's records and where they are kept: one write-once object per job outcome.

Layout, relative to the store root (the IOC store's, `s3://bucket/prefix/` or a folder, unless
FLOWBOT_EVIDENCE_STORE names another):

    evidence/<team>/<channel>/<asked: yyyymmddTHHMMSSffffffZ>-<job id>.<outcome>.json
        One query's outcome (answered, failed, cancelled, refused, undelivered): a JSON object on one line,
        written once (`put_new`) and never rewritten.

The key holds nothing that changes when a job runs again (the moment it was asked is the RQ job's
creation time), so a re-run reaching the same outcome finds its key taken (`ObjectExists`) and adds no
second entry. A channel's entries are one listing of its folder, in the order they were asked; Redis holds
none of it, so flushing Redis loses no evidence.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Annotated, Literal, TextIO

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from bot.iocs.objects import ObjectExists, ObjectMissing, ObjectStore
from bot.rendering.csv_out import safe_cell

log = logging.getLogger(__name__)

Outcome = Literal["answered", "failed", "cancelled", "refused", "undelivered"]
EVIDENCE = "evidence/"
READ_THREADS = 8
"""Entries are read in parallel: on S3 each is one GET."""
_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TIME = "%Y%m%dT%H%M%S%fZ"
_NAME = re.compile(
    r"(?P<at>[0-9]{8}T[0-9]{12}Z)-(?P<job>[A-Za-z0-9_-]{1,64})\."
    r"(?P<outcome>answered|failed|cancelled|refused|undelivered)\.json"
)
CSV_COLUMNS = (
    "asked_at",
    "started_at",
    "finished_at",
    "job_id",
    "outcome",
    "reason",
    "asked_by",
    "confirmed_by",
    "cancelled_by",
    "command",
    "template",
    "engine",
    "query_id",
    "bytes_scanned",
    "cost_usd",
    "rows",
    "csv_sha256",
    "permalink",
    "sql",
    "sql_parameters",
    "parameters",
    "context",
    "team_id",
    "channel_id",
)
"""The export's CSV: one row per entry, the SQL and its values in columns (JSON for the values)."""


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _segment(value: str) -> str:
    if not _SEGMENT.fullmatch(value):
        raise ValueError("a team, channel or job id is 1 to 64 letters, digits, `_` or `-`")
    return value


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
Segment = Annotated[str, AfterValidator(_segment)]
BoundValue = str | int


class EvidenceRecord(BaseModel):
    """One query's outcome in a channel, as an incident report needs it: who asked, when, exactly what
    was sent to the engine, what it read and cost, and the fingerprint of the CSV Slack received."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    team_id: Segment
    channel_id: Segment
    job_id: Segment
    outcome: Outcome
    reason: str | None = Field(None, description="Why it failed, was refused or was cancelled.")
    asked_by: str = Field(description="The Slack user id of who asked.")
    confirmed_by: str | None = Field(None, description="Who clicked *Run it*, when the estimate asked first.")
    cancelled_by: str | None = None
    asked_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime
    command: str = Field(description="The command as Flowbot understood it (`ratio 10.0.1.25 --last 6h`).")
    template: str
    engine: str
    sql: str | None = Field(None, description="The SQL exactly as sent to the engine; None if none was.")
    sql_parameters: list[str] | dict[str, BoundValue] | None = Field(
        None,
        description="Athena: the ExecutionParameters in `?` order; local: DuckDB's named values.",
    )
    parameters: dict[str, BoundValue] = Field(description="The request's bindings (FlowRequest.bindings).")
    context: str | None = None
    query_id: str | None = Field(
        None, description="Athena's query execution id, or the local engine's token."
    )
    bytes_scanned: int | None = None
    cost_usd: float | None = None
    rows: int | None = None
    csv_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    permalink: str | None = None

    @property
    def key(self) -> str:
        """Where this entry is kept: the same for every run of its job that reaches the same outcome."""
        at = self.asked_at.strftime(_TIME)
        return f"{channel_prefix(self.team_id, self.channel_id)}{at}-{self.job_id}.{self.outcome}.json"

    def line(self) -> bytes:
        """The entry as stored: one line of JSON."""
        return self.model_dump_json().encode()

    def csv_row(self) -> list[str]:
        """The export's CSV row: plain values, times in ISO 8601, the values bound to the SQL as JSON."""
        data = self.model_dump(mode="json")
        row: list[str] = []
        for column in CSV_COLUMNS:
            value = data[column]
            if isinstance(value, list | dict):
                row.append(json.dumps(value, sort_keys=column == "parameters"))
            else:
                row.append("" if value is None else str(value))
        return row


def channel_prefix(team_id: str, channel_id: str) -> str:
    """The folder of one channel's entries (a channel is read by listing only its own folder)."""
    return f"{EVIDENCE}{_segment(team_id)}/{_segment(channel_id)}/"


class EvidenceLog:
    """The evidence entries in an object store: written once each, read a channel at a time."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def write(self, record: EvidenceRecord) -> bool:
        """Keep the entry; False when this job's outcome is already kept (a re-run): that one stays."""
        try:
            self.store.put_new(record.key, record.line())
        except ObjectExists:
            log.info("evidence of job %s (%s) is already kept", record.job_id, record.outcome)
            return False
        return True

    def channel(
        self, team_id: str, channel_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[tuple[EvidenceRecord, bytes]]:
        """The channel's entries asked in `[start, end)` (either open), oldest first, each with its stored
        bytes. Only the channel's own folder is listed; an entry that does not read back as one of this
        channel's is skipped with a warning, never shown."""
        keys = []
        for key in self.store.list(channel_prefix(team_id, channel_id)):
            match = _NAME.fullmatch(key.rpartition("/")[2])
            if match is None:
                continue
            at = datetime.strptime(match["at"], _TIME).replace(tzinfo=UTC)
            if (start is None or at >= start) and (end is None or at < end):
                keys.append(key)
        with ThreadPoolExecutor(READ_THREADS) as pool:
            read = list(pool.map(self._read, keys))
        entries = []
        for key, data in zip(keys, read, strict=True):
            if data is None:
                continue
            try:
                record = EvidenceRecord.model_validate_json(data)
            except ValidationError as exc:
                log.warning("evidence entry %s does not read as one: %s", key, exc.errors()[0]["msg"])
                continue
            if (record.team_id, record.channel_id, record.key) != (team_id, channel_id, key):
                log.warning("evidence entry %s holds another channel's or job's record; skipped", key)
                continue
            entries.append((record, data.strip()))
        return entries

    def _read(self, key: str) -> bytes | None:
        try:
            return self.store.get(key)
        except ObjectMissing:
            return None


def write_csv(out: TextIO, records: Iterable[EvidenceRecord]) -> None:
    """The export's CSV: a header, then one row per entry. Cells a spreadsheet would evaluate get a
    leading apostrophe (bot/rendering/csv_out.py); the JSON lines keep every value exactly."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([safe_cell(v) for v in record.csv_row()] for record in records)


def write_jsonl(out: TextIO, lines: Iterable[bytes]) -> None:
    """The export's JSON lines: each entry exactly as stored, one per line."""
    for line in lines:
        out.write(line.decode() + "\n")
