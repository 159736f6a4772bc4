"""Every identifier Flowbot and its Slack app manifest (`manifest.yml`) must agree on.

Listeners register these, renderers put them on buttons and forms, and a test checks the manifest
declares the same command, shortcuts and events, so the two cannot drift apart.
"""

from __future__ import annotations

# Shortcuts (declared in the manifest).
ADD_IOCS_SHORTCUT = "flowbot_add_iocs"
"""Global shortcut: the "Add IOCs" form from anywhere in Slack."""
IOCS_FROM_MESSAGE_SHORTCUT = "flowbot_iocs_from_message"
"""Message shortcut: "Add IOCs from message"."""
LOOKUP_IPS_SHORTCUT = "flowbot_lookup_ips"
"""Message shortcut: "Look up IPs in message"."""
GUARDDUTY_SHORTCUT = "flowbot_guardduty_pivot"
"""Message shortcut: "Pivot on GuardDuty" (the finding a message names, `guardduty <finding-id>`)."""

# Events Flowbot subscribes to (declared in the manifest).
EVENTS = ("app_mention", "app_home_opened")

# Views (modals).
IOC_FORM = "flowbot_ioc_form"

# Block actions: buttons and menus on Flowbot's own messages (not declared in the manifest).
CANCEL_ACTION = "flowbot_cancel"
CONFIRM_RUN_ACTION = "flowbot_confirm_run"
"""*Run it* on a query whose estimate passed FLOWBOT_CONFIRM_BYTES."""
CONFIRM_DROP_ACTION = "flowbot_confirm_drop"
"""*Don't run* on the same question."""
RERUN_WIDER_ACTION = "flowbot_rerun_wider"
NEXT_ROWS_ACTION = "flowbot_next_rows"
LOOKUP_ACTION = "flowbot_lookup"
