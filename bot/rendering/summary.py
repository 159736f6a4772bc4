"""The answer a responder reads on a phone: what was asked, a small table, what it scanned.

One `Summary` renders three ways: Slack Block Kit (with a plain-text fallback for notifications)
and plain text for the terminal, so `flowbot ask` prints exactly what Slack shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.catalog import QueryTemplate
from bot.engines.base import Column, Row, ScanStats
from bot.rendering.cells import cell, human_bytes
from bot.rendering.digest import DigestLine
from bot.request import FlowRequest


@dataclass(frozen=True)
class Summary:
    """Everything the phone view needs; built from a finished query."""

    request: FlowRequest
    template: QueryTemplate
    columns: list[Column]
    head: list[Row]
    stats: ScanStats
    engine: str
    digest: list[DigestLine] | None = None
    """For a hunt: flows folded per host and indicator, shown instead of the first rows."""

    def headline(self) -> str:
        """`Data ratio · ratio 10.0.1.25`."""
        return f"{self.template.title} · {self.request.text}"

    def scope_line(self) -> str:
        """Window, rows, what was scanned and how long it took: every answer says it."""
        req, st = self.request, self.stats
        where = " · ".join(x for x in (req.account, req.region) if x)
        rows = f"{st.rows:,} row{'s' if st.rows != 1 else ''}"
        if self.digest is not None:
            rows = (
                f"{st.rows:,} flow{'s' if st.rows != 1 else ''} in {len(self.digest):,} host/indicator pairs"
            )
        elif st.rows > len(self.head):
            rows += f" (first {len(self.head)} shown, all in the CSV)"
        if self.template.uses_limit and st.rows >= req.limit:
            rows += f", stopped at --limit {req.limit:,}"
        scanned = "scanned " + human_bytes(st.bytes_scanned)
        if st.files_scanned is not None:
            scanned += f" in {st.files_scanned:,} file{'s' if st.files_scanned != 1 else ''}"
        if st.cost_usd is not None:
            scanned += " (< $0.01)" if st.cost_usd < 0.01 else f" (${st.cost_usd:,.2f})"
        parts = [req.window.describe(), where, rows, scanned, f"{st.elapsed_ms / 1000:.1f} s ({self.engine})"]
        return " · ".join(p for p in parts if p)

    def table(self) -> str:
        """At most 4 narrow, aligned columns; empty when nothing matched."""
        if self.digest is not None:
            return self._digest_table()
        if not self.head:
            return ""
        index = {c.name: i for i, c in enumerate(self.columns)}
        specs = [next(c for c in self.template.columns if c.name == n) for n in self.template.summary_columns]
        grid = [[s.heading for s in specs]]
        grid += [[cell(row[index[s.name]], s.kind) for s in specs] for row in self.head]
        widths = [max(len(r[i]) for r in grid) for i in range(len(specs))]
        numeric = [s.kind in {"bytes", "count", "number", "port"} for s in specs]
        lines = [
            "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(r, widths, numeric, strict=True))
            for r in grid
        ]
        return "\n".join(line.rstrip() for line in lines)

    def _digest_table(self) -> str:
        """Hosts and the indicators they talked with: → the host sent to it, ← it sent to the host."""
        lines = (self.digest or [])[: len(self.head) or 10]
        if not lines:
            return ""
        grid = [["host", "indicator", "bytes", "seen (UTC)"]]
        grid += [
            [
                d.host,
                ("→ " if d.to_indicator else "← ") + d.indicator,
                human_bytes(d.bytes),
                _seen(d.first, d.last),
            ]
            for d in lines
        ]
        widths = [max(len(r[i]) for r in grid) for i in range(4)]
        rows = [
            "  ".join(
                v.rjust(w) if i == 2 else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in grid
        ]
        more = len(self.digest or []) - len(lines)
        legend = (
            "→ the host sent to the indicator (INBOUND in the CSV), "
            "← the indicator sent to the host (OUTBOUND)"
        )
        tail = [f"… and {more} more pairs in the CSV"] if more > 0 else []
        return "\n".join([*(r.rstrip() for r in rows), *tail, legend])

    def empty_note(self) -> str:
        """Why there is no table: no files in scope, or files but no match."""
        if self.stats.files_scanned == 0:  # only the local engine counts files
            return "No flow-log files cover this window, account and region."
        return "No records matched."

    def text(self) -> str:
        """Plain text for a terminal."""
        body = self.table() or self.empty_note()
        return f"{self.headline()}\n\n{body}\n\n{self.scope_line()}"

    def fallback(self) -> str:
        """Notification text for Slack (shown where blocks are not)."""
        return f"{self.headline()} — {self.stats.rows:,} rows"

    def blocks(self, asked_by: str | None = None) -> list[dict[str, Any]]:
        """Block Kit: headline, table as a code block, scope in a context line."""
        who = f" · asked by <@{asked_by}>" if asked_by else ""
        table = self.table()
        body = f"```\n{_escape(table)}\n```" if table else f"_{self.empty_note()}_"
        return [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(self.headline())}*{who}"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(self.scope_line())}]},
        ]


def _seen(first: datetime | None, last: datetime | None) -> str:
    """`11-19 04:07-08:10` within a day, `11-18 22:10-11-19 01:00` across days."""
    if first is None or last is None:
        return "·"
    end = f"{last:%H:%M}" if first.date() == last.date() else f"{last:%m-%d %H:%M}"
    return f"{first:%m-%d %H:%M}-{end}"


def _escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
