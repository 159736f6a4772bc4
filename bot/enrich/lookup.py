"""Loading the names within a deadline, beside the query: the answer waits for them no longer than the bound.

`start_names` starts every lookup (one per account and region's interfaces, one for the IP ranges) on
daemon threads as the job starts, so they run while the query does; `PendingNames.wait` takes what finished
by FLOWBOT_ENRICH_TIMEOUT_SECONDS after the start and reports the rest as problems. A lookup that is late
goes on in the background and still fills the Redis cache for the next answer; daemon threads never keep a
process from exiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis

from bot.enrich.clients import default_region, ec2_client, own_account
from bot.enrich.eni import EniInventory, load_inventory
from bot.enrich.ip_ranges import IpRanges, load_ip_ranges
from bot.enrich.names import Names
from bot.settings import Settings

log = logging.getLogger(__name__)
MAX_TARGETS = 20
"""Most account and region inventories one answer reads (a query over an organisation names its accounts
with `--account`)."""


@dataclass
class _Part:
    """One lookup on its thread: what it is, and its result or error once done."""

    what: str
    done: threading.Event
    value: Any = None
    error: BaseException | None = None


def _run(part: _Part, load: Callable[[], Any]) -> None:
    try:
        part.value = load()
    except Exception as exc:  # any failure is one line in the answer, never a failed job
        part.error = exc
    finally:
        part.done.set()


def _why(exc: BaseException) -> str:
    """A short reason: botocore's ClientError code and message, or the exception's first line."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'error')}".strip()
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:80]


class PendingNames:
    """Lookups under way, with their deadline."""

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout, self._clock = timeout, clock
        self.deadline = clock() + timeout
        self.parts: list[_Part] = []
        self.problems: list[str] = []

    def start(self, what: str, load: Callable[[], Any]) -> None:
        part = _Part(what, threading.Event())
        self.parts.append(part)
        threading.Thread(target=_run, args=(part, load), name=f"enrich {what}", daemon=True).start()

    def wait(self) -> Names:
        """The names found by the deadline; each lookup that failed or is late is a problem."""
        names = Names(problems=list(self.problems))
        for part in self.parts:
            if not part.done.wait(max(self.deadline - self._clock(), 0)):
                names.problems.append(f"{part.what} took longer than {self.timeout:g} s")
            elif part.error is not None:
                log.warning("enrichment: %s failed: %s", part.what, part.error)
                names.problems.append(f"{part.what}: {_why(part.error)}")
            elif isinstance(part.value, IpRanges):
                names.ranges = part.value
            elif isinstance(part.value, list):
                names.inventories += [v for v in part.value if isinstance(v, EniInventory)]
        return names


def _inventories(
    settings: Settings, redis: Redis | None, account: str | None, region: str, timeout: float
) -> list[EniInventory]:
    """The interfaces of the account (the worker's own when None) in the region."""
    account = account or own_account(region, timeout)
    return [
        load_inventory(
            redis,
            lambda: ec2_client(settings, account, region, timeout),
            account,
            region,
            settings.enrich_eni_ttl_seconds,
        )
    ]


def targets(settings: Settings, account: str | None, region: str | None) -> list[tuple[str | None, str]]:
    """(account, region) pairs to describe: the query's, else the settings'. Without a role only the
    worker's own account (None) can be described."""
    regions: tuple[str, ...] = (region,) if region else (settings.enrich_regions or settings.regions)
    if not regions:
        found = default_region(settings)
        regions = (found,) if found else ()
    accounts: tuple[str | None, ...] = (None,)
    if settings.enrich_role_arn:
        accounts = (account,) if account else (settings.accounts or (None,))
    return [(a, r) for a in accounts for r in regions][:MAX_TARGETS]


def start_names(
    settings: Settings, redis: Redis | None, account: str | None = None, region: str | None = None
) -> PendingNames:
    """Start every lookup an answer's names need; `wait()` on the result after the query."""
    timeout = settings.enrich_timeout_seconds
    pending = PendingNames(timeout)
    pending.start(
        "AWS IP ranges",
        lambda: load_ip_ranges(
            redis, settings.enrich_ip_ranges_url, settings.enrich_ip_ranges_ttl_seconds, timeout
        ),
    )
    try:
        pairs = targets(settings, account, region)
    except Exception as exc:  # no region, no boto3: said in the answer
        pending.problems.append(f"network interfaces: {_why(exc)}")
        return pending
    if not pairs:
        pending.problems.append("network interfaces: no region (set FLOWBOT_ENRICH_REGIONS)")
    for acct, reg in pairs:
        what = f"network interfaces of {acct or 'this account'} in {reg}"
        pending.start(what, lambda a=acct, r=reg: _inventories(settings, redis, a, r, timeout))  # type: ignore[misc]
    return pending
