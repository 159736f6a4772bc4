"""The forms of the AWS and Slack identifiers Flowbot checks, each defined once.

Every pattern is anchored (`^…$`) and meant for `fullmatch`; a pydantic field takes its `.pattern`. Digits
are `[0-9]`, never `\\d`, which in Python also matches the digits of other scripts. Slack documents
the first letter of each kind of id but not its length, so after the letter any two or more upper-case
letters and digits are taken.
"""

from __future__ import annotations

import re

ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
"""An AWS account id: 12 digits, leading zeros kept (docs.aws.amazon.com/accounts/latest/reference/
manage-acct-identifiers.html)."""
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
"""An AWS region code: `us-east-1`, `ap-southeast-2`, `us-gov-west-1` (docs.aws.amazon.com/
global-infrastructure/latest/regions/aws-regions.html)."""


def _slack(first_letters: str) -> re.Pattern[str]:
    return re.compile(rf"^[{first_letters}][A-Z0-9]{{2,}}$")


USER_ID = _slack("UW")
"""A Slack user: `U…`, or `W…` for an Enterprise org's global ids (docs.slack.dev/reference/methods/
migration.exchange)."""
CHANNEL_ID = _slack("CG")
"""A Slack channel, public `C…` or private (`G…` for older ones), which `<#…>` links (docs.slack.dev/
reference/objects/conversation-object)."""
CONVERSATION_ID = _slack("CGD")
"""A channel or a direct message (`D…`): anywhere a message can be posted (docs.slack.dev/reference/objects/
conversation-object)."""
SLACK_ID = _slack("UWSCGD")
"""Whatever a setting's list of who and where may name: a user, a user group (`S…`, `<!subteam^S…>` in
docs.slack.dev/messaging/formatting-message-text) or a conversation."""
TEAM_ID = _slack("TE")
"""A Slack workspace (`T…`) or Enterprise org (`E…`), as Slack sends them in `team_id` and
`enterprise_id` (docs.slack.dev/enterprise)."""
