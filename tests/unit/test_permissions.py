"""Who may add and remove indicators: users, user groups (members from Slack, cached) and channels."""

from __future__ import annotations

from typing import Any

import fakeredis

from bot.permissions import Permissions
from bot.settings import Settings


class FakeSlack:
    """Answers usergroups.users.list and counts the calls, so the cache can be seen working."""

    def __init__(self) -> None:
        self.calls = 0

    def usergroups_users_list(self, *, usergroup: str) -> dict[str, Any]:
        self.calls += 1
        return {"ok": True, "users": ["U0LEAD", "U0OTHER"] if usergroup == "S0IRTEAM" else []}


def permissions(**settings: Any) -> tuple[Permissions, FakeSlack]:
    slack = FakeSlack()
    return Permissions(Settings(**settings), slack, fakeredis.FakeRedis()), slack  # type: ignore[arg-type]


def test_everyone_may_act_when_nothing_is_listed() -> None:
    perms, _ = permissions()
    assert perms.may_add("U0ANY", "C0ANY") is None and perms.may_remove("U0ANY", None) is None
    assert perms.is_admin("U0ANY") is False


def test_users_groups_and_channels() -> None:
    perms, slack = permissions(ioc_add_allowed=("U0BOSS", "S0IRTEAM", "C0WARROOM"), ioc_admins=("S0IRTEAM",))
    assert perms.may_add("U0BOSS", "C0ELSE") is None
    assert perms.may_add("U0LEAD", "C0ELSE") is None  # through the user group
    assert perms.may_add("U0NOBODY", "C0WARROOM") is None  # through the channel
    refusal = perms.may_add("U0NOBODY", "C0ELSE")
    assert refusal is not None and "<@U0BOSS>" in refusal and "<!subteam^S0IRTEAM>" in refusal
    assert perms.is_admin("U0LEAD") and not perms.is_admin("U0BOSS")
    assert slack.calls == 1  # the group's members were read once and cached


def test_removal_defaults_to_who_may_add_and_can_be_narrower() -> None:
    perms, _ = permissions(ioc_add_allowed=("U0A", "U0B"))
    assert perms.may_remove("U0B", None) is None
    perms, _ = permissions(ioc_add_allowed=("U0A", "U0B"), ioc_remove_allowed=("U0A",))
    refusal = perms.may_remove("U0B", None)
    assert refusal is not None and "remove indicators" in refusal
