"""The message shortcut "Look up IPs in message": every address in it, each with the queries
that take one address, offered to the person who asked; a choice runs in the message's thread.

The offer is an ephemeral message (only its asker sees it); each menu option carries the query
name, the address and the thread, and is parsed again like typed text when chosen.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import RedisError
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.iocs.indicators import extract_indicators
from bot.parse.in_channel import parse
from bot.parse.slack_text import message_text
from bot.query.catalog import TABLE_OF_KIND, Catalog, QueryTemplate
from bot.request import FlowRequest, IpValue
from bot.settings import Settings
from bot.slack_ids import LOOKUP_ACTION, LOOKUP_IPS_SHORTCUT
from bot.words import CommandError
from handlers.asking import Asker
from handlers.replying import QUEUE_DOWN, tell, tell_presser

log = logging.getLogger(__name__)
MAX_ADDRESSES = 20
"""Addresses offered from one message (each is a block; Slack allows 50 a message)."""


class LookupChoice(BaseModel):
    """What one menu option asks: a query name, an address, and the thread to answer in."""

    model_config = ConfigDict(extra="forbid")
    q: str
    ip: IpValue
    t: str | None = None


def single_address_templates(catalog: Catalog, settings: Settings) -> list[QueryTemplate]:
    """The queries of the configured table that take exactly one address."""
    table = TABLE_OF_KIND[settings.table_kind]
    return [t for t in catalog.for_table(table) if [p.type for p in t.params] == ["ip"]]


def offer_blocks(
    addresses: list[str], templates: list[QueryTemplate], thread_ts: str | None
) -> list[dict[str, Any]]:
    """One line per address with a menu of the queries that take it."""
    plural = "es" if len(addresses) != 1 else ""
    head = f"Found {len(addresses)} address{plural}. Pick a query; the answer goes in the thread."
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    for address in addresses:
        options = [
            {
                "text": {"type": "plain_text", "text": f"{t.title} ({' '.join(t.command)})"[:75]},
                "value": LookupChoice(q=t.name, ip=address, t=thread_ts).model_dump_json(),
            }
            for t in templates[:100]
        ]
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"`{address}`"},
                "accessory": {
                    "type": "static_select",
                    "action_id": LOOKUP_ACTION,
                    "placeholder": {"type": "plain_text", "text": "Run a query…"},
                    "options": options,
                },
            }
        )
    return blocks


def register(
    app: App,
    settings: Settings,
    catalog: Catalog,
    asker: Asker,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Attach the shortcut and its menu's listener."""
    templates = single_address_templates(catalog, settings)

    @app.shortcut(LOOKUP_IPS_SHORTCUT)
    def handle_lookup_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        """Offer the queries for each address in the message, to the asker alone."""
        ack()
        message = shortcut.get("message") or {}
        channel, user = shortcut["channel"]["id"], shortcut["user"]["id"]
        thread = message.get("thread_ts") or message.get("ts")
        read = message_text(message)
        if read.refusal:
            url = shortcut.get("response_url")
            tell(
                client, user=user, text=f":warning: Not looked up: {read.refusal}.", url=url, channel=channel
            )
            return
        found = [i.value for i in extract_indicators(read.text) if "/" not in i.value]
        if found:
            text = f"Look up {len(found[:MAX_ADDRESSES])} addresses"
            blocks = offer_blocks(found[:MAX_ADDRESSES], templates, thread)
        else:
            text, blocks = "That message holds no IP address (defanged ones count).", None
        tell(
            client,
            user=user,
            text=text,
            url=shortcut.get("response_url"),
            channel=channel,
            thread_ts=thread,
            blocks=blocks,
            in_thread_first=True,
        )

    @app.action(LOOKUP_ACTION)
    def handle_lookup_choice(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Run the chosen query for the chosen address, in the message's thread."""
        ack()
        action = body["actions"][0]
        team = (body.get("team") or {}).get("id", "")
        try:
            choice = LookupChoice.model_validate_json(action["selected_option"]["value"])
            template = catalog[choice.q]
            context = asker.context_of(team, body["channel"]["id"])
            parsed = parse(f"{' '.join(template.command)} {choice.ip}", catalog, settings, clock(), context)
        except (ValidationError, KeyError, CommandError, json.JSONDecodeError) as exc:
            tell_presser(client, body, f":x: That choice could not be run ({exc}).")
            return
        except RedisError:
            log.exception("could not read the context of %s", body["channel"]["id"])
            tell_presser(client, body, QUEUE_DOWN)
            return
        if not isinstance(parsed, FlowRequest):
            return
        asker.ask_from_action(client, parsed, body, kind="lookup", thread_ts=choice.t)
