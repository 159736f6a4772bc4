"""Typed requests: what a parsed `/flow` command asks, with every value already validated.

A request is plain data (it crosses Redis as JSON), and it carries an absolute window: `--last 6h`
means the six hours before the moment the responder asked, not before a worker picked it up.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from bot.identifiers import ACCOUNT_ID, FINDING_ID, REGION, canonical_indicator

DAY_FORMAT = "%Y/%m/%d"
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How the JSON table's start_time/end_time text is written, so that text order is time order."""
DELIVERY_GRAIN_MINUTES = 5
"""VPC Flow Logs publishes to S3 every 5 minutes (its delivery grain)."""
DELIVERY_MARGIN = timedelta(days=1)
"""Flow-log files are foldered by delivery time, so a record can sit in the next day's folder."""
EVENT_DAY_FORMAT = "%Y%m%d"
"""Security Lake's `eventDay` partition (`20261119`)."""
HOUR_FORMAT = "%Y/%m/%d/%H"
"""An hourly partition as the layouts' partition predicates compare it (`2026/11/19/05`)."""
YEAR_FORMAT = "%Y"
"""A Hive layout's `year_partition` as its partition predicate compares it (`2026`): the years of the
window's first and last partition days (`first_year`, `last_year`)."""
MAX_HUNTED_INDICATORS = 500
"""The most indicators a narrowed hunt names: they travel as one bound string (Athena's query string, with its
parameters, is at most 262,144 bytes: StartQueryExecution in the Athena API Reference), and one `ioc add`
holds far fewer."""
HOURLY_DELIVERY_MARGIN = timedelta(hours=1)
"""With hourly partitions, how far past the window's last hour a record's file can be foldered. VPC Flow Logs
aggregates a flow for at most 10 minutes and publishes every 5 ("Flow log records", "Flow log files" in the
Amazon VPC User Guide), so a record is typically in its start hour's folder or the next one; a delivery
more than an hour late is missed by a window ending at that hour (README, known limits)."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[
    datetime,
    AfterValidator(_utc),
    PlainSerializer(lambda v: v.strftime(ISO_FORMAT), return_type=str, when_used="json"),
]


def _no_zone(value: IPv4Address | IPv6Address) -> IPv4Address | IPv6Address:
    if isinstance(value, IPv6Address) and value.scope_id is not None:
        raise ValueError("an address with a zone id (%...) is not a flow-log address")
    return value


IpValue = Annotated[
    IPv4Address | IPv6Address, AfterValidator(_no_zone), PlainSerializer(str, return_type=str)
]


class Window(BaseModel):
    """A half-open time window [start, end) on a record's `start`, in whole UTC seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    start: UtcDatetime
    end: UtcDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start >= self.end:
            raise ValueError("the window's start must be before its end")
        if self.start.microsecond or self.end.microsecond:
            raise ValueError("window bounds are whole seconds")
        return self

    @property
    def from_ts(self) -> int:
        """First epoch second in the window."""
        return int(self.start.timestamp())

    @property
    def to_ts(self) -> int:
        """First epoch second after the window."""
        return int(self.end.timestamp())

    @property
    def first_day(self) -> date:
        """First partition day that can hold a record of the window."""
        return self.start.date()

    @property
    def last_day(self) -> date:
        """Last partition day that can hold a record of the window (its last day plus the margin)."""
        return (self.end - timedelta(seconds=1)).date() + DELIVERY_MARGIN

    def days(self) -> list[date]:
        """Every partition day to open, in order."""
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(count)]

    @property
    def first_hour(self) -> datetime:
        """First hourly partition that can hold a record of the window."""
        return self.start.replace(minute=0, second=0)

    @property
    def last_hour(self) -> datetime:
        """Last hourly partition that can hold a record of the window (its last hour plus the margin)."""
        return (self.end - timedelta(seconds=1)).replace(minute=0, second=0) + HOURLY_DELIVERY_MARGIN

    def hours(self) -> list[datetime]:
        """Every hourly partition to open, in order."""
        count = int((self.last_hour - self.first_hour) / timedelta(hours=1)) + 1
        return [self.first_hour + timedelta(hours=i) for i in range(count)]

    def column_bounds(self) -> dict[str, str]:
        """Each time partition column's own range, for layouts that keep month, day and hour in separate
        columns: `first_month`/`last_month`, `first_mday`/`last_mday`, `first_hh`/`last_hh` (two digits).

        A range narrows a column only where the ones above it are the same at both ends (months within one
        year, days within one month, hours within one day); otherwise it is the column's whole range. So
        each is a plain one-column range that a partition projection can apply by itself, and together they
        hold every partition of the window (the exact bound is the joined predicate beside them).
        """
        first, last = self.first_day, self.last_day
        one_year, one_month = first.year == last.year, (first.year, first.month) == (last.year, last.month)
        hour_from, hour_to = self.first_hour, self.last_hour
        one_day = hour_from.date() == hour_to.date()
        return {
            "first_month": f"{first.month:02d}" if one_year else "01",
            "last_month": f"{last.month:02d}" if one_year else "12",
            "first_mday": f"{first.day:02d}" if one_month else "01",
            "last_mday": f"{last.day:02d}" if one_month else "31",
            "first_hh": f"{hour_from.hour:02d}" if one_day else "00",
            "last_hh": f"{hour_to.hour:02d}" if one_day else "23",
        }

    def snapped(self, minutes: int = DELIVERY_GRAIN_MINUTES) -> Window:
        """The window widened to whole `minutes` (start down, end up), so that questions asked a few
        minutes apart over "the last hour" become the same query, and Athena can reuse its result."""
        grain = minutes * 60
        start, end = self.from_ts // grain * grain, -(-self.to_ts // grain) * grain
        return Window(start=datetime.fromtimestamp(start, UTC), end=datetime.fromtimestamp(end, UTC))

    def describe(self) -> str:
        """Short UTC form for a phone: `2026-11-24 14:00 → 2026-11-25 14:00 UTC`."""
        fmt = "%Y-%m-%d %H:%M" if not (self.start.second or self.end.second) else "%Y-%m-%d %H:%M:%S"
        return f"{self.start.strftime(fmt)} → {self.end.strftime(fmt)} UTC"


class FlowRequest(BaseModel):
    """One query to run: which template, its typed parameters, and the scope that bounds it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    query: str = Field(description="Template name, e.g. `ratio`.")
    params: dict[str, IpValue] = Field(default_factory=dict)
    window: Window
    account: str | None = Field(None, pattern=ACCOUNT_ID.pattern)
    region: str | None = Field(None, pattern=REGION.pattern)
    limit: int = Field(ge=1)
    text: str = Field(description="The command as Flowbot understood it, shown with the answer.")
    context: str | None = Field(
        None,
        description="The channel context's values this request used, described for its scope line "
        "(`account 012345678901 · us-east-1 · last 6h`); None when it used none.",
    )
    indicators: tuple[Annotated[str, AfterValidator(canonical_indicator)], ...] = Field(
        (),
        max_length=MAX_HUNTED_INDICATORS,
        description="A hunt narrowed to these indicators (a retro-hunt of a new submission), each in its "
        "canonical text; empty for every indicator in the store.",
    )

    def bindings(self) -> dict[str, object]:
        """Values for every placeholder a template may use; engines bind only those it names."""
        values: dict[str, object] = {name: str(value) for name, value in self.params.items()}
        values.update(
            from_ts=self.window.from_ts,
            to_ts=self.window.to_ts,
            from_iso=self.window.start.strftime(ISO_FORMAT),
            to_iso=self.window.end.strftime(ISO_FORMAT),
            first_day=self.window.first_day.strftime(DAY_FORMAT),
            last_day=self.window.last_day.strftime(DAY_FORMAT),
            first_hour=self.window.first_hour.strftime(HOUR_FORMAT),
            last_hour=self.window.last_hour.strftime(HOUR_FORMAT),
            first_eventday=self.window.first_day.strftime(EVENT_DAY_FORMAT),
            last_eventday=self.window.last_day.strftime(EVENT_DAY_FORMAT),
            first_year=self.window.first_day.strftime(YEAR_FORMAT),
            last_year=self.window.last_day.strftime(YEAR_FORMAT),
            **self.window.column_bounds(),
            account=self.account or "",
            region=self.region or "",
            indicators=f",{','.join(self.indicators)}," if self.indicators else "",
            limit=self.limit,
        )
        return values


class ReplyTarget(BaseModel):
    """Where and for whom to answer: taken from the Slack request, carried through the queue."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    team_id: str
    channel_id: str
    user_id: str
    job_id: str
    response_url: str | None = None
    thread_ts: str | None = None
    """The thread the request was made in (an @mention or a message shortcut): answers go there."""
    enterprise_id: str | None = None
    """The Enterprise Grid org, for finding the installation's token in multi-workspace mode."""


class GuardDutyRequest(BaseModel):
    """`guardduty <finding-id>`: read the finding in a worker and run `ratio` and `timeline` for its
    addresses, in one thread. Plain data: it crosses Redis as JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    finding_id: str = Field(pattern=FINDING_ID.pattern)
    region: str | None = Field(None, pattern=REGION.pattern)
    """The region of the finding when the command (or the finding's ARN) names one."""
    text: str = Field(description="The command as Flowbot understood it, shown with the answer.")
