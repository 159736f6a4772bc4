"""The answer a responder reads on a phone: what was asked, a small table, what it scanned.

One `Summary` renders three ways: Slack Block Kit (with a plain-text fallback for notifications)
and plain text for the terminal, so `flowbot ask` prints exactly what Slack shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.query.catalog import QueryTemplate
from bot.query.results import Column, Row, ScanStats
from bot.rendering.cells import cell, human_bytes
from bot.rendering.cost import scan_phrase
from bot.rendering.digest import DigestLine
from bot.rendering.finding import finding_sentence
from bot.rendering.table import Grid, monospace, table_block
from bot.request import FlowRequest


@dataclass(frozen=True)
class Summary:
    """Everything the phone view needs; built from a finished query."""

    request: FlowRequest
    template: QueryTemplate
    columns: list[Column]
    head: list[Row]
    """The result's first rows: the summary shows `shown` of them, *Show next rows* pages the rest."""
    stats: ScanStats
    engine: str
    digest: list[DigestLine] | None = None
    """For a hunt: flows folded per host and indicator, shown instead of the first rows."""
    shown: int = 10
    machines: tuple[tuple[str, str], ...] = ()
    """What the shown rows' addresses and ENIs are (bot/enrich/): (value, name), first seen first."""
    names_note: str | None = None
    """`names unavailable: <why>` when naming them failed or ran out of time."""

    def headline(self) -> str:
        """`Data ratio · ratio 10.0.1.25`."""
        return f"{self.template.title} · {self.request.text}"

    def finding(self) -> str:
        """The answer in one sentence: the first thing a responder reads on a phone."""
        return finding_sentence(
            self.template, self.columns, self.head, self.stats.rows, self.request, self.digest
        )

    def scope_line(self) -> str:
        """Window, context, rows, what was scanned and how long it took: every answer says it."""
        req, st = self.request, self.stats
        where = " · ".join(x for x in (req.account, req.region) if x)
        rows = f"{st.rows:,} row{'s' if st.rows != 1 else ''}"
        shown = min(self.shown, len(self.grid().rows))
        if self.digest is not None:
            rows = (
                f"{st.rows:,} flow{'s' if st.rows != 1 else ''} in {len(self.digest):,} host/indicator pairs"
            )
        elif st.rows > shown:
            rows += f" (first {shown} shown, all in the CSV)"
        if self.template.uses_limit and st.rows >= req.limit:
            rows += f", stopped at --limit {req.limit:,}"
        scanned = scan_phrase(st)
        context = f"channel context: {req.context}" if req.context else ""
        parts = [
            req.window.describe(),
            context,
            where,
            rows,
            scanned,
            f"{st.elapsed_ms / 1000:.1f} s ({self.engine})",
        ]
        return " · ".join(p for p in parts if p)

    def grid(self) -> Grid:
        """Every kept row as formatted cells under short headings (at most 4 narrow columns)."""
        if self.digest is not None:
            return Grid(
                ["host", "indicator", "bytes", "seen (UTC)"],
                [
                    [
                        d.host,
                        ("→ " if d.to_indicator else "← ") + d.indicator,
                        human_bytes(d.bytes),
                        _seen(d.first, d.last),
                    ]
                    for d in self.digest[: max(len(self.head), self.shown)]
                ],
                [False, False, True, False],
            )
        index = {c.name: i for i, c in enumerate(self.columns)}
        specs = [next(c for c in self.template.columns if c.name == n) for n in self.template.summary_columns]
        return Grid(
            [s.heading for s in specs],
            [[cell(row[index[s.name]], s.kind) for s in specs] for row in self.head],
            [s.kind in {"bytes", "count", "number", "port"} for s in specs],
        )

    def shown_grid(self) -> Grid:
        """The rows the summary itself shows."""
        return self.grid().page(0, self.shown)

    def notes(self) -> list[str]:
        """Lines under the table: how many more rows, and for a hunt which arrow means what."""
        if self.digest is None:
            return []
        more = len(self.digest) - len(self.shown_grid().rows)
        tail = [f"… and {more:,} more pairs in the CSV"] if more > 0 else []
        return [
            *tail,
            "→ the host sent to the indicator (INBOUND in the CSV), "
            "← the indicator sent to the host (OUTBOUND)",
        ]

    def machines_lines(self) -> list[str]:
        """The names section: `Machines`, then one `value  name` line each, and the note when names are
        missing; empty when enrichment is off or found nothing."""
        lines = [f"{value}  {name}" for value, name in self.machines[:MAX_MACHINES]]
        if len(self.machines) > MAX_MACHINES:
            lines.append(f"… and {len(self.machines) - MAX_MACHINES} more named in the CSV")
        return (["Machines", *lines] if lines else []) + ([self.names_note] if self.names_note else [])

    def table(self) -> str:
        """The shown rows as aligned monospace text; empty when nothing matched."""
        text = monospace(self.shown_grid())
        return "\n".join([text, *self.notes()]) if text else ""

    def empty_note(self) -> str:
        """Why there is no table: no files in scope, or files but no match."""
        if self.stats.files_scanned == 0:  # only the local engine counts files
            return "No flow-log files cover this window, account and region."
        return "No records matched."

    def text(self) -> str:
        """Plain text for a terminal: the finding, the table, the scope."""
        body = self.table() or self.empty_note()
        names = "\n".join(self.machines_lines())
        names = f"\n\n{names}" if names else ""
        return f"{self.finding()}\n\n{self.headline()}\n{body}{names}\n\n{self.scope_line()}"

    def fallback(self) -> str:
        """Notification text for Slack (shown where blocks are not): the finding."""
        return self.finding()

    def blocks(self, asked_by: str | None = None, *, rich_table: bool = True) -> list[dict[str, Any]]:
        """Block Kit: the finding, what was asked, the rows (a table block, or monospace), the scope.

        `rich_table=False` is the fallback for when Slack refuses the table block.
        """
        who = f" · asked by <@{asked_by}>" if asked_by else ""
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(self.finding())}*"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{_escape(self.headline())}{who}"}]},
        ]
        table = table_block(self.shown_grid()) if rich_table else None
        if table is None:
            text = self.table()
            body = f"```\n{_escape(text)}\n```" if text else f"_{self.empty_note()}_"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _fit(body)}})
        machines = [f"`{_escape(v)}` {_escape(n)}" for v, n in self.machines[:MAX_MACHINES]]
        if machines:
            more = len(self.machines) - len(machines)
            tail = [f"… and {more} more named in the CSV"] if more > 0 else []
            text = "\n".join(["*Machines*", *machines, *tail])
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _fit(text)}})
        names_note = [self.names_note] if self.names_note else []
        scope = "\n".join([*(self.notes() if table else []), *names_note, self.scope_line()])
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _fit(_escape(scope))}]})
        if table is not None:
            blocks.append(table)  # Slack renders a table at the bottom of the message anyway
        return blocks


MAX_MACHINES = 10
"""Names the summary lists at most (every named value is in the CSV's `_name` columns)."""


def _seen(first: datetime | None, last: datetime | None) -> str:
    """`11-19 04:07-08:10` within a day, `11-18 22:10-11-19 01:00` across days."""
    if first is None or last is None:
        return "·"
    end = f"{last:%H:%M}" if first.date() == last.date() else f"{last:%m-%d %H:%M}"
    return f"{first:%m-%d %H:%M}-{end}"


def _fit(text: str, limit: int = 2900) -> str:
    """Keep a section or context under Slack's 3,000 characters, closing a cut code block."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 6].rsplit("\n", 1)[0]
    return cut + ("\n…\n```" if cut.startswith("```") else " …")


def _escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
