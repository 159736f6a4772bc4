"""`/flow evidence [--last 7d | --from … --to …]`, as it crosses the queue to the worker that exports it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, model_validator


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class EvidenceRequest(BaseModel):
    """Export the channel's evidence log: the entries of queries asked in `[start, end)` (either open)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["evidence"] = "evidence"
    start: Annotated[AwareDatetime, AfterValidator(_utc)] | None = None
    end: Annotated[AwareDatetime, AfterValidator(_utc)] | None = None
    text: str = "evidence"
    """The command as understood, for the replies (and the failure report's `asked`)."""

    @model_validator(mode="after")
    def _ordered(self) -> EvidenceRequest:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError("the window's start must be before its end")
        return self

    def describe(self) -> str:
        """`all time`, `since 2026-11-19 00:00 UTC`, `2026-11-19 00:00 to 2026-11-20 00:00 UTC`."""
        form = "%Y-%m-%d %H:%M"
        if self.start is None and self.end is None:
            return "all time"
        if self.end is None and self.start is not None:
            return f"since {self.start:{form}} UTC"
        if self.start is None and self.end is not None:
            return f"before {self.end:{form}} UTC"
        return f"{self.start:{form}} to {self.end:{form}} UTC"
