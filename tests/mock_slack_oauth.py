"""MockSlack that also plays Slack's side of the OAuth install flow, for several workspaces and orgs.

An admin approving an install on Slack's consent screen is `grant(...)`: it returns the `code` Slack would
append to the app's redirect URL. `oauth.v2.access` then trades that code (once) for a bot token of that
workspace or org, and `auth.test` answers for each token with its own workspace:

    with MockSlackOAuth(client_id="1.2", client_secret="s") as slack:
        code = slack.grant(team_id="T0002", team_name="Second")
        # GET /slack/oauth_redirect?code=<code>&state=… on the app; Bolt calls oauth.v2.access and auth.test
        [call] = slack.calls("chat.postMessage")
        assert call.token == slack.token_of("T0002")

Answers are shaped after Slack's documentation:
* oauth.v2.access: https://docs.slack.dev/reference/methods/oauth.v2.access (the fields; its example
  response: `access_token`, `token_type: "bot"`, `scope`, `bot_user_id`, `app_id`, `team {id, name}`,
  `enterprise {id, name}` or null, `is_enterprise_install`, `authed_user {id}`), and for an install on a
  whole Enterprise Grid org https://api.slack.com/enterprise/apps/reference (`team: null`, the org in
  `enterprise`, `is_enterprise_install: true`). The client credentials come by HTTP Basic authentication,
  as slack_sdk sends them (the page recommends it); errors `invalid_code`, `invalid_client_id`,
  `bad_client_secret` from the same page.
* auth.test for each token: https://docs.slack.dev/reference/methods/auth.test (`url`, `team`, `user`,
  `team_id`, `user_id`, `bot_id`, `enterprise_id`, `is_enterprise_install`); Bolt's OAuth flow reads
  `bot_id` (and `url` for an org install) from it, and Bolt's authorization calls it on every request.
  For an org-wide token the mock answers the org's id as `team_id` (not confirmed from Slack's pages;
  nothing here depends on it).

Subclasses tests.mock_slack.MockSlack through its `_m_<method>` hooks only.
"""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass
from typing import Any

from tests.mock_slack import APP_ID, SCOPES, MockSlack, RecordedCall


@dataclass(frozen=True)
class Grant:
    """One approved install: a workspace (team_id) or, with org_wide, a whole Enterprise Grid org."""

    code: str
    bot_token: str
    team_id: str | None
    team_name: str | None
    enterprise_id: str | None
    enterprise_name: str | None
    org_wide: bool
    installer: str
    scopes: str
    bot_user_id: str
    bot_id: str


class MockSlackOAuth(MockSlack):
    """MockSlack plus approved installs: `grant` one, the app trades its code with oauth.v2.access."""

    def __init__(self, *, client_id: str, client_secret: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client_id = client_id
        self.client_secret = client_secret
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._codes: dict[str, Grant] = {}  # codes not traded yet
        self._tokens: dict[str, Grant] = {}  # every bot token issued

    def grant(
        self,
        *,
        team_id: str | None = None,
        team_name: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        org_wide: bool = False,
        installer: str = "U0ADMIN",
        scopes: str = SCOPES,
    ) -> str:
        """An admin approves the install (of `team_id`, or of the whole org `enterprise_id` when
        `org_wide`); the code Slack appends to the redirect URL."""
        if org_wide == (team_id is not None) or (org_wide and enterprise_id is None):
            raise ValueError("give team_id for a workspace install, or enterprise_id with org_wide=True")
        with self._lock:
            n = next(self._numbers)
        owner = enterprise_id if org_wide else team_id
        grant = Grant(
            code=f"{n}.code-{owner}",
            bot_token=f"xoxb-{owner}-{n:04d}-oauth",
            team_id=team_id,
            team_name=team_name or (f"Workspace {team_id}" if team_id else None),
            enterprise_id=enterprise_id,
            enterprise_name=enterprise_name or (f"Org {enterprise_id}" if enterprise_id else None),
            org_wide=org_wide,
            installer=installer,
            scopes=scopes,
            bot_user_id=f"U0BOT{n}",
            bot_id=f"B0BOT{n}",
        )
        with self._lock:
            self._codes[grant.code] = grant
            self._tokens[grant.bot_token] = grant
        return grant.code

    def token_of(self, owner: str) -> str:
        """The latest bot token issued for a workspace (T…) or, for an org-wide install, an org (E…)."""
        with self._lock:
            tokens = [
                g.bot_token
                for g in self._tokens.values()
                if (g.enterprise_id if g.org_wide else g.team_id) == owner
            ]
        if not tokens:
            raise KeyError(f"no token was issued for {owner}")
        return tokens[-1]

    # ------------------------------------------------------------------ Slack's side

    def _credentials(self, call: RecordedCall) -> tuple[str, str]:
        auth = str(call.headers.get("authorization") or "")
        if auth.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            return client_id, secret
        return str(call.params.get("client_id") or ""), str(call.params.get("client_secret") or "")

    def _m_oauth_v2_access(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        client_id, secret = self._credentials(call)
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if secret != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        with self._lock:
            grant = self._codes.pop(str(p.get("code") or ""), None)  # a code is good once
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        enterprise = (
            {"id": grant.enterprise_id, "name": grant.enterprise_name} if grant.enterprise_id else None
        )
        return {
            "ok": True,
            "access_token": grant.bot_token,
            "token_type": "bot",
            "scope": grant.scopes,
            "bot_user_id": grant.bot_user_id,
            "app_id": APP_ID,
            "team": None if grant.org_wide else {"id": grant.team_id, "name": grant.team_name},
            "enterprise": enterprise,
            "is_enterprise_install": grant.org_wide,
            "authed_user": {"id": grant.installer},
        }

    def _m_auth_test(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        with self._lock:
            grant = self._tokens.get(call.token or "")
        if grant is None:  # not one of ours: the base mock's single workspace
            return super()._m_auth_test(p, call)
        team_id = grant.enterprise_id if grant.org_wide else grant.team_id
        domain = (team_id or "org").lower()
        return {
            "ok": True,
            "url": f"https://{domain}.enterprise.slack.com/"
            if grant.org_wide
            else f"https://{domain}.slack.com/",
            "team": grant.enterprise_name if grant.org_wide else grant.team_name,
            "user": "flowbot",
            "team_id": team_id,
            "user_id": grant.bot_user_id,
            "bot_id": grant.bot_id,
            "enterprise_id": grant.enterprise_id,
            "is_enterprise_install": grant.org_wide,
        }
