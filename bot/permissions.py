"""Who may add and remove indicators, and who is an admin: settings name users, user groups, channels.

One job: answer "may this person do this here?" with the reason when the answer is no. User-group
members come from Slack (`usergroups.users.list`) and are kept in Redis. A listener must answer Slack
within 3 s and open a form within a trigger_id's 3 s, so it never waits on Slack for a group: it reads
the kept answer (`may_add`…), and the kept answer is refreshed on a thread of its own once it is older
than `GROUP_FRESH_SECONDS`. Only when a group was never read does a check raise `NotYetKnown`: the
listener then acknowledges first and asks again with `fetch=True`. A 429 is never slept out here; the
last answer Slack gave stays in use until it is replaced.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.redis_keys import USERGROUP_KEY, USERGROUP_TTL_SECONDS
from bot.settings import Settings

log = logging.getLogger(__name__)
GROUP_FRESH_SECONDS = 300
"""How old a group's members may be before they are read again (after the acknowledgement)."""


class NotYetKnown(Exception):
    """A listed user group was never read from Slack: acknowledge, then check with `fetch=True`."""


class GroupUnreadable(Exception):
    """Slack would not list a group's members and none were kept; `str()` is the line for the asker."""

    def __init__(self, group: str) -> None:
        super().__init__(
            f"Flowbot could not read the members of {_mention(group)} from Slack just now; "
            "try again in a minute"
        )


def _mention(slack_id: str) -> str:
    if slack_id.startswith("S"):
        return f"<!subteam^{slack_id}>"
    if slack_id.startswith(("C", "G")):
        return f"<#{slack_id}>"
    return f"<@{slack_id}>"


class Permissions:
    """Checks against the settings' lists; empty lists mean everyone."""

    def __init__(
        self,
        settings: Settings,
        client: WebClient,
        redis: Redis,
        *,
        refresher: Executor | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.client = client
        self.redis = redis
        self.refresher = refresher
        self._clock = clock

    def groups(self) -> set[str]:
        """Every user group the settings name."""
        s = self.settings
        listed = (*s.ioc_add_allowed, *s.ioc_remove_allowed, *s.ioc_admins)
        return {x for x in listed if x.startswith("S")}

    def warm(self) -> None:
        """Read every listed group in the background (at start-up), so the first check has an answer.
        Not in OAuth mode: there each workspace's token reads its own groups, at its first check."""
        if not self.client.token:
            return
        for group in sorted(self.groups()):
            self._refresh_later(group, self.client)

    def refresh(self, group: str, client: WebClient | None = None) -> set[str] | None:
        """Read the group's members from Slack (with the request's `client` in OAuth mode) and keep
        them; None when Slack would not say."""
        try:
            answer = (client or self.client).usergroups_users_list(usergroup=group)
            members = [str(u) for u in answer.get("users") or []]
        except SlackApiError as exc:
            retry = exc.response.headers.get("Retry-After") if exc.response.headers else None
            log.warning(
                "could not read user group %s: %s%s",
                group,
                exc.response.get("error")
                if isinstance(exc.response.data, dict)
                else exc.response.status_code,
                f" (retry after {retry} s)" if retry else "",
            )
            return None
        record = {"members": members, "at": self._clock()}
        self.redis.set(USERGROUP_KEY.format(group=group), json.dumps(record), ex=USERGROUP_TTL_SECONDS)
        return set(members)

    def _refresh_later(self, group: str, client: WebClient) -> None:
        if self.refresher is None:
            return
        try:
            self.refresher.submit(self.refresh, group, client)
        except RuntimeError:  # the executor is shutting down with the process
            pass

    def _group_members(self, group: str, fetch: bool, client: WebClient | None) -> set[str]:
        raw = self.redis.get(USERGROUP_KEY.format(group=group))
        if raw is None:
            if not fetch:
                raise NotYetKnown(group)
            members = self.refresh(group, client)
            if members is None:
                raise GroupUnreadable(group)
            return members
        record = json.loads(raw)
        if not isinstance(record, dict):  # kept by an older Flowbot: a bare list, due for a refresh
            record = {"members": record, "at": 0}
        if self._clock() - float(record.get("at", 0)) > GROUP_FRESH_SECONDS:
            self._refresh_later(group, client or self.client)
        return set(record["members"])

    def _listed(
        self, listed: tuple[str, ...], user: str, channel: str | None, fetch: bool, client: WebClient | None
    ) -> bool:
        if user in listed or (channel is not None and channel in listed):
            return True
        return any(user in self._group_members(g, fetch, client) for g in listed if g.startswith("S"))

    def _refusal(
        self,
        listed: tuple[str, ...],
        user: str,
        channel: str | None,
        what: str,
        fetch: bool,
        client: WebClient | None,
    ) -> str | None:
        if not listed or self._listed(listed, user, channel, fetch, client):
            return None
        who = ", ".join(_mention(x) for x in listed)
        return f"you may not {what} here; ask one of {who} (or use a channel they allowed)"

    def may_add(
        self, user: str, channel: str | None, *, fetch: bool = False, client: WebClient | None = None
    ) -> str | None:
        """None when allowed, else why not. Raises NotYetKnown for a group never read, unless `fetch`
        (after the ack), which reads it and raises GroupUnreadable when Slack will not say. `client`:
        the request's own (its workspace's token in OAuth mode)."""
        listed = self.settings.ioc_add_allowed
        return self._refusal(listed, user, channel, "add indicators", fetch, client)

    def may_remove(
        self, user: str, channel: str | None, *, fetch: bool = False, client: WebClient | None = None
    ) -> str | None:
        """None when allowed, else why not (nobody listed: whoever may add)."""
        listed = self.settings.ioc_remove_allowed or self.settings.ioc_add_allowed
        return self._refusal(listed, user, channel, "remove indicators", fetch, client)

    def is_admin(self, user: str, *, fetch: bool = False, client: WebClient | None = None) -> bool:
        """Admins may add private, reserved and very wide ranges."""
        admins = self.settings.ioc_admins
        return self._listed(admins, user, None, fetch, client) if admins else False
