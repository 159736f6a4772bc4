"""Who may add and remove indicators: users, user groups (members from Slack, cached) and channels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fakeredis
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.permissions import GROUP_FRESH_SECONDS, GroupUnreadable, NotYetKnown, Permissions
from bot.settings import Settings


class FakeSlack:
    """Answers usergroups.users.list (or refuses it, as a 429), counting the calls."""

    def __init__(self) -> None:
        self.token = "xoxb-test"  # a single-workspace token (OAuth mode's app client has none)
        self.calls = 0
        self.refuse = False

    def usergroups_users_list(self, *, usergroup: str) -> dict[str, Any]:
        self.calls += 1
        if self.refuse:
            raise SlackApiError("ratelimited", SlackResponse(
                client=None, http_verb="POST", api_url="usergroups.users.list", req_args={},
                data={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "30"}, status_code=429,
            ))  # fmt: skip
        return {"ok": True, "users": ["U0LEAD", "U0OTHER"] if usergroup == "S0IRTEAM" else []}


class Later:
    """An executor that runs what it is given when told to, so a test sees what ran after the check."""

    def __init__(self) -> None:
        self.waiting: list[Callable[[], object]] = []

    def submit(self, fn: Callable[..., object], *args: object) -> None:
        self.waiting.append(lambda: fn(*args))

    def run(self) -> None:
        while self.waiting:
            self.waiting.pop(0)()


def permissions(**settings: Any) -> tuple[Permissions, FakeSlack]:
    slack = FakeSlack()
    perms = Permissions(Settings(**settings), slack, fakeredis.FakeRedis())  # type: ignore[arg-type]
    return perms, slack


def test_everyone_may_act_when_nothing_is_listed() -> None:
    perms, _ = permissions()
    assert perms.may_add("U0ANY", "C0ANY") is None and perms.may_remove("U0ANY", None) is None
    assert perms.is_admin("U0ANY") is False


def test_users_groups_and_channels() -> None:
    perms, slack = permissions(ioc_add_allowed=("U0BOSS", "S0IRTEAM", "C0WARROOM"), ioc_admins=("S0IRTEAM",))
    assert perms.may_add("U0BOSS", "C0ELSE") is None  # listed by name: no group needed
    assert perms.may_add("U0LEAD", "C0ELSE", fetch=True) is None  # through the user group
    assert perms.may_add("U0NOBODY", "C0WARROOM") is None  # through the channel
    refusal = perms.may_add("U0NOBODY", "C0ELSE")
    assert refusal is not None and "<@U0BOSS>" in refusal and "<!subteam^S0IRTEAM>" in refusal
    assert perms.is_admin("U0LEAD") and not perms.is_admin("U0BOSS")
    assert slack.calls == 1  # the group's members were read once and kept


def test_a_listener_never_waits_on_slack_for_a_group() -> None:
    later = Later()
    clock = [1000.0]
    slack = FakeSlack()
    perms = Permissions(
        Settings(ioc_add_allowed=("S0IRTEAM",)),
        slack,  # type: ignore[arg-type]
        fakeredis.FakeRedis(),
        refresher=later,  # type: ignore[arg-type]
        clock=lambda: clock[0],
    )
    with pytest.raises(NotYetKnown):  # never read: the listener must acknowledge first
        perms.may_add("U0LEAD", None)
    assert slack.calls == 0
    perms.warm()
    later.run()  # what start-up does on its own thread
    assert slack.calls == 1 and perms.may_add("U0LEAD", None) is None
    clock[0] += GROUP_FRESH_SECONDS + 1
    slack.refuse = True  # Slack rate-limits the refresh
    assert perms.may_add("U0LEAD", None) is None  # the kept answer, at once
    assert slack.calls == 1 and len(later.waiting) == 1  # the refresh waits for after the check
    later.run()
    assert slack.calls == 2 and perms.may_add("U0LEAD", None) is None  # a refused refresh keeps the answer


def test_a_group_slack_will_not_list_is_said_so_not_refused_as_a_stranger() -> None:
    perms, slack = permissions(ioc_add_allowed=("S0IRTEAM",))
    slack.refuse = True
    with pytest.raises(GroupUnreadable, match="could not read the members of <!subteam\\^S0IRTEAM>"):
        perms.may_add("U0LEAD", None, fetch=True)


def test_removal_defaults_to_who_may_add_and_can_be_narrower() -> None:
    perms, _ = permissions(ioc_add_allowed=("U0A", "U0B"))
    assert perms.may_remove("U0B", None) is None
    perms, _ = permissions(ioc_add_allowed=("U0A", "U0B"), ioc_remove_allowed=("U0A",))
    refusal = perms.may_remove("U0B", None)
    assert refusal is not None and "remove indicators" in refusal
