"""A job's status message: one message per job, edited as the job moves, with the buttons that fit.

Queued and running jobs offer *Cancel*; one whose pre-flight estimate is over FLOWBOT_CONFIRM_BYTES
asks *Run it* / *Don't run*; a finished one offers *Rerun with a wider window* and, when
the answer has more rows than its summary shows, *Show next rows*. The finished message leads with
the answer's one-sentence finding, so the channel reads as a list of findings; the details and the
CSV are in the message's thread.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.rendering.cells import human_bytes
from bot.request import FlowRequest
from bot.slack_ids import (
    CANCEL_ACTION,
    CONFIRM_DROP_ACTION,
    CONFIRM_RUN_ACTION,
    NEXT_ROWS_ACTION,
    RERUN_WIDER_ACTION,
)

MAX_BUTTON_VALUE = 2000


class JobState(Enum):
    """Where a job is; the last three are final."""

    QUEUED = "queued"
    RUNNING = "running"
    CONFIRM = "awaiting confirmation"
    ANSWERED = "answered"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset({JobState.ANSWERED, JobState.FAILED, JobState.CANCELLED})
"""States a job ends in: its status message stays in one of them."""

_EMOJI = {
    JobState.QUEUED: ":hourglass_flowing_sand:",
    JobState.RUNNING: ":mag:",
    JobState.CONFIRM: ":money_with_wings:",
    JobState.ANSWERED: ":white_check_mark:",
    JobState.FAILED: ":warning:",
    JobState.CANCELLED: ":no_entry_sign:",
}


@dataclass(frozen=True)
class StatusView:
    """What the status message says now."""

    state: JobState
    request: FlowRequest
    job_id: str
    asked_by: str
    position: int | None = None
    """Jobs ahead of this one in the queue (queued only)."""
    scanned: int | None = None
    """Bytes scanned so far (running, Athena only)."""
    finding: str | None = None
    """The answer's one sentence (answered), or why it failed / who cancelled it."""
    cancelled_by: str | None = None
    """The Slack user who cancelled it (cancelled only)."""
    estimate: str = ""
    """What the query would scan (awaiting confirmation), e.g. "about 2.3 TB in 4,210 files (~$11.50)"."""
    spent: str = ""
    """What a failed or cancelled query scanned before it stopped, and its cost (Athena bills it)."""
    confirmed_by: str | None = None
    """Who clicked *Run it* (queued or running after a confirmation)."""
    rerun: bool = False
    """Queued or running again because the worker running it stopped (RQ's retry)."""
    more_rows: bool = False
    in_thread: bool = True
    """Whether the answer is in this message's thread (False when it is in the request's thread)."""
    can_widen: bool = True
    where: str = ""
    """Where the answer went when not all of it is in the thread (e.g. "CSV sent to the asker by direct
    message"), so the channel knows where to look."""

    def line(self) -> str:
        """The message's first line."""
        state, asked = self.state, f"`{_escape(self.request.text)}`"
        if state is JobState.QUEUED:
            ahead = (
                ""
                if self.position is None
                else " (next in line)"
                if self.position == 0
                else f" ({self.position} ahead in the queue)"
            )
            again = " again after a worker stopped" if self.rerun else ""
            return f"{_EMOJI[state]} {asked} is queued{again}{ahead}{self._confirmed()}"
        if state is JobState.RUNNING:
            so_far = f" · scanned {human_bytes(self.scanned)} so far" if self.scanned else ""
            doing = "is re-running after a worker stopped" if self.rerun else "is running"
            return f"{_EMOJI[state]} {asked} {doing}{so_far}{self._confirmed()}"
        if state is JobState.CONFIRM:
            return f"{_EMOJI[state]} {asked} would scan {_escape(self.estimate)}. Run it?"
        if state is JobState.ANSWERED:
            where = " · details and CSV in the thread" if self.in_thread else ""
            where = f" · {_escape(self.where)}" if self.where else where
            return f"{_EMOJI[state]} *{_escape(self.finding or '')}*{where}"
        spent = f" · {_escape(self.spent)}" if self.spent else ""
        if state is JobState.FAILED:
            return f"{_EMOJI[state]} {asked} could not be answered: {_escape(self.finding or '')}{spent}"
        by = f" by <@{self.cancelled_by}>" if self.cancelled_by else ""
        return f"{_EMOJI[state]} {asked} was cancelled{by}{spent}"

    def _confirmed(self) -> str:
        return f" · run by <@{self.confirmed_by}> after the cost check" if self.confirmed_by else ""

    def context(self) -> str:
        """Who asked, the job id to quote, the window and channel context it used."""
        parts = [
            f"`{_escape(self.request.text)}`" if self.state is JobState.ANSWERED else "",
            f"asked by <@{self.asked_by}>",
            f"job {self.job_id[:8]}",
            self.request.window.describe(),
            f"channel context: {_escape(self.request.context)}" if self.request.context else "",
        ]
        return " · ".join(p for p in parts if p)

    def fallback(self) -> str:
        """Notification text."""
        if self.state is JobState.ANSWERED and self.finding:
            return self.finding
        return f"{self.request.text}: {self.state.value}"

    def blocks(self) -> list[dict[str, Any]]:
        """Block Kit for the message."""
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": self.line()[:2900]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": self.context()[:2900]}]},
        ]
        buttons = self.buttons()
        if buttons:
            blocks.append({"type": "actions", "block_id": self.block_id(), "elements": buttons})
        return blocks

    def block_id(self) -> str:
        """The buttons' block_id: new with each edit that changes them. Slack clients keep an input's
        state per block_id across `chat.update`s ("block_id should be unique for each message and each
        iteration of a message. If a message is updated, use a new block_id": Slack's Block type,
        docs.slack.dev/tools/node-slack-sdk/reference/types/interfaces/Block), so *Cancel* on a queued
        message must not be the same block as the answer's buttons."""
        fingerprint = hashlib.sha256(
            f"{self.state.value}|{self.more_rows}|{self.can_widen}|{self.scanned}".encode()
        ).hexdigest()[:8]
        return f"flowbot-job-{self.job_id[:8]}-{fingerprint}"

    def buttons(self) -> list[dict[str, Any]]:
        """Cancel while the job may still run; next rows and rerun wider once it is answered (a failure is
        most often a window too wide already: its reason says what to change)."""
        if self.state is JobState.CONFIRM:
            run = _button(CONFIRM_RUN_ACTION, "Run it", self.job_id)
            run["style"] = "primary"
            return [run, _button(CONFIRM_DROP_ACTION, "Don't run", self.job_id)]
        if self.state in {JobState.QUEUED, JobState.RUNNING}:
            return [
                {
                    "type": "button",
                    "action_id": CANCEL_ACTION,
                    "text": {"type": "plain_text", "text": "Cancel"},
                    "value": self.job_id,
                    "style": "danger",
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Stop this query?"},
                        "text": {"type": "plain_text", "text": self.request.text[:300]},
                        "confirm": {"type": "plain_text", "text": "Stop it"},
                        "deny": {"type": "plain_text", "text": "Keep it"},
                    },
                }
            ]
        found: list[dict[str, Any]] = []
        if self.state is JobState.ANSWERED and self.more_rows:
            found.append(_button(NEXT_ROWS_ACTION, "Show next rows", self.job_id))
        value = self.request.model_dump_json()
        if self.can_widen and self.state is JobState.ANSWERED and len(value) <= MAX_BUTTON_VALUE:
            found.append(_button(RERUN_WIDER_ACTION, "Rerun with a wider window", value))
        return found


def _button(action_id: str, text: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
