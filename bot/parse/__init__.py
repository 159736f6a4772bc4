"""From Slack text to a typed request: commands, channel context, Slack markup."""
