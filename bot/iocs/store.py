"""The IOC store of record: every submission of every indicator, and an append-only audit log.

The store is the IOC table's own location, as the playbook keeps it: Athena's `incident_iocs` table
(OpenCSVSerde: separatorChar `,`, quoteChar `"`, escapeChar `\\`) reads every file under `table/`, and
the local engine reads the same layout from a folder. Redis may cache what is here, never replace it.

Layout, relative to the store root (`s3://bucket/prefix/` or a folder; the same on both):

    table/<slug>__<submission_id>.csv
        One submission: ONE line, no header, every field quoted, `\\` escaping `"` and `\\`
        (the serde's escapeChar, which Python's csv module writes and DuckDB's `escape` reads):
        threat_ip,threat_comment,submitted_by,submitted_at,channel,source,submission_id
        Athena's table declares the first two columns and ignores the rest. Comments are one line:
        line breaks and control characters become spaces.
    audit/<slug>/<submission_id>_<action>.json
        One audit event (`add` or `remove`), a JSON object, written once and never rewritten.

`<slug>` is `Indicator.slug` (`203.0.113.7`, `10.1.0.0_16`, `2600-1f18--1`); `<submission_id>` is
`<yyyymmddTHHMMSSffffffZ>-<uuid4 hex>`, unique and sorting by time. No object is ever rewritten, so
concurrent submissions never overwrite each other; an indicator is active while it has table objects.

Adding writes the audit event first (write-ahead: a crash leaves an audited add whose row is missing,
never a row nobody audited; repeating `add` with the same `Submission` finishes the job), then the
table object. Removing writes its audit event first, then deletes every table object of the indicator
whose submission id is older than the removal's. An add and a removal racing each other are ordered
by their ids: each writes before it reads the other's objects, so an add older than the removal is
deleted, by the remover or by the adder itself when it sees the newer removal, and an add newer than
the removal stays. Either way the audit history, read in id order, tells what the table holds.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal, TextIO, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

from bot.identifiers import CONVERSATION_ID, USER_ID
from bot.iocs.indicators import Indicator, parse_indicator
from bot.iocs.objects import ObjectExists, ObjectMissing, ObjectStore
from bot.rendering.csv_out import safe_cell

log = logging.getLogger(__name__)

Source = Literal["command", "modal", "message_shortcut", "cli"]
Action = Literal["add", "remove"]
Outcome = Literal["added", "known", "removed"]

TABLE = "table/"
AUDIT = "audit/"
TABLE_COLUMNS = (
    "threat_ip",
    "threat_comment",
    "submitted_by",
    "submitted_at",
    "channel",
    "source",
    "submission_id",
)
EXPORT_COLUMNS = ("threat_ip", "threat_comment", "first_submitted_by", "first_submitted_at", "submissions")
MAX_STORED_COMMENT = 2000
"""The longest comment a record may hold, looser on purpose than what a responder may type
(`commands.MAX_COMMENT`): records are checked again as they are read, and one that fails is skipped, so
lowering this would hide from `list`, `export` and `history` any record already kept with a longer one."""
READ_THREADS = 8
"""Objects are read in parallel: on S3 every submission is one GET."""

_SUBMISSION_ID = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{32}")
_CLI_ACTOR = re.compile(r"cli:[A-Za-z0-9._@-]{1,64}")
"""Who ran `flowbot ioc …` at a terminal: their login."""
_TABLE_KEY = re.compile(r"table/(?P<slug>[0-9a-f.:_-]+)__(?P<id>\d{8}T\d{12}Z-[0-9a-f]{32})\.csv")
_AUDIT_NAME = re.compile(r"(?P<id>\d{8}T\d{12}Z-[0-9a-f]{32})_(?P<action>add|remove)\.json")
_ID_TIME = "%Y%m%dT%H%M%S%fZ"


class TableDialect(csv.Dialect):
    """The table files' CSV, matching the OpenCSVSerde the `incident_iocs` DDL declares."""

    delimiter = ","
    quotechar = '"'
    escapechar = "\\"
    doublequote = False
    quoting = csv.QUOTE_ALL
    lineterminator = "\n"
    skipinitialspace = False
    strict = True


def new_submission_id(at: datetime) -> str:
    """`<yyyymmddTHHMMSSffffffZ>-<uuid4 hex>`: unique, and sorting as the moments do."""
    return f"{at.astimezone(UTC).strftime(_ID_TIME)}-{uuid.uuid4().hex}"


def utc_now() -> datetime:
    """The store's default clock."""
    return datetime.now(UTC)


def one_line(text: str) -> str:
    """Line breaks and control characters as spaces: a table row is one line, whatever was pasted."""
    return "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in text).strip()


def _indicator_value(value: str) -> str:
    return parse_indicator(value).value


def _comment(value: str) -> str:
    value = one_line(value)
    if len(value) > MAX_STORED_COMMENT:
        raise ValueError(f"a comment is at most {MAX_STORED_COMMENT} characters")
    return value


def _actor(value: str) -> str:
    if not (USER_ID.fullmatch(value) or _CLI_ACTOR.fullmatch(value)):
        raise ValueError("an actor is a Slack user ID (U…/W…) or cli:<login>")
    return value


def _channel(value: str | None) -> str | None:
    if value is not None and not CONVERSATION_ID.fullmatch(value):
        raise ValueError("a channel is a Slack channel ID (C…, G… or D…)")
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _submission_id(value: str) -> str:
    if not _SUBMISSION_ID.fullmatch(value):
        raise ValueError("a submission id is <yyyymmddTHHMMSSffffffZ>-<uuid4 hex>")
    return value


IndicatorValue = Annotated[str, AfterValidator(_indicator_value)]
Comment = Annotated[str, AfterValidator(_comment)]
Actor = Annotated[str, AfterValidator(_actor)]
ChannelId = Annotated[str | None, AfterValidator(_channel)]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
SubmissionId = Annotated[str, AfterValidator(_submission_id)]


class Submission(BaseModel):
    """One person's submission of one indicator: who, when, where from, how, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    indicator: IndicatorValue
    comment: Comment = ""
    submitted_by: Actor
    submitted_at: UtcDatetime
    channel: ChannelId = None
    source: Source
    submission_id: SubmissionId

    @classmethod
    def new(
        cls,
        indicator: str | Indicator,
        *,
        comment: str,
        submitted_by: str,
        channel: str | None,
        source: Source,
        at: datetime | None = None,
    ) -> Submission:
        """A submission made now (or `at`), with a fresh id that sorts with its time."""
        moment = at if at is not None else utc_now()
        if moment.tzinfo is None:
            raise ValueError("a submission's time must carry its zone (UTC)")
        moment = moment.astimezone(UTC)
        value = indicator.value if isinstance(indicator, Indicator) else indicator
        return cls(
            indicator=value,
            comment=comment,
            submitted_by=submitted_by,
            submitted_at=moment,
            channel=channel,
            source=source,
            submission_id=new_submission_id(moment),
        )


class AuditEvent(BaseModel):
    """One change to the store, as the audit log keeps it (never rewritten)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    indicator: IndicatorValue
    actor: Actor
    at: UtcDatetime
    channel: ChannelId = None
    source: Source
    comment: Comment = ""
    submission_id: SubmissionId

    @classmethod
    def of(cls, submission: Submission) -> AuditEvent:
        """The `add` event recording a submission."""
        return cls(
            action="add",
            indicator=submission.indicator,
            actor=submission.submitted_by,
            at=submission.submitted_at,
            channel=submission.channel,
            source=submission.source,
            comment=submission.comment,
            submission_id=submission.submission_id,
        )


@dataclass(frozen=True)
class AddOutcome:
    """What became of one submission: `added` (new indicator), `known` (another submission of one
    already active) or `removed` (a removal that started before this add finished took it away; the
    history shows both). Two first submissions racing may both be told `added`."""

    indicator: str
    outcome: Outcome
    submission: Submission


@dataclass(frozen=True)
class ActiveIndicator:
    """An indicator hunts use now, with every submission of it, oldest first."""

    indicator: str
    comment: str
    """The first non-empty comment, so a later "+1" does not replace the analyst's explanation."""
    submissions: tuple[Submission, ...]

    @property
    def first(self) -> Submission:
        return self.submissions[0]

    @property
    def first_submitted(self) -> datetime:
        return self.submissions[0].submitted_at

    @property
    def last_submitted(self) -> datetime:
        return self.submissions[-1].submitted_at


def table_key(slug: str, submission_id: str) -> str:
    return f"{TABLE}{slug}__{submission_id}.csv"


def table_prefix(slug: str) -> str:
    """`__` never occurs in a slug, so this prefix matches one indicator's objects only."""
    return f"{TABLE}{slug}__"


def audit_key(slug: str, submission_id: str, action: Action) -> str:
    return f"{AUDIT}{slug}/{submission_id}_{action}.json"


def table_row(submission: Submission) -> bytes:
    """The one-line CSV file Athena reads for a submission."""
    out = io.StringIO()
    csv.writer(out, TableDialect).writerow(
        [
            submission.indicator,
            submission.comment,
            submission.submitted_by,
            submission.submitted_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            submission.channel or "",
            submission.source,
            submission.submission_id,
        ]
    )
    return out.getvalue().encode()


def read_table_row(data: bytes) -> Submission:
    """A table file back into its submission; `ValueError` when it is not one of ours."""
    rows = list(csv.reader(io.StringIO(data.decode()), TableDialect))
    if len(rows) != 1 or len(rows[0]) != len(TABLE_COLUMNS):
        raise ValueError(f"a table file is one row of {len(TABLE_COLUMNS)} fields")
    fields: dict[str, object] = dict(zip(TABLE_COLUMNS, rows[0], strict=True))
    return Submission.model_validate(
        {
            "indicator": fields.pop("threat_ip"),
            "comment": fields.pop("threat_comment"),
            **fields,
            "channel": fields["channel"] or None,
        }
    )


def _as_indicator(indicator: str | Indicator) -> Indicator:
    return indicator if isinstance(indicator, Indicator) else parse_indicator(indicator)


def _id_of_table_key(key: str) -> str | None:
    match = _TABLE_KEY.fullmatch(key)
    return match.group("id") if match else None


T = TypeVar("T")


class IocStore:
    """Indicators and their audit log over an `ObjectStore` (S3 or a folder), safe for many writers."""

    def __init__(self, objects: ObjectStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.objects = objects
        self.clock = clock

    def add(self, submissions: Iterable[Submission]) -> list[AddOutcome]:
        """Store and audit each submission; a known indicator gets its new submission recorded too.

        Callers check `check_indicator` first: only they know whether the submitter is an admin.
        """
        return [self._add_one(submission) for submission in submissions]

    def _add_one(self, submission: Submission) -> AddOutcome:
        indicator = parse_indicator(submission.indicator)
        own = submission.submission_id
        event = AuditEvent.of(submission)
        self._put_once(audit_key(indicator.slug, own, "add"), event.model_dump_json().encode() + b"\n")
        key = table_key(indicator.slug, own)
        self._put_once(key, table_row(submission))
        removals = self._removal_ids(indicator.slug)
        if any(removal > own for removal in removals):
            self.objects.delete(key)  # the removal is newer: this add landed before it
            return AddOutcome(indicator.value, "removed", submission)
        since = max((removal for removal in removals if removal < own), default="")
        earlier = [
            other
            for other in map(_id_of_table_key, self.objects.list(table_prefix(indicator.slug)))
            if other is not None and since < other < own
        ]
        return AddOutcome(indicator.value, "known" if earlier else "added", submission)

    def _put_once(self, key: str, data: bytes) -> None:
        """Write-once, and idempotent: the same bytes already there mean a repeated `add`, not a clash."""
        try:
            self.objects.put_new(key, data)
        except ObjectExists:
            try:
                existing = self.objects.get(key)
            except ObjectMissing:  # a removal deleted it meanwhile: the removal decides
                return
            if existing != data:
                raise

    def _removal_ids(self, slug: str) -> list[str]:
        names = (key.rpartition("/")[2] for key in self.objects.list(f"{AUDIT}{slug}/"))
        matches = (_AUDIT_NAME.fullmatch(name) for name in names)
        return [m.group("id") for m in matches if m is not None and m.group("action") == "remove"]

    def remove(
        self,
        indicator: str | Indicator,
        *,
        actor: str,
        channel: str | None,
        source: Source,
        comment: str = "",
    ) -> int:
        """Take an indicator out of the table (its history stays); the number of submissions deleted.

        An unknown indicator changes nothing, so it returns 0 and writes no audit event.
        """
        target = _as_indicator(indicator)
        prefix = table_prefix(target.slug)
        if not self.objects.list(prefix):
            return 0
        at = self.clock().astimezone(UTC)
        event = AuditEvent(
            action="remove",
            indicator=target.value,
            actor=actor,
            at=at,
            channel=channel,
            source=source,
            comment=comment,
            submission_id=new_submission_id(at),
        )
        self.objects.put_new(
            audit_key(target.slug, event.submission_id, "remove"), event.model_dump_json().encode() + b"\n"
        )
        removed = 0
        for key in self.objects.list(prefix):  # listed after the event is written: see the module doc
            other = _id_of_table_key(key)
            if other is not None and other < event.submission_id:
                self.objects.delete(key)
                removed += 1
        return removed

    def active(self) -> list[ActiveIndicator]:
        """Every indicator in the table, oldest first submission first."""
        keys = [key for key in self.objects.list(TABLE) if _TABLE_KEY.fullmatch(key)]
        grouped: dict[str, list[Submission]] = {}
        for submission in self._read_all(keys, read_table_row):
            grouped.setdefault(submission.indicator, []).append(submission)
        indicators = []
        for value, submissions in grouped.items():
            ordered = tuple(sorted(submissions, key=lambda s: s.submission_id))
            comment = next((s.comment for s in ordered if s.comment), "")
            indicators.append(ActiveIndicator(value, comment, ordered))
        return sorted(indicators, key=lambda a: (a.first.submission_id, a.indicator))

    def count_active(self) -> int:
        """How many indicators are active, from one listing of the table (no object is read)."""
        slugs = set()
        for key in self.objects.list(TABLE):
            match = _TABLE_KEY.fullmatch(key)
            if match:
                slugs.add(match.group("slug"))
        return len(slugs)

    def history(self, indicator: str | Indicator) -> list[AuditEvent]:
        """Every add and removal of one indicator, oldest first."""
        target = _as_indicator(indicator)
        keys = [
            key
            for key in self.objects.list(f"{AUDIT}{target.slug}/")
            if _AUDIT_NAME.fullmatch(key.rpartition("/")[2])
        ]
        events = self._read_all(keys, lambda data: AuditEvent.model_validate(json.loads(data)))
        return sorted(events, key=lambda e: (e.submission_id, e.action))

    def _read_all(self, keys: Sequence[str], parse: Callable[[bytes], T]) -> list[T]:
        """Read and parse objects in parallel; skip ones deleted meanwhile and (loudly) foreign ones."""

        def read(key: str) -> T | None:
            try:
                return parse(self.objects.get(key))
            except ObjectMissing:
                return None
            except ValueError as exc:  # bad UTF-8, CSV, JSON or field: all ValueErrors
                log.warning("IOC store: skipping %s, which is not a valid object: %s", key, exc)
                return None

        if len(keys) <= 1:
            results = [read(key) for key in keys]
        else:
            with ThreadPoolExecutor(max_workers=min(READ_THREADS, len(keys))) as pool:
                results = list(pool.map(read, keys))
        return [r for r in results if r is not None]

    def export_csv(self, out: TextIO) -> int:
        """One row per active indicator, spreadsheet-safe (comments are attacker-influenced text)."""
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        rows = 0
        for active in self.active():
            writer.writerow(
                safe_cell(v)
                for v in (
                    active.indicator,
                    active.comment,
                    active.first.submitted_by,
                    active.first_submitted,
                    len(active.submissions),
                )
            )
            rows += 1
        return rows
