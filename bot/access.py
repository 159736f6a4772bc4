"""Which workspaces and channels Flowbot answers in (FLOWBOT_ALLOWED_TEAMS, FLOWBOT_ALLOWED_CHANNELS).

One job: answer "may a request from here be served?" with the line to show when it may not. The line
names only the asker's own workspace or channel (so an admin knows what to add), never the allow-list:
who may use Flowbot where is not for everyone to read.

One deployment may serve several workspaces (OAuth mode, an Enterprise Grid org): a channel entry
`T…:C…` (or `E…:C…`) counts for that workspace (or every workspace of that org) only, a plain `C…` for
every workspace. As with plain entries alone, a list that is set is the whole truth: a workspace is served
in the plain entries and its own only (none at all when the list names only other workspaces' channels);
an empty list allows any channel.
"""

from __future__ import annotations

from bot.settings import Settings

TEAM_REFUSED = (
    ":no_entry: Flowbot is not set up for this workspace; ask Flowbot's admins to add it (`{team}`) to "
    "FLOWBOT_ALLOWED_TEAMS."
)
CHANNEL_REFUSED = (
    ":no_entry: Flowbot answers only in its incident channels; ask an admin to add this one (`{channel}`) "
    "to FLOWBOT_ALLOWED_CHANNELS."
)


class Access:
    """The settings' allow-lists; an empty list allows everything."""

    def __init__(self, settings: Settings) -> None:
        self.teams = frozenset(settings.allowed_teams)
        self.restricted = bool(settings.allowed_channels)
        """Any entry at all limits every workspace to its channels."""
        self.channels = frozenset(c for c in settings.allowed_channels if ":" not in c)
        """Plain entries: every workspace's."""
        self.team_channels: dict[str, frozenset[str]] = {}
        """`T…:C…` / `E…:C…` entries: the channels of that workspace or org only."""
        for entry in settings.allowed_channels:
            team, _, channel = entry.rpartition(":")
            if team:
                self.team_channels[team] = self.team_channels.get(team, frozenset()) | {channel}

    def channels_for(self, team_id: str | None, enterprise_id: str | None = None) -> frozenset[str]:
        """The channels this workspace (or its org's) entries allow: the plain ones and its own."""
        own = [self.team_channels.get(t, frozenset()) for t in (team_id, enterprise_id) if t]
        return self.channels.union(*own)

    def check_team(self, team_id: str | None, enterprise_id: str | None = None) -> str | None:
        """None when the workspace is allowed (or its Enterprise Grid org, E…, is listed), else the line.

        A request naming no workspace is refused whenever a list is set: unknown is not allowed."""
        if not self.teams or team_id in self.teams or (enterprise_id and enterprise_id in self.teams):
            return None
        return TEAM_REFUSED.format(team=team_id or "unknown")

    def check(
        self, team_id: str | None, channel_id: str | None, enterprise_id: str | None = None
    ) -> str | None:
        """None when a request from this workspace and channel may be served, else the line to show.

        `channel_id` None is a surface with no channel (App Home, a global shortcut, a modal): only the
        workspace is checked there, since whatever opened a modal from a channel was checked then."""
        if refusal := self.check_team(team_id, enterprise_id):
            return refusal
        if channel_id is None or not self.restricted:
            return None
        if channel_id in self.channels_for(team_id, enterprise_id):
            return None
        return CHANNEL_REFUSED.format(channel=channel_id)
