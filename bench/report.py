"""One table for every benchmark: each figure beside the reference it is judged against, measured in the
same run (these machines are shared and noisy, so the ratio says more than the absolute number)."""

from __future__ import annotations

import platform
import resource
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure: `value` in `unit`, and what it is judged against (`reference`, same unit)."""

    section: str
    what: str
    value: float
    unit: str
    reference: float | None = None
    reference_what: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference in (None, 0) or self.value == 0:
            return None
        assert self.reference is not None
        return self.value / self.reference


def number(value: float, unit: str) -> str:
    """Readable at a glance: thousands separated, few decimals."""
    if unit in {"ms", "s"} and value < 10:
        text = f"{value:,.2f}"
    elif abs(value) >= 100 or float(value).is_integer():
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.1f}"
    return f"{text} {unit}"


def markdown(figures: Sequence[Figure]) -> str:
    """The table, in Markdown: section, figure, value, reference, ratio, note."""
    lines = [
        "| section | figure | value | reference | ratio | note |",
        "| --- | --- | ---: | --- | ---: | --- |",
    ]
    for f in figures:
        reference = (
            f"{number(f.reference, f.unit)} ({f.reference_what})"
            if f.reference is not None
            else f.reference_what
        )
        ratio = f"{f.ratio:.3g}x" if f.ratio is not None else ""
        lines.append(
            f"| {f.section} | {f.what} | {number(f.value, f.unit)} | {reference} | {ratio} | {f.note} |"
        )
    return "\n".join(lines)


def machine() -> str:
    """What the figures were measured on."""
    import os

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load} at the start"
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); no interpolation, so p99 is a latency someone really had."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n * q), at least 1
    return ordered[int(rank) - 1]
