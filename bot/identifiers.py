"""The forms of the AWS and Slack identifiers Flowbot checks, each defined once.

Every pattern is anchored (`^…$`) and meant for `fullmatch`; a pydantic field takes its `.pattern`. Digits
are `[0-9]`, never `\\d`, which in Python also matches the digits of other scripts. Slack documents
the first letter of each kind of id but not its length, so after the letter any two or more upper-case
letters and digits are taken.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network, IPv6Network, ip_network

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


FINDING_ID = re.compile(r"^[0-9a-f]{1,300}$")
"""A GuardDuty finding id. The API reference gives only a length (1 to 300: FindingId in botocore's
guardduty service model, docs.aws.amazon.com/guardduty/latest/APIReference/API_GetFindings.html); the
ids GuardDuty issues are lower-case hexadecimal (32 characters in every finding seen): nothing else is
taken."""
DETECTOR_ID = re.compile(r"^[0-9a-f]{1,300}$")
"""A GuardDuty detector id: 1 to 300 characters in the API reference, lower-case hexadecimal as issued."""


def canonical_network(network: IPv4Network | IPv6Network) -> str:
    """An indicator's one spelling: a single address as itself, a range as `address/prefix`."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def canonical_indicator(text: str) -> str:
    """`text` itself when it is an indicator's canonical spelling (`bot.iocs.indicators` makes it);
    ValueError otherwise."""
    if canonical_network(ip_network(text, strict=True)) != text:
        raise ValueError(f"`{text[:60]}` is not an indicator's canonical spelling")
    return text
