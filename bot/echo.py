"""Quoting someone's text back in a reply, bounded: enough to recognise, never a wall.

Every error that names what was typed goes through `shown`, so 1 MB typed never becomes a 1 MB reply
(issue #16), a newline cannot break the reply's layout, and a backtick cannot end its code span.
"""

from __future__ import annotations

ECHO_LIMIT = 60


def shown(text: str, limit: int = ECHO_LIMIT) -> str:
    """User text quoted back: one line, at most `limit` characters, backticks turned into quotes."""
    flat = " ".join(text.split()).replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
