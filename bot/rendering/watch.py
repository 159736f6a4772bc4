"""What Flowbot says about standing watches: made, listed, stopped, ended, and the heading of new findings."""

from __future__ import annotations

from bot.watches import Watch

TIME = "%Y-%m-%d %H:%M UTC"


def started_text(watch: Watch, command: str) -> str:
    """Posted in the channel: everyone reading its findings should know who set it up, and how to stop it."""
    return (
        f":eyes: <@{watch.target.user_id}> started watch `{watch.id}`: `{watch.request.text}` "
        f"{watch.describe_every()} over newly delivered flow logs, until {watch.ends.strftime(TIME)}. "
        f"Only new findings are posted here. `{command} watch stop {watch.id}` ends it."
    )


def already_text(watch: Watch) -> str:
    return f"Watch `{watch.id}` is already running: `{watch.request.text}` {watch.describe_every()}."


def list_text(watches: list[Watch], command: str) -> str:
    """The channel's running watches, one line each."""
    if not watches:
        return f"No watches in this channel. `{command} watch hunt every 15m` starts one."
    lines = [f"*{len(watches)} watch{'es' if len(watches) != 1 else ''} in this channel*"]
    for watch in watches:
        lines.append(
            f"• `{watch.id}` `{watch.request.text}` {watch.describe_every()}, by <@{watch.target.user_id}>, "
            f"until {watch.ends.strftime(TIME)}"
        )
    lines.append(f"`{command} watch stop <id>` ends one.")
    return "\n".join(lines)


def stopped_text(watch: Watch, by: str) -> str:
    return f":octagonal_sign: <@{by}> stopped watch `{watch.id}` (`{watch.request.text}`)."


def ended_text(watch: Watch) -> str:
    return (
        f":hourglass: Watch `{watch.id}` (`{watch.request.text}` {watch.describe_every()}) ended after "
        f"{(watch.ends - watch.anchor).days} days (FLOWBOT_WATCH_MAX_DAYS); start it again to go on."
    )


def findings_label(watch: Watch) -> str:
    """The command line a watch's findings are shown under (the summary's `asked` line)."""
    return f"watch {watch.id}: {watch.request.text} {watch.describe_every()} (new findings only)"


def failed_text(watch: Watch, interval_window: str, reason: str) -> str:
    return f":warning: Watch `{watch.id}` could not read {interval_window}: {reason}. It runs on."
