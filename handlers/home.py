"""The App Home tab: published afresh each time someone opens it, from facts that are cheap to gather.

Bolt acknowledges the event before the listener runs, so this has no 3-second deadline; it still does
only quick reads (a sorted set and a few keys in Redis, one listing of the IOC store, folder listings
for the data range). A part that cannot be read shows as unavailable; the Home is published anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from slack_bolt import App
from slack_sdk import WebClient

from bot.iocs.objects import object_store_for
from bot.iocs.store import IocStore
from bot.query.catalog import TABLE_OF_KIND, Catalog, load_catalog
from bot.query.data_range import data_range
from bot.recent import RecentQueries, RecentQuery
from bot.rendering.home import MAX_EXAMPLES, home_view
from bot.settings import Settings

log = logging.getLogger(__name__)

PREFERRED_EXAMPLES = ("ratio", "top", "hunt", "timeline", "count")
"""First command words whose examples the Home shows first (what a responder asks most)."""


def pick_examples(catalog: Catalog, settings: Settings) -> list[str]:
    """A few examples of the deployment's own queries, the most asked-for kinds first."""
    templates = catalog.for_table(TABLE_OF_KIND[settings.table_kind])

    def rank(command: tuple[str, ...]) -> int:
        word = command[0]
        return PREFERRED_EXAMPLES.index(word) if word in PREFERRED_EXAMPLES else len(PREFERRED_EXAMPLES)

    chosen: list[str] = []
    seen: set[str] = set()
    for template in sorted(templates, key=lambda t: (rank(t.command), t.command)):
        if template.command[0] not in seen:  # one per family: `top src`, not also `top dst`
            seen.add(template.command[0])
            chosen.append(template.example)
    return chosen[:MAX_EXAMPLES]


def register(
    app: App,
    settings: Settings,
    redis: Redis,
    *,
    catalog: Catalog | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Attach the `app_home_opened` listener."""
    recent = RecentQueries(redis, settings.recent_queries)
    examples = pick_examples(catalog or load_catalog(), settings)
    if settings.engine == "athena":
        table = f"{settings.athena_database}." + (
            settings.athena_table if settings.table_kind == "vpcflow" else settings.athena_json_table
        )
        workgroup: str | None = settings.athena_workgroup
    else:
        table, workgroup = str(settings.local_data_dir), None
    ioc_objects = cache(lambda: object_store_for(settings))  # an S3 client is built once, when first needed

    def ioc_count() -> int | None:
        try:
            return IocStore(ioc_objects()).count_active()
        except Exception:  # any store trouble (S3, permissions, a missing extra) shows as unavailable
            log.exception("App Home: could not count indicators in %s", settings.ioc_store)
            return None

    def recent_of(team_id: str, user_id: str) -> list[RecentQuery] | None:
        try:
            return recent.for_user(team_id, user_id)
        except RedisError:
            log.exception("App Home: could not read recent queries")
            return None

    @app.event("app_home_opened")
    def handle_open_home(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        """Publish the person's Home: recent queries, indicators, engine and data, how to ask."""
        if event.get("tab") != "home":
            return
        user = event["user"]
        team = body.get("team_id") or event.get("view", {}).get("team_id", "")
        view = home_view(
            recent_of(team, user),
            ioc_count(),
            settings.engine,
            table,
            data_range(settings, today=clock().date()),
            settings.command,
            examples,
            workgroup=workgroup,
            now=clock(),
        )
        client.views_publish(user_id=user, view=view)
