"""An installation as Bolt's OAuth flow saves it after oauth.v2.access, for the tests of OAuth mode
(installation store, IAM policy, the install flow) to share."""

from __future__ import annotations

from slack_sdk.oauth.installation_store import Installation

SCOPES = "app_mentions:read,chat:write,chat:write.public,commands,files:write,usergroups:read"


def installation(
    *, team_id: str | None, enterprise_id: str | None = None, token: str | None = None
) -> Installation:
    """A workspace's installation, or (no `team_id`) an org-wide one of `enterprise_id`."""
    org_wide = team_id is None
    return Installation(
        app_id="A0FLOWBOT",
        enterprise_id=enterprise_id,
        enterprise_name="Org" if enterprise_id else None,
        enterprise_url="https://org.enterprise.slack.com/" if org_wide else None,
        team_id=team_id,
        team_name=None if org_wide else f"Team {team_id}",
        bot_token=token or f"xoxb-{team_id or enterprise_id}",
        bot_id="B0BOT",
        bot_user_id="U0BOT",
        bot_scopes=SCOPES,
        user_id="U0ADMIN",
        is_enterprise_install=org_wide,
        token_type="bot",
    )
