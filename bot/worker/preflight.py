"""The pre-flight check: before a query runs, what it would scan, against the channel's budget and the
confirmation threshold.

In order: estimate (bot/query/engines/estimate.py); refuse when the channel's daily budget would be passed
(no point asking anyone to confirm what may not run); ask for a *Run it* click when the estimate is
over FLOWBOT_CONFIRM_BYTES and nobody has clicked yet; otherwise book the estimate against the budget
and go. An engine that cannot estimate (the JSON table has no partitions) goes without either check.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.query.catalog import QueryTemplate
from bot.query.engines.base import Engine
from bot.query.results import Estimate
from bot.rendering.cells import human_bytes
from bot.request import FlowRequest
from bot.settings import Settings
from bot.worker.budget import ChannelBudget, Refusal, Reservation


@dataclass(frozen=True)
class Cleared:
    """Run it; `reservation` is where its bytes are booked (None without an estimate)."""

    estimate: Estimate | None
    reservation: Reservation | None


@dataclass(frozen=True)
class NeedsConfirmation:
    """Ask first: the estimate is over FLOWBOT_CONFIRM_BYTES."""

    estimate: Estimate


@dataclass(frozen=True)
class OverBudget:
    """Refuse: the channel's scans today plus this one would pass FLOWBOT_CHANNEL_DAILY_BYTES."""

    estimate: Estimate
    refusal: Refusal

    def reason(self) -> str:
        """What the channel reads: how much is left, what this would take, what to do."""
        left = max(self.refusal.budget - self.refusal.spent, 0)
        return (
            f"it would scan about {human_bytes(self.estimate.bytes)}, and this channel has "
            f"{human_bytes(left)} left of its daily {human_bytes(self.refusal.budget)} "
            "(FLOWBOT_CHANNEL_DAILY_BYTES, reset at 00:00 UTC); narrow the window or name an account"
        )


Verdict = Cleared | NeedsConfirmation | OverBudget


def preflight(
    engine: Engine,
    template: QueryTemplate,
    request: FlowRequest,
    *,
    settings: Settings,
    budget: ChannelBudget,
    team_id: str,
    channel_id: str,
    job_id: str,
    confirmed: bool,
) -> Verdict:
    """Estimate the scan and decide; raises EngineError when the estimate itself fails."""
    estimate = engine.estimate(template, request)
    if estimate is None:
        return Cleared(None, None)
    if budget.daily_bytes is not None:
        spent = budget.spent(team_id, channel_id, without=job_id)
        if spent + estimate.bytes > budget.daily_bytes:
            return OverBudget(estimate, Refusal(spent, estimate.bytes, budget.daily_bytes))
    threshold = settings.confirm_bytes
    if not confirmed and threshold is not None and estimate.bytes > threshold:
        return NeedsConfirmation(estimate)
    booked = budget.reserve(team_id, channel_id, job_id, estimate.bytes)
    if isinstance(booked, Refusal):  # another query of the channel booked in between
        return OverBudget(estimate, booked)
    return Cleared(estimate, booked)
