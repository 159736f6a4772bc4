"""Who may add and remove indicators, and who is an admin: settings name users, user groups, channels.

One job: answer "may this person do this here?" with the reason when the answer is no. User-group
members come from Slack (`usergroups.users.list`) and are cached in Redis for a few minutes, so a
listener stays well inside Slack's 3 seconds.
"""

from __future__ import annotations

import json
import logging

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings

log = logging.getLogger(__name__)
GROUP_KEY = "flowbot:usergroup:{group}"
GROUP_TTL_SECONDS = 300


def _mention(slack_id: str) -> str:
    if slack_id.startswith("S"):
        return f"<!subteam^{slack_id}>"
    if slack_id.startswith(("C", "G")):
        return f"<#{slack_id}>"
    return f"<@{slack_id}>"


class Permissions:
    """Checks against the settings' lists; empty lists mean everyone."""

    def __init__(self, settings: Settings, client: WebClient, redis: Redis) -> None:
        self.settings = settings
        self.client = client
        self.redis = redis

    def _group_members(self, group: str) -> set[str]:
        key = GROUP_KEY.format(group=group)
        cached = self.redis.get(key)
        if cached is not None:
            return set(json.loads(cached))
        try:
            members: list[str] = list(self.client.usergroups_users_list(usergroup=group).get("users", []))
        except SlackApiError as exc:
            log.warning("could not read user group %s: %s", group, exc.response.get("error"))
            return set()
        self.redis.set(key, json.dumps(members), ex=GROUP_TTL_SECONDS)
        return set(members)

    def _listed(self, listed: tuple[str, ...], user: str, channel: str | None) -> bool:
        if user in listed or (channel is not None and channel in listed):
            return True
        return any(user in self._group_members(g) for g in listed if g.startswith("S"))

    def _refusal(self, listed: tuple[str, ...], user: str, channel: str | None, what: str) -> str | None:
        if not listed or self._listed(listed, user, channel):
            return None
        who = ", ".join(_mention(x) for x in listed)
        return f"you may not {what} here; ask one of {who} (or use a channel they allowed)"

    def may_add(self, user: str, channel: str | None) -> str | None:
        """None when allowed, else why not."""
        return self._refusal(self.settings.ioc_add_allowed, user, channel, "add indicators")

    def may_remove(self, user: str, channel: str | None) -> str | None:
        """None when allowed, else why not (nobody listed: whoever may add)."""
        listed = self.settings.ioc_remove_allowed or self.settings.ioc_add_allowed
        return self._refusal(listed, user, channel, "remove indicators")

    def is_admin(self, user: str) -> bool:
        """Admins may add private, reserved and very wide ranges."""
        return self._listed(self.settings.ioc_admins, user, None) if self.settings.ioc_admins else False
