"""What a query scanned or would scan, in the words every answer, failure and question uses."""

from __future__ import annotations

from bot.query.results import Estimate, ScanStats, scan_cost
from bot.rendering.cells import human_bytes


def dollars(cost: float) -> str:
    """`$0.42`, or `< $0.01` for what rounds to nothing."""
    return "< $0.01" if cost < 0.01 else f"${cost:,.2f}"


def scan_phrase(stats: ScanStats) -> str:
    """`scanned 1.2 GB in 40 files ($0.01)`; a reused result says it scanned nothing."""
    if stats.reused:
        return "reused Athena's stored result of the same query (nothing scanned)"
    phrase = "scanned " + human_bytes(stats.bytes_scanned)
    if stats.files_scanned is not None:
        phrase += f" in {stats.files_scanned:,} file{'s' if stats.files_scanned != 1 else ''}"
    if stats.cost_usd is not None:
        phrase += f" ({dollars(stats.cost_usd)})"
    return phrase


def estimate_phrase(estimate: Estimate, price_per_tb: float | None) -> str:
    """`about 2.3 TB in 4,210 files (~$11.50)`: the pre-flight figure, with how sure it is.

    `price_per_tb` is None for an engine that costs nothing to run (local).
    """
    size = human_bytes(estimate.bytes)
    if estimate.listed is not None:
        lead = "about"
    elif not estimate.complete:
        lead = "at least"
    else:
        lead = "about" if price_per_tb is not None else ""
    phrase = f"{lead} {size}".strip() + f" in {estimate.objects:,} file{'s' if estimate.objects != 1 else ''}"
    if price_per_tb is not None:
        phrase += f" (~{dollars(scan_cost(estimate.bytes, price_per_tb))})"
    if estimate.listed is not None:
        phrase += f", extrapolated from {estimate.listed:,} of {estimate.prefixes:,} folders"
    return phrase
