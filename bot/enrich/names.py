"""Naming a result's addresses and ENI ids: the CSV's `<column>_name` columns and the summary's machines.

The columns named are the template's `ip` and `eni` columns (their `kind` in query_templates/*.toml), never
guessed from names or values. A private address or ENI id is named from the network interfaces (an address
several interfaces hold, in different VPCs or accounts, gets each of their names); a public address an
interface holds is named by it too, any other one by AWS's published ranges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.enrich.eni import EniInventory
from bot.enrich.ip_ranges import IpRanges
from bot.query.catalog import ColumnKind, ColumnSpec
from bot.query.results import Column, Row

NAMED_KINDS: frozenset[ColumnKind] = frozenset({"ip", "eni"})
UNAVAILABLE = "names unavailable"
NOTE_CHARS = 200


def names_columns(specs: Iterable[ColumnSpec]) -> bool:
    """Whether a template has columns to name (so lookups are worth starting)."""
    return any(s.kind in NAMED_KINDS for s in specs)


@dataclass
class Names:
    """What the lookups found within the deadline, and what they could not find out (`problems`)."""

    inventories: list[EniInventory] = field(default_factory=list)
    ranges: IpRanges | None = None
    problems: list[str] = field(default_factory=list)

    def detail(self, value: object, kind: ColumnKind) -> str:
        """The CSV's name of one value: `web-1 i-0123; vpc-…; subnet-…; sg-…`, `S3 us-east-1`, or ``."""
        return self._name(value, kind, full=True)

    def label(self, value: object, kind: ColumnKind) -> str:
        """The summary's short name: `web-1 i-0123`, `NAT gateway: …`, `S3 us-east-1`, or ``."""
        return self._name(value, kind, full=False)

    def _name(self, value: object, kind: ColumnKind, *, full: bool) -> str:
        if not isinstance(value, str) or not value or value == "-":
            return ""
        if kind == "eni":
            found = [inv.by_eni[value] for inv in self.inventories if value in inv.by_eni]
        else:
            found = [i for inv in self.inventories for i in inv.by_address.get(value, [])]
        if found:
            return " | ".join(dict.fromkeys(i.detail() if full else i.label() for i in found))
        if kind == "ip" and self.ranges is not None:
            return self.ranges.lookup(value) or ""
        return ""

    def note(self) -> str | None:
        """`names unavailable: <why>` when a lookup failed or ran out of time; None when all answered."""
        if not self.problems:
            return None
        text = f"{UNAVAILABLE}: {'; '.join(self.problems)}"
        return text if len(text) <= NOTE_CHARS else text[: NOTE_CHARS - 1] + "…"


class ColumnNamer:
    """Names the `ip` and `eni` columns of one result."""

    def __init__(self, names: Names, specs: Iterable[ColumnSpec], columns: list[Column]) -> None:
        kinds = {s.name: s.kind for s in specs}
        self.names = names
        self.named = [
            (i, c.name, kinds[c.name]) for i, c in enumerate(columns) if kinds.get(c.name) in NAMED_KINDS
        ]
        self._details: dict[tuple[object, ColumnKind], str] = {}

    @property
    def applies(self) -> bool:
        """Whether the result has a column to name."""
        return bool(self.named)

    def columns(self) -> list[Column]:
        """The CSV's extra columns, after the result's own: `<column>_name` for each named column."""
        return [Column(f"{name}_name", "varchar") for _, name, _ in self.named]

    def extend(self, row: Row) -> Row:
        """The row with its names appended (memoised: a CSV repeats its addresses)."""
        extra = []
        for index, _, kind in self.named:
            key = (row[index], kind)
            name = self._details.get(key)
            if name is None:
                name = self._details[key] = self.names.detail(row[index], kind)
            extra.append(name)
        return (*row, *extra)

    def machines(self, rows: Iterable[Row], shown: Iterable[str]) -> list[tuple[str, str]]:
        """(value, short name) for every named value of the `shown` columns in `rows`, first seen first."""
        wanted = set(shown)
        out: dict[str, str] = {}
        for row in rows:
            for index, name, kind in self.named:
                value = row[index]
                if name in wanted and isinstance(value, str) and value not in out:
                    label = self.names.label(value, kind)
                    if label:
                        out[value] = label
        return list(out.items())
