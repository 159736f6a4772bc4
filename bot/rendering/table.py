"""One small table, two ways: Slack's `table` block, and monospace text for when Slack refuses it.

Slack refuses a whole message over a table's limits (100 rows, 20 cells a row, about 10,000
characters across all cells, no empty cell), so the block is cut to fit here, with a margin, rather
than trusted to pass. Monospace text is the fallback and the terminal's view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_ROWS = 100
MAX_CELLS = 20
MAX_TABLE_CHARS = 9_000
"""Slack reports refusals near 10,000 characters across a table's cells; keep a margin."""
MAX_CELL_CHARS = 80
EMPTY_CELL = "·"
"""Shown for an empty value: Slack refuses a table with an empty cell."""


@dataclass(frozen=True)
class Grid:
    """Column headings, rows of already-formatted cells, and which columns are numbers (right-aligned)."""

    headings: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)

    def page(self, start: int, size: int) -> Grid:
        """Rows [start, start + size) under the same headings."""
        return Grid(self.headings, self.rows[start : start + size], self.numeric)


def monospace(grid: Grid) -> str:
    """Aligned columns for a code block: numbers right, text left; empty when there are no rows."""
    if not grid.rows:
        return ""
    lines = [grid.headings, *grid.rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(grid.headings))]
    numeric = grid.numeric or [False] * len(widths)
    return "\n".join(
        "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(line, widths, numeric, strict=True)
        ).rstrip()
        for line in lines
    )


def table_block(grid: Grid) -> dict[str, Any] | None:
    """Slack's `table` block for the grid, cut to Slack's limits; None when there is nothing to show."""
    if not grid.rows:
        return None
    width = min(len(grid.headings), MAX_CELLS)
    budget = MAX_TABLE_CHARS
    rows: list[list[dict[str, str]]] = []
    for line in [grid.headings, *grid.rows][:MAX_ROWS]:
        cells = [_cell(v) for v in line[:width]]
        cost = sum(len(c["text"]) for c in cells)
        if cost > budget:
            break
        budget -= cost
        rows.append(cells)
    if len(rows) < 2:  # not even one row under the headings fits
        return None
    numeric = grid.numeric or [False] * width
    return {
        "type": "table",
        "rows": rows,
        "column_settings": [{"align": "right" if num else "left"} for num in numeric[:width]],
    }


def table_rows_shown(block: dict[str, Any] | None) -> int:
    """Data rows (headings excluded) a table block holds."""
    return len(block["rows"]) - 1 if block else 0


def _cell(value: str) -> dict[str, str]:
    text = value.strip() or EMPTY_CELL
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return {"type": "raw_text", "text": text}
